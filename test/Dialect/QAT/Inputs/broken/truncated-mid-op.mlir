// StableQAT linear layer, one training step at 2, 3 and 4 bits.
//
// Weights are quantized on the signed grid with a learned per-row step s
// (LSQ); the rounding gradient is StableQAT's bounded Fourier surrogate
// (amplitude 0.21), and the step receives the LSQ gradient.
//
// Forward:   y = x Q(w; s)^T
// Loss:      L = mean((y - target)^2)
// Backward:  dx = dy Q(w; s),
//            dw, ds = fake_quant_grad(dy^T x, w, s)   (Fourier + LSQ)
// Update:    w <- w - lr * dw,  s <- s - lr * ds (SGD).
//
// Shapes: 32 tokens, 192 input features, 96 output features.

#w2 = #qat.quantizer<signed, 2 bits, learned, per_row>
#w3 = #qat.quantizer<signed, 3 bits, learned, per_row>
#w4 = #qat.quantizer<signed, 4 bits, learned, per_row>
#xk = affine_map<(m, n, k) -> (m, k)>
#wk = affine_map<(m, n, k) -> (n, k)>
#km = affine_map<(m, n, k) -> (k, m)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(m, n) -> (m, n)>
#all = affine_map<(m, n) -> ()>

func.func @stableqat_w2_step(%x: tensor<32x192xf32>, %w: tensor<96x192xf32>,
                              %s: tensor<96x1xf32>, %target: tensor<32x96xf32>,
                              %lr: f32)
    -> (tensor<96x192xf32>, tensor<96x1xf32>, tensor<32x192xf32>, tensor<f32>) {
  %zero = arith.constant 0.0 : f32

  // Forward.
  %wq = qat.fake_quant %w, %s as #w2 with fourier<[0.21]>
      : tensor<96x192xf32>, tensor<96x1xf32>
  %yInit = tensor.empty() : tensor<32x96xf32>
  %yZero = linalg.fill ins(