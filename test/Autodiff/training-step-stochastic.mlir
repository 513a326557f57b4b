// RUN: qat-opt %s --qat-training-step | FileCheck %s
// RUN: qat-opt %s --qat-training-step --qat-to-cpu -o /dev/null
// RUN: qat-opt %s --qat-training-step -o %t.mlir
// RUN: qat-run %t.mlir --entry=loss_train_step --arg=normal:0,1 --arg=normal:0,1 --arg=const:7 --arg=const:0 --arg=const:0.01 --seed=3 > %t.seven
// RUN: qat-run %t.mlir --entry=loss_train_step --arg=normal:0,1 --arg=normal:0,1 --arg=const:7 --arg=const:0 --arg=const:0.01 --seed=3 > %t.seven-again
// RUN: qat-run %t.mlir --entry=loss_train_step --arg=normal:0,1 --arg=normal:0,1 --arg=const:8 --arg=const:0 --arg=const:0.01 --seed=3 > %t.eight
// RUN: cmp %t.seven %t.seven-again
// RUN: not cmp -s %t.seven %t.eight
// RUN: FileCheck %s --check-prefix=STEP < %t.seven
// A training step with a stochastic quantizer: the seed is a run-time i64
// argument of the loss, which qat-differentiate passes on to the backward
// (trust reads the forward's stochastic rounding) and qat-training-step
// keeps in the step's signature; it gets no gradient.
// CHECK-LABEL: func.func @loss_grad
// CHECK-SAME: %[[SEED:[a-z0-9]+]]: i64) -> (f32, tensor<8x16xf32>)
// CHECK: qat.fake_quant %{{.*}}, %{{.*}} as <centered, 4 bits, rms_gaussian, per_row, stochastic> seed %[[SEED]] with trust
// CHECK: qat.fake_quant_grad %{{.*}}, %{{.*}}, %{{.*}} as <centered, 4 bits, rms_gaussian, per_row, stochastic> seed %[[SEED]] with trust
// CHECK-LABEL: func.func @loss_train_step
// CHECK-SAME: i64
// The step runs; the same seed gives the same bits, another seed others.
// STEP: result 0: shape=() dtype=float32
// STEP-NOT: nan
#q = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row, stochastic>
#id = affine_map<(i, j) -> (i, j)>
#all = affine_map<(i, j) -> ()>
func.func @loss(%x: tensor<4x16xf32>, %w: tensor<8x16xf32> {qat.param}, %seed: i64) -> f32 {
  %s = qat.scale %w as #q : tensor<8x16xf32> -> tensor<8x1xf32>
  %wq = qat.fake_quant %w, %s as #q seed %seed with trust : tensor<8x16xf32>, tensor<8x1xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %acc = linalg.fill ins(%z : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] ins(%x, %wq : tensor<4x16xf32>, tensor<8x16xf32>) outs(%acc : tensor<4x8xf32>) -> tensor<4x8xf32>
  %e0 = tensor.empty() : tensor<f32>
  %a0 = linalg.fill ins(%z : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %sum = linalg.generic {indexing_maps = [#id, #all], iterator_types = ["reduction", "reduction"]} ins(%y : tensor<4x8xf32>) outs(%a0 : tensor<f32>) {
  ^bb0(%a: f32, %c: f32):
    %m = arith.mulf %a, %a : f32
    %r = arith.addf %c, %m : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  %l = tensor.extract %sum[] : tensor<f32>
  return %l : f32
}
