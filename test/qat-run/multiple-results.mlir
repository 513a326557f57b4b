// Several results of different ranks, a scalar among them, written one
// --out per result or all to --out-dir, and compared with numpy.

// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/npytool.py save %t/x.npy "np.arange(-16, 16, dtype=np.float32).reshape(4, 8) / 4"
// RUN: qat-run %s --arg=%t/x.npy --arg=const:3 --out=%t/sum.npy --out=%t/max.npy --out=%t/total.npy --out=%t/scaled.npy
// RUN: %python %S/Inputs/npytool.py compare %t/sum.npy "x.sum(axis=1)" x=%t/x.npy --rtol=1e-6 | FileCheck %s
// RUN: %python %S/Inputs/npytool.py compare %t/max.npy "x.max(axis=1)" x=%t/x.npy | FileCheck %s
// RUN: %python %S/Inputs/npytool.py compare %t/total.npy "np.float32(x.sum())" x=%t/x.npy --rtol=1e-6 | FileCheck %s
// RUN: %python %S/Inputs/npytool.py compare %t/scaled.npy "x * 3" x=%t/x.npy | FileCheck %s

// RUN: qat-run %s --arg=%t/x.npy --arg=const:3 --out-dir=%t/dir
// RUN: ls %t/dir | FileCheck %s --check-prefix=DIR
// RUN: cmp %t/dir/result0.npy %t/sum.npy
// RUN: cmp %t/dir/result1.npy %t/max.npy
// RUN: cmp %t/dir/result2.npy %t/total.npy
// RUN: cmp %t/dir/result3.npy %t/scaled.npy

// RUN: qat-run %s --arg=%t/x.npy --arg=const:3 | FileCheck %s --check-prefix=PRINT

// CHECK: max abs error
// CHECK-NEXT: OK

// DIR:      result0.npy
// DIR-NEXT: result1.npy
// DIR-NEXT: result2.npy
// DIR-NEXT: result3.npy
// DIR-NOT: result

// PRINT:      result 0: shape=(4,) dtype=float32
// PRINT-NEXT: [-25.0, -9.0, 7.0, 23.0]
// PRINT-NEXT: result 1: shape=(4,) dtype=float32
// PRINT-NEXT: [-2.25, -0.25, 1.75, 3.75]
// PRINT-NEXT: result 2: shape=() dtype=float32
// PRINT-NEXT: -4.0
// PRINT-NEXT: result 3: shape=(4, 8) dtype=float32

func.func @main(%x: tensor<4x8xf32>, %scale: f32)
    -> (tensor<4xf32>, tensor<4xf32>, f32, tensor<4x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e4 = tensor.empty() : tensor<4xf32>
  %z4 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<4xf32>) -> tensor<4xf32>
  %m4 = linalg.fill ins(%ninf : f32) outs(%e4 : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.reduce ins(%x : tensor<4x8xf32>) outs(%z4 : tensor<4xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %a = arith.addf %in, %acc : f32
      linalg.yield %a : f32
    }
  %max = linalg.reduce ins(%x : tensor<4x8xf32>) outs(%m4 : tensor<4xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %a = arith.maximumf %in, %acc : f32
      linalg.yield %a : f32
    }
  %e0 = tensor.empty() : tensor<f32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %tot = linalg.reduce ins(%sum : tensor<4xf32>) outs(%z0 : tensor<f32>) dimensions = [0]
    (%in: f32, %acc: f32) {
      %a = arith.addf %in, %acc : f32
      linalg.yield %a : f32
    }
  %total = tensor.extract %tot[] : tensor<f32>
  %e48 = tensor.empty() : tensor<4x8xf32>
  %scaled = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e48 : tensor<4x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.mulf %v, %scale : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  return %sum, %max, %total, %scaled : tensor<4xf32>, tensor<4xf32>, f32, tensor<4x8xf32>
}
