// RUN: qat-opt %s --split-input-file --qat-gpu-parallelize-reductions --canonicalize | FileCheck %s
// RUN: not qat-opt %s --qat-gpu-parallelize-reductions=min-parallel=0 2>&1 | FileCheck %s --check-prefix=MIN-PARALLEL
// RUN: not qat-opt %s --qat-gpu-parallelize-reductions=serial-limit=-1 2>&1 | FileCheck %s --check-prefix=SERIAL-LIMIT

// Options that count nothing are errors when they are parsed.
// MIN-PARALLEL: error: qat-gpu-parallelize-reductions: min-parallel=0 is not an iteration count; expected 1 or more
// SERIAL-LIMIT: error: qat-gpu-parallelize-reductions: serial-limit=-1 is not an element count; expected 0 or more

// A loss over a matrix: partial sums per column (the innermost dimension,
// parallel and first), then the sum of the partials with the original
// combiner into the original accumulator. Each fill moves right before the
// reduction it initializes.

// CHECK-LABEL: func.func @sum_of_squares
//       CHECK:   %[[ZERO:.*]] = arith.constant 0.0
//       CHECK:   %[[P0:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<128xf32>)
//  CHECK-NEXT:   %[[P:.*]] = linalg.generic {indexing_maps = [#[[TRANSPOSED:.*]], #[[PARTIAL:.*]]], iterator_types = ["parallel", "reduction"]}
//  CHECK-SAME:       ins(%arg0 : tensor<64x128xf32>) outs(%[[P0]] : tensor<128xf32>)
//       CHECK:     arith.mulf
//       CHECK:     arith.addf
//       CHECK:   %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<f32>)
//       CHECK:   %[[SUM:.*]] = linalg.generic {{.*}}iterator_types = ["reduction"]}
//  CHECK-SAME:       ins(%[[P]] : tensor<128xf32>) outs(%[[INIT]] : tensor<f32>)
//       CHECK:     ^bb0(%[[IN:.*]]: f32, %[[ACC:.*]]: f32):
//       CHECK:       %[[ADD:.*]] = arith.addf %[[ACC]], %[[IN]] : f32
//       CHECK:       linalg.yield %[[ADD]]
//       CHECK:   return %[[SUM]]
func.func @sum_of_squares(%x: tensor<64x128xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>],
                       iterator_types = ["reduction", "reduction"]}
      ins(%x : tensor<64x128xf32>) outs(%init : tensor<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %q = arith.mulf %v, %v : f32
    %s = arith.addf %acc, %q : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

// A long 1-D maximum: linalg's split-reduction into 250 strided partials of
// 400 elements (thread j reads j, j + 250, ...), then their maximum.

// CHECK-LABEL: func.func @long_max
//       CHECK:   %[[X:.*]] = tensor.expand_shape %arg0 {{\[\[}}0, 1]] output_shape [400, 250]
//       CHECK:   %[[P:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<400x250xf32>) outs(%{{.*}} : tensor<250xf32>)
//       CHECK:     arith.maximumf
//       CHECK:   linalg.generic {{.*}}iterator_types = ["reduction"]} ins(%[[P]] : tensor<250xf32>)
//       CHECK:     arith.maximumf
func.func @long_max(%x: tensor<100000xf32>, %init: tensor<f32>) -> tensor<f32> {
  %r = linalg.reduce ins(%x : tensor<100000xf32>) outs(%init : tensor<f32>) dimensions = [0]
    (%in: f32, %acc: f32) {
      %a = arith.maximumf %in, %acc : f32
      linalg.yield %a : f32
    }
  return %r : tensor<f32>
}

// -----

// A column sum keeps its reduction but runs it inside each column's thread:
// the parallel dimension goes first.

//       CHECK: #[[COLUMN:.*]] = affine_map<(d0, d1) -> (d1, d0)>
//       CHECK: #[[OUT:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @column_sums
//       CHECK:   linalg.generic {indexing_maps = [#[[COLUMN]], #[[OUT]]], iterator_types = ["parallel", "reduction"]}
func.func @column_sums(%x: tensor<8x96xf32>, %init: tensor<96xf32>) -> tensor<96xf32> {
  %r = linalg.reduce ins(%x : tensor<8x96xf32>) outs(%init : tensor<96xf32>) dimensions = [0]
    (%in: f32, %acc: f32) {
      %a = arith.addf %in, %acc : f32
      linalg.yield %a : f32
    }
  return %r : tensor<96xf32>
}

// -----

// Left alone: short reductions, dynamic 1-D ones (no static divisor), and
// bodies whose combiner has no neutral element.

// CHECK-LABEL: func.func @untouched
//   CHECK-NOT:   linalg.fill
//   CHECK-NOT:   tensor.expand_shape
//       CHECK:   linalg.reduce ins(%arg0 : tensor<4x8xf32>)
//       CHECK:   linalg.reduce ins(%arg1 : tensor<?xf32>)
//       CHECK:   linalg.generic {{.*}}iterator_types = ["reduction", "reduction"]}
//  CHECK-SAME:       ins(%arg2 : tensor<64x128xf32>)
//       CHECK:     arith.subf
func.func @untouched(%small: tensor<4x8xf32>, %dyn: tensor<?xf32>, %x: tensor<64x128xf32>,
                     %init: tensor<f32>) -> (tensor<f32>, tensor<f32>, tensor<f32>) {
  %a = linalg.reduce ins(%small : tensor<4x8xf32>) outs(%init : tensor<f32>) dimensions = [0, 1]
    (%in: f32, %acc: f32) {
      %s = arith.addf %in, %acc : f32
      linalg.yield %s : f32
    }
  %b = linalg.reduce ins(%dyn : tensor<?xf32>) outs(%init : tensor<f32>) dimensions = [0]
    (%in: f32, %acc: f32) {
      %s = arith.addf %in, %acc : f32
      linalg.yield %s : f32
    }
  %c = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>],
                       iterator_types = ["reduction", "reduction"]}
      ins(%x : tensor<64x128xf32>) outs(%init : tensor<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %d = arith.subf %acc, %v : f32
    linalg.yield %d : f32
  } -> tensor<f32>
  return %a, %b, %c : tensor<f32>, tensor<f32>, tensor<f32>
}

