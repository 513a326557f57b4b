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
      : tensor<64x256xf32>, tensor<64x1xf32> -> tensor<64x128xi8>
  %qw = qat.quantize %wh, %sw as #q4 packed
      : tensor<128x256xf32>, tensor<128x1xf32> -> tensor<128x128xi8>
  %y = qat.matmul %qx, %qw, %sx, %sw as #q4, #q4 packed
      : tensor<64x128xi8>, tensor<128x128xi8>, tensor<64x1xf32>,
        tensor<128x1xf32> -> tensor<64x128xf32>

  // Loss and its gradient: L = mean((y - t)^2), dy = 2 (y - t) / 8192.
  %dyInit = tensor.empty() : tensor<64x128xf32>
  %dy = linalg.generic
      {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %target : tensor<64x128xf32>, tensor<64x128xf32>)
      outs(%dyInit : tensor<64x128xf32>) {
  ^bb0(%yv: f32, %tv: f32, %unused: f32):
    %twoOverN = arith.constant 2.44140625e-04 : f32
    %diff = arith.subf %yv, %tv : f32
    %grad = arith.mulf %diff, %twoOverN : f32
    linalg.yield %grad : f32
  } -> tensor<64x128xf32>
  %scalar = tensor.empty() : tensor<f32>
  %sseInit = linalg.fill ins(%zero : f32) outs(%scalar : tensor<f32>) -> tensor<f32>
  %sse = linalg.generic
      {indexing_maps = [#id, #id, #all], iterator_types = ["reduction", "reduction"]}
      ins(%y, %target : tensor<64x128xf32>, tensor<64x128xf32>)
      outs(%sseInit : tensor<f32>) {
  ^bb0(%yv: f32, %tv: f32, %acc: f32):
    %diff = arith.subf %yv, %tv : f32
    %sq = arith.mulf %diff, %diff : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  } -> tensor<f32>
  %loss = linalg.generic
      {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>],
       iterator_types = []}
      ins(%sse : tensor<f32>) outs(%scalar : tensor<f32>) {
  ^bb0(%s: f32, %unused: f32):
    %invN = arith.constant 1.220703125e-04 : f32
    %mean = arith.mulf %s, %invN : f32
    linalg.yield %mean : f32
  } -> tensor<f32>

  // Backward through the matmul, on the fake-quantized operands.
  %xq = qat.fake_quant %xh, %sx as #q4 with trust
      : tensor<64x256xf32>, tensor<64x1xf32>
  %wq = qat.fake_quant %wh, %sw as #q4 with trust
      : tensor<128x256xf32>, tensor<128x1xf32>
  %dxqInit = tensor.empty() : tensor<64x256xf32>
  %dxqZero = linalg.fill ins(%zero : f32) outs(%dxqInit : tensor<64x256xf32>) -> tensor<64x256xf32>
  %dxq = linalg.matmul indexing_maps = [#xk, #kn, #mn]
      ins(%dy, %wq : tensor<64x128xf32>, tensor<128x256xf32>)
      outs(%dxqZero : tensor<64x256xf32>) -> tensor<64x256xf32>
  %dwqInit = tensor.empty() : tensor<128x256xf32>
  %dwqZero = linalg.fill ins(%zero : f32) outs(%dwqInit : tensor<128x256xf32>) -> tensor<128x256xf32>
  %dwq = linalg.matmul indexing_maps = [#km, #kn, #mn]
      ins(%dy, %xq : tensor<64x128xf32>, tensor<64x256xf32>)
      outs(%dwqZero : tensor<128x256xf32>) -> tensor<128x256xf32>

  // Trust masks, then rotate back (H is its own inverse and backward).
  %dxh = qat.fake_quant_grad %dxq, %xh, %sx as #q4 with trust
      : tensor<64x256xf32>, tensor<64x1xf32>
  %dwh = qat.fake_quant_grad %dwq, %wh, %sw as #q4 with trust
      : tensor<128x256xf32>, tensor<128x1xf32>
  %dx = qat.hadamard %dxh block 128 : tensor<64x256xf32>
  %dw = qat.hadamard %dwh block 128 : tensor<128x256xf32>

  // SGD update of the weight.
  %wNew = linalg.generic
      {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w, %dw : tensor<128x256xf32>, tensor<128x256xf32>)
      outs(%dwqInit : tensor<128x256xf32>) {
  ^bb0(%wv: f32, %gv: f32, %unused: f32):
    %step = arith.mulf %lr, %gv : f32
    %updated = arith.subf %wv, %step : f32
    linalg.yield %updated : f32
  } -> tensor<128x256xf32>
  return %wNew, %dx, %loss : tensor<128x256xf32>, tensor<64x256xf32>, tensor<f32>
}
