// RUN: qat-opt %s --qat-training-step | FileCheck %s --check-prefix=SGD
// RUN: qat-opt %s --qat-training-step="momentum=0 weight-decay=0.5" | FileCheck %s --check-prefix=PLAIN
// RUN: qat-opt %s --qat-training-step="optimizer=adamw weight-decay=0.01" | FileCheck %s --check-prefix=ADAMW
// RUN: not qat-opt %s --qat-training-step="optimizer=lion" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not qat-opt %s --qat-training-step="momentum=-0.5" 2>&1 | FileCheck %s --check-prefix=BAD-MOMENTUM
// RUN: not qat-opt %s --qat-training-step="weight-decay=nan" 2>&1 | FileCheck %s --check-prefix=BAD-WD
// RUN: not qat-opt %s --qat-training-step="optimizer=adamw beta1=1" 2>&1 | FileCheck %s --check-prefix=BAD-BETA1
// RUN: not qat-opt %s --qat-training-step="optimizer=adamw beta2=-0.1" 2>&1 | FileCheck %s --check-prefix=BAD-BETA2
// RUN: not qat-opt %s --qat-training-step="optimizer=adamw epsilon=inf" 2>&1 | FileCheck %s --check-prefix=BAD-EPS

// qat-training-step adds @loss_train_step next to @loss and @loss_grad:
// forward and gradients through a call of @loss_grad, then one elementwise
// linalg.generic per parameter that returns the new parameter and the new
// optimizer state (docs/differentiate.md gives the ABI).

// SGD with momentum 0.9: arguments (x, w, b, buf_w, buf_b, lr), results
// (loss, w', b', buf_w', buf_b').
// SGD-LABEL: func.func @loss_grad
// SGD-LABEL: func.func @loss_train_step
// SGD-SAME:    (%[[X:.*]]: tensor<4xf32>, %[[W:.*]]: tensor<4xf32>, %[[B:.*]]: tensor<4xf32>, %[[BW:.*]]: tensor<4xf32>, %[[BB:.*]]: tensor<4xf32>, %[[LR:.*]]: f32)
// SGD-SAME:    -> (tensor<f32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
// SGD:         %[[G:.*]]:3 = call @loss_grad(%[[X]], %[[W]], %[[B]])
// SGD:         %[[UW:.*]]:2 = linalg.generic {{.*}} ins(%[[W]], %[[G]]#1, %[[BW]] :
// SGD:           ^bb0(%[[P:.*]]: f32, %[[D:.*]]: f32, %[[M:.*]]: f32, %{{.*}}: f32, %{{.*}}: f32):
// SGD:           %[[MU:.*]] = arith.constant 0.899999976 : f32
// SGD-NEXT:      %[[MB:.*]] = arith.mulf %[[MU]], %[[M]] : f32
// SGD-NEXT:      %[[NB:.*]] = arith.addf %[[MB]], %[[D]] : f32
// SGD-NEXT:      %[[ST:.*]] = arith.mulf %[[LR]], %[[NB]] : f32
// SGD-NEXT:      %[[NP:.*]] = arith.subf %[[P]], %[[ST]] : f32
// SGD-NEXT:      linalg.yield %[[NP]], %[[NB]] : f32, f32
// SGD:         %[[UB:.*]]:2 = linalg.generic {{.*}} ins(%[[B]], %[[G]]#2, %[[BB]] :
// SGD:         return %[[G]]#0, %[[UW]]#0, %[[UB]]#0, %[[UW]]#1, %[[UB]]#1

// Plain SGD with L2 weight decay: no buffers.
// PLAIN-LABEL: func.func @loss_train_step
// PLAIN-SAME:    (%{{.*}}: tensor<4xf32>, %[[W:.*]]: tensor<4xf32>, %{{.*}}: tensor<4xf32>, %[[LR:.*]]: f32)
// PLAIN-SAME:    -> (tensor<f32>, tensor<4xf32>, tensor<4xf32>)
// PLAIN:         linalg.generic {{.*}} ins(%[[W]], %{{.*}}#1 :
// PLAIN:           ^bb0(%[[P:.*]]: f32, %[[D:.*]]: f32, %{{.*}}: f32):
// PLAIN:           %[[WD:.*]] = arith.constant 5.000000e-01 : f32
// PLAIN-NEXT:      %[[DP:.*]] = arith.mulf %[[WD]], %[[P]] : f32
// PLAIN-NEXT:      %[[G:.*]] = arith.addf %[[D]], %[[DP]] : f32
// PLAIN-NEXT:      %[[ST:.*]] = arith.mulf %[[LR]], %[[G]] : f32
// PLAIN-NEXT:      %[[NP:.*]] = arith.subf %[[P]], %[[ST]] : f32
// PLAIN-NEXT:      linalg.yield %[[NP]] : f32

// AdamW: arguments (x, w, b, m_w, m_b, v_w, v_b, t, lr), results (loss, w',
// b', m_w', m_b', v_w', v_b'); bias corrections 1 - beta^t as scalars.
// ADAMW-LABEL: func.func @loss_train_step
// ADAMW-SAME:    (%{{.*}}: tensor<4xf32>, %[[W:.*]]: tensor<4xf32>, %[[B:.*]]: tensor<4xf32>, %[[MW:.*]]: tensor<4xf32>, %[[MB:.*]]: tensor<4xf32>, %[[VW:.*]]: tensor<4xf32>, %[[VB:.*]]: tensor<4xf32>, %[[T:.*]]: f32, %[[LR:.*]]: f32)
// ADAMW-SAME:    -> (tensor<f32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
// ADAMW:         %[[G:.*]]:3 = call @loss_grad
// ADAMW:         %[[P1:.*]] = math.powf %{{.*}}, %[[T]] : f32
// ADAMW:         %[[P2:.*]] = math.powf %{{.*}}, %[[T]] : f32
// ADAMW:         %[[UW:.*]]:3 = linalg.generic {{.*}} ins(%[[W]], %[[G]]#1, %[[MW]], %[[VW]] :
// ADAMW:           math.sqrt
// ADAMW:           linalg.yield %{{.*}}, %{{.*}}, %{{.*}} : f32, f32, f32
// ADAMW:         %[[UB:.*]]:3 = linalg.generic {{.*}} ins(%[[B]], %[[G]]#2, %[[MB]], %[[VB]] :
// ADAMW:         return %[[G]]#0, %[[UW]]#0, %[[UB]]#0, %[[UW]]#1, %[[UB]]#1, %[[UW]]#2, %[[UB]]#2

// BAD: error: qat-training-step: unknown optimizer 'lion' (expected sgd or adamw)
// BAD-MOMENTUM: qat-training-step: momentum=-0.5 must be finite and >= 0
// BAD-WD: qat-training-step: weight-decay=nan must be finite and >= 0
// BAD-BETA1: qat-training-step: beta1=1 must be in [0, 1)
// BAD-BETA2: qat-training-step: beta2=-0.1 must be in [0, 1)
// BAD-EPS: qat-training-step: epsilon=inf must be finite and >= 0

#id = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>
func.func @loss(%x: tensor<4xf32>, %w: tensor<4xf32> {qat.param}, %b: tensor<4xf32> {qat.param}) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id, #all], iterator_types = ["reduction"]}
      ins(%x, %w, %b : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) outs(%z : tensor<f32>) {
  ^bb0(%a: f32, %c: f32, %d: f32, %acc: f32):
    %p = arith.mulf %a, %c : f32
    %q = arith.addf %p, %d : f32
    %sq = arith.mulf %q, %q : f32
    %s = arith.addf %acc, %sq : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}
