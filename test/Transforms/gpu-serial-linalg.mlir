// RUN: qat-opt %s --split-input-file --qat-gpu-serial-linalg | FileCheck %s

// A mean: fill, full reduction and scale have no parallel dimension. The
// three run one after the other in one single-thread kernel.

// CHECK-LABEL: func.func @mean
//       CHECK:   %[[ONE:.*]] = arith.constant 1 : index
//       CHECK:   gpu.launch blocks({{.*}}) in ({{.*}} = %[[ONE]], {{.*}} = %[[ONE]], {{.*}} = %[[ONE]]) threads({{.*}}) in ({{.*}} = %[[ONE]], {{.*}} = %[[ONE]], {{.*}} = %[[ONE]])
//  CHECK-NEXT:     linalg.fill
//  CHECK-NEXT:     linalg.generic {{.*}}iterator_types = ["reduction", "reduction"]
//       CHECK:     linalg.generic {{.*}}iterator_types = []
//       CHECK:     gpu.terminator
//   CHECK-NOT:   gpu.launch
//       CHECK:   return
func.func @mean(%x: memref<64x128xf32>, %out: memref<f32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%out : memref<f32>)
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>],
                  iterator_types = ["reduction", "reduction"]}
      ins(%x : memref<64x128xf32>) outs(%out : memref<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %acc, %v : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<() -> ()>], iterator_types = []}
      outs(%out : memref<f32>) {
  ^bb0(%acc: f32):
    %inv = arith.constant 1.220703125e-04 : f32
    %m = arith.mulf %acc, %inv : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// Ops with a parallel dimension are left to the parallel-loop route, and
// they split the runs of serial ops around them.

// CHECK-LABEL: func.func @mixed
//       CHECK:   gpu.launch
//  CHECK-NEXT:     linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : memref<f32>)
//  CHECK-NEXT:     gpu.terminator
//       CHECK:   linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : memref<8xf32>)
//       CHECK:   gpu.launch
//  CHECK-NEXT:     linalg.reduce
//       CHECK:   return
func.func @mixed(%x: memref<8xf32>, %s: memref<f32>, %v: memref<8xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%s : memref<f32>)
  linalg.fill ins(%zero : f32) outs(%v : memref<8xf32>)
  linalg.reduce ins(%x : memref<8xf32>) outs(%s : memref<f32>) dimensions = [0]
    (%in: f32, %acc: f32) {
      %a = arith.maximumf %in, %acc : f32
      linalg.yield %a : f32
    }
  return
}

// -----

// Ops on tensors (before bufferization) and ops already in a kernel stay.

// CHECK-LABEL: func.func @untouched
//       CHECK:   linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<f32>)
//       CHECK:   gpu.launch
//  CHECK-NEXT:     linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : memref<f32>)
//  CHECK-NEXT:     gpu.terminator
//   CHECK-NOT:   gpu.launch
func.func @untouched(%t: tensor<f32>, %m: memref<f32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %r = linalg.fill ins(%zero : f32) outs(%t : tensor<f32>) -> tensor<f32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    linalg.fill ins(%zero : f32) outs(%m : memref<f32>)
    gpu.terminator
  }
  return %r : tensor<f32>
}