// -----

// A loss over a tall matrix: the partial sums per column would leave 64
// threads walking 2048 rows each; split-reduction cuts the rows into 128
// slices of 16 (128 x 64 threads, at most 262144, at least 16 elements
// each), then the slices and the columns are summed.
// CHECK-DAG:   #[[IN:.*]] = affine_map<(d0, d1, d2) -> (d0, d2, d1)>
// CHECK-DAG:   #[[SLICE:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @tall_loss(
// CHECK:         %[[ROWS:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] output_shape [128, 16, 64] : tensor<2048x64xf32> into tensor<128x16x64xf32>
// CHECK:         %[[SLICES:.*]] = linalg.generic {indexing_maps = [#[[IN]], #[[SLICE]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[ROWS]] : tensor<128x16x64xf32>) outs(%{{.*}} : tensor<128x64xf32>)
// CHECK:         %[[COLUMNS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[SLICES]] : tensor<128x64xf32>) outs(%{{.*}} : tensor<64xf32>)
// CHECK:         linalg.generic {{.*}} iterator_types = ["reduction"]} ins(%[[COLUMNS]] : tensor<64xf32>) outs(%{{.*}} : tensor<f32>)
func.func @tall_loss(%y: tensor<2048x64xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %sum = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>],
                         iterator_types = ["reduction", "reduction"]}
      ins(%y : tensor<2048x64xf32>) outs(%init : tensor<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %sq = arith.mulf %v, %v : f32
    %s = arith.addf %acc, %sq : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %sum : tensor<f32>
}
