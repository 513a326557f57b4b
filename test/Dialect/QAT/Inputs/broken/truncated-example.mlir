// QuEST linear layer, one training step (W4A4, Hadamard 128, trust).
//
// Forward:   y = Q(x H) Q(w H)^T, computed on packed 4-bit codes with an
//            int32-accumulating qat.matmul; H is the 128-block Hadamard
//            rotation, Q the 4-bit centered-grid quantizer whose per-row clip
//            is MSE-optimal for a Gaussian (rms_gaussian).
// Loss:      L = mean((y - target)^2).
// Backward:  the trust estimator masks the gradient of elements whose
//            quantization error exceeds half a step of the rms scale:
//            dx = ((dy Q(wH)) * mask_x) H,  dw = ((dy^T Q(xH)) * mask_w) H.
// Update:    w <- w - lr * dw (SGD).
//
// Shapes: 64 tokens, 256 input features, 128 output features.

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
#xk = affine_map<(m, n, k) -> (m, k)>
#wk = affine_map<(m, n, k) -> (n, k)>
#km = affine_map<(m, n, k) -> (k, m)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(m, n) -> (m, n)>
#all = affine_map<(m, n) -> ()>

func.func @quest_linear_step(%x: tensor<64x256xf32>, %w: tensor<128x256xf32>,
                             %target: tensor<64x128xf32>, %lr: f32)
    -> (tensor<128x256xf32>, tensor<64x256xf32>, tensor<f32>) {
  %zero = arith.constant 0.0 : f32

  // Forward: rotate, quantize both operands to packed int4, integer matmul.
  %xh = qat.hadamard %x block 128 : tensor<64x256xf32>
  %wh = qat.hadamard %w block 128 : tensor<128x256xf32>
  %sx = qat.scale %xh as #q4 : tensor<64x256xf32> -> tensor<64x1xf32>
  %sw = qat.scale %wh as #q4 : tensor<128x256xf32> -> tensor<128x1xf32>
  %qx = qat.quantize %xh, %sx as #q4 packed
      : tensor<64x256xf32>, tensor<64