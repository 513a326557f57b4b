// A training step calls its gradient function, which returns tensors.
// qat-to-nvptx inlines the call (its results' buffers would otherwise need
// ownership decided by host-side stores into device memory) and compiles
// the step, the loss and the gradient function, SGD and AdamW alike.

// RUN: qat-opt %s --qat-training-step=optimizer=sgd | qat-opt --qat-to-nvptx="chip=sm_90 format=isa" | FileCheck %s
// RUN: qat-opt %s --qat-training-step=optimizer=adamw | qat-opt --qat-to-nvptx="chip=sm_90 format=isa" | FileCheck %s

// CHECK:     llvm.func @loss(
// CHECK:     llvm.func @loss_grad(
// CHECK:     llvm.func @loss_train_step(
// CHECK-NOT:   llvm.call @loss_grad
// CHECK-NOT:   llvm.{{load|store}}
// CHECK:       gpu.launch_func
// CHECK-NOT:   llvm.{{load|store}}
// CHECK:       llvm.return

#id = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>
func.func @loss(%x: tensor<64xf32>, %a: tensor<64xf32> {qat.param},
                %b: tensor<64xf32> {qat.param}) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id, #all],
                       iterator_types = ["reduction"]}
      ins(%x, %a, %b : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>)
      outs(%z : tensor<f32>) {
  ^bb0(%u: f32, %c: f32, %d: f32, %acc: f32):
    %p = arith.mulf %u, %c : f32
    %q = arith.addf %p, %d : f32
    %sq = arith.mulf %q, %q : f32
    %s = arith.addf %acc, %sq : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}
