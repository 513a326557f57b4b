// RUN: qat-opt %s --convert-qat-to-linalg --split-input-file | FileCheck %s

// per_row: the sum of squares of an rms_gaussian qat.scale (f32 squares
// accumulated in f64 over the view [rows, 1, D]), then sqrt(sum / D) in f32
// and no step: the deviation of the trust estimator. bf16 is read into f32.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[GROUP:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @per_row
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xbf16>)
// CHECK: %[[VIEW:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [4, 1, 64]
// CHECK: %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : f64) outs(%{{.*}} : tensor<4x1xf64>)
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[GROUP]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[VIEW]] : tensor<4x1x64xbf16>) outs(%[[ZERO]] : tensor<4x1xf64>)
// CHECK: ^bb0(%[[IN:.*]]: bf16, %[[ACC:.*]]: f64):
// CHECK: %[[V:.*]] = arith.extf %[[IN]] : bf16 to f32
// CHECK: %[[SQ:.*]] = arith.mulf %[[V]], %[[V]] : f32
// CHECK: %[[WIDE:.*]] = arith.extf %[[SQ]] : f32 to f64
// CHECK: arith.addf %[[ACC]], %[[WIDE]] : f64
// CHECK: %[[RMS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[SUM]] : tensor<4x1xf64>) outs(%{{.*}} : tensor<4x1xf32>)
// CHECK: ^bb0(%[[S:.*]]: f64, %{{.*}}: f32):
// CHECK: %[[NARROW:.*]] = arith.truncf %[[S]] : f64 to f32
// CHECK: %[[D:.*]] = arith.constant 6.400000e+01 : f32
// CHECK: %[[MEAN:.*]] = arith.divf %[[NARROW]], %[[D]] : f32
// CHECK: %[[ROOT:.*]] = math.sqrt %[[MEAN]] : f32
// CHECK-NEXT: linalg.yield %[[ROOT]] : f32
// CHECK: return %[[RMS]] : tensor<4x1xf32>
func.func @per_row(%x: tensor<4x64xbf16>) -> tensor<4x1xf32> {
  %0 = qat.rms %x as <centered, 4 bits, rms_gaussian, per_row> : tensor<4x64xbf16> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

// per_tensor: one group of every element, [1, 1, N], divided by N; the
// result is reshaped to the step's rank.
// CHECK-LABEL: func.func @per_tensor
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0, 1, 2]] : tensor<2x3x8xf32> into tensor<48xf32>
// CHECK: tensor.expand_shape %{{.*}} output_shape [1, 1, 48]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.*}} : tensor<1x1x48xf32>) outs(%{{.*}} : tensor<1x1xf64>)
// CHECK: linalg.generic
// CHECK: arith.constant 4.800000e+01 : f32
// CHECK: math.sqrt
// CHECK: tensor.expand_shape %{{.*}} : tensor<1x1xf32> into tensor<1x1x1xf32>
func.func @per_tensor(%x: tensor<2x3x8xf32>) -> tensor<1x1x1xf32> {
  %0 = qat.rms %x as <signed, 4 bits, absmax, per_tensor> : tensor<2x3x8xf32> -> tensor<1x1x1xf32>
  return %0 : tensor<1x1x1xf32>
}

// -----

// per_group<16>: the row splits into [D/16, 16], divided by the group size;
// the [rows, groups] result is the step shape itself.
// CHECK-LABEL: func.func @per_group
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [4, 3, 16] : tensor<4x48xf16> into tensor<4x3x16xf16>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.*}} : tensor<4x3x16xf16>) outs(%{{.*}} : tensor<4x3xf64>)
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: %[[RMS:.*]] = linalg.generic
// CHECK: arith.constant 1.600000e+01 : f32
// CHECK: math.sqrt
// CHECK: } -> tensor<4x3xf32>
// CHECK-NOT: tensor.expand_shape
// CHECK: return %[[RMS]]
func.func @per_group(%x: tensor<4x48xf16>) -> tensor<4x3xf32> {
  %0 = qat.rms %x as <centered, 2 bits, rms_gaussian, per_group<16>> : tensor<4x48xf16> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}
