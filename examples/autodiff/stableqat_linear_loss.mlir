// The forward half of examples/stableqat_linear.mlir (W2) as a loss
// function: the weight quantized on the signed 2-bit grid with a learned
// per-row step (`qat.step`), StableQAT's Fourier surrogate, a float matmul,
// and L = mean((y - target)^2).
//
//   qat-opt --qat-differentiate examples/autodiff/stableqat_linear_loss.mlir
//   qat-opt --qat-training-step="momentum=0" examples/autodiff/stableqat_linear_loss.mlir
//
// @stableqat_linear_loss_grad returns (loss, dw, ds); with wrt=0,1,2 also dx.
// The training step with plain SGD is the hand-written @stableqat_w2_step.

#w2 = #qat.quantizer<signed, 2 bits, learned, per_row>
#xk = affine_map<(m, n, k) -> (m, k)>
#wk = affine_map<(m, n, k) -> (n, k)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(m, n) -> (m, n)>
#all = affine_map<(m, n) -> ()>

func.func @stableqat_linear_loss(%x: tensor<32x192xf32>,
                                 %w: tensor<96x192xf32> {qat.param},
                                 %s: tensor<96x1xf32> {qat.step},
                                 %target: tensor<32x96xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %wq = qat.fake_quant %w, %s as #w2 with fourier<[0.21]>
      : tensor<96x192xf32>, tensor<96x1xf32>
  %yInit = tensor.empty() : tensor<32x96xf32>
  %yZero = linalg.fill ins(%zero : f32) outs(%yInit : tensor<32x96xf32>) -> tensor<32x96xf32>
  %y = linalg.matmul indexing_maps = [#xk, #wk, #mn]
      ins(%x, %wq : tensor<32x192xf32>, tensor<96x192xf32>)
      outs(%yZero : tensor<32x96xf32>) -> tensor<32x96xf32>
  %scalar = tensor.empty() : tensor<f32>
  %sseInit = linalg.fill ins(%zero : f32) outs(%scalar : tensor<f32>) -> tensor<f32>
  %sse = linalg.generic
      {indexing_maps = [#id, #id, #all], iterator_types = ["reduction", "reduction"]}
      ins(%y, %target : tensor<32x96xf32>, tensor<32x96xf32>)
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
  ^bb0(%sv: f32, %unused: f32):
    %invN = arith.constant 3.25520843e-04 : f32
    %mean = arith.mulf %sv, %invN : f32
    linalg.yield %mean : f32
  } -> tensor<f32>
  return %loss : tensor<f32>
}
