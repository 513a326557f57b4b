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
  %yZero = linalg.fill ins(%zero : f32) outs(%yInit : tensor<32x96xf32>) -> tensor<32x96xf32>
  %y = linalg.matmul indexing_maps = [#xk, #wk, #mn]
      ins(%x, %wq : tensor<32x192xf32>, tensor<96x192xf32>)
      outs(%yZero : tensor<32x96xf32>) -> tensor<32x96xf32>

  // Loss L = mean((y - t)^2) and dy = 2 (y - t) / 3072.
  %dy = linalg.generic
      {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %target : tensor<32x96xf32>, tensor<32x96xf32>)
      outs(%yInit : tensor<32x96xf32>) {
  ^bb0(%yv: f32, %tv: f32, %unused: f32):
    %twoOverN = arith.constant 6.51041686e-04 : f32
    %diff = arith.subf %yv, %tv : f32
    %grad = arith.mulf %diff, %twoOverN : f32
    linalg.yield %grad : f32
  } -> tensor<32x96xf32>
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

  // Backward: dx through the quantized weight; dw and ds through the
  // Fourier surrogate and the LSQ step gradient.
  %dxInit = tensor.empty() : tensor<32x192xf32>
  %dxZero = linalg.fill ins(%zero : f32) outs(%dxInit : tensor<32x192xf32>) -> tensor<32x192xf32>
  %dx = linalg.matmul indexing_maps = [#xk, #kn, #mn]
      ins(%dy, %wq : tensor<32x96xf32>, tensor<96x192xf32>)
      outs(%dxZero : tensor<32x192xf32>) -> tensor<32x192xf32>
  %dwqInit = tensor.empty() : tensor<96x192xf32>
  %dwqZero = linalg.fill ins(%zero : f32) outs(%dwqInit : tensor<96x192xf32>) -> tensor<96x192xf32>
  %dwq = linalg.matmul indexing_maps = [#km, #kn, #mn]
      ins(%dy, %x : tensor<32x96xf32>, tensor<32x192xf32>)
      outs(%dwqZero : tensor<96x192xf32>) -> tensor<96x192xf32>
  %dw, %ds = qat.fake_quant_grad %dwq, %w, %s as #w2 with fourier<[0.21]>
      : tensor<96x192xf32>, tensor<96x1xf32> -> tensor<96x1xf32>

  // SGD on the weight and on its step.
  %wNew = linalg.generic
      {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w, %dw : tensor<96x192xf32>, tensor<96x192xf32>)
      outs(%dwqInit : tensor<96x192xf32>) {
  ^bb0(%wv: f32, %gv: f32, %unused: f32):
    %step = arith.mulf %lr, %gv : f32
    %updated = arith.subf %wv, %step : f32
    linalg.yield %updated : f32
  } -> tensor<96x192xf32>
  %sInit = tensor.empty() : tensor<96x1xf32>
  %sNew = linalg.generic
      {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s, %ds : tensor<96x1xf32>, tensor<96x1xf32>)
      outs(%sInit : tensor<96x1xf32>) {
  ^bb0(%sv: f32, %gv: f32, %unused: f32):
    %step = arith.mulf %lr, %gv : f32
    %updated = arith.subf %sv, %step : f32
    linalg.yield %updated : f32
  } -> tensor<96x1xf32>
  return %wNew, %sNew, %dx, %loss
      : tensor<96x192xf32>, tensor<96x1xf32>, tensor<32x192xf32>, tensor<f32>
}

func.func @stableqat_w3_step(%x: tensor<32x192xf32>, %w: tensor<96x192xf32>,
                              %s: tensor<96x1xf32>, %target: tensor<32x96xf32>,
                              %lr: f32)
    -> (tensor<96x192xf32>, tensor<96x1xf32>, tensor<32x192xf32>, tensor<f32>) {
  %zero = arith.constant 0.0 : f32

  // Forward.
  %wq = qat.fake_quant %w, %s as #w3 with fourier<[0.21]>
      : tensor<96x192xf32>, tensor<96x1xf32>
  %yInit = tensor.empty() : tensor<32x96xf32>
  %yZero = linalg.fill ins(%zero : f32) outs(%yInit : tensor<32x96xf32>) -> tensor<32x96xf32>
  %y = linalg.matmul indexing_maps = [#xk, #wk, #mn]
      ins(%x, %wq : tensor<32x192xf32>, tensor<96x192xf32>)
      outs(%yZero : tensor<32x96xf32>) -> tensor<32x96xf32>

  // Loss L = mean((y - t)^2) and dy = 2 (y - t) / 3072.
  %dy = linalg.generic
      {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %target : tensor<32x96xf32>, tensor<32x96xf32>)
      outs(%yInit : tensor<32x96xf32>) {
  ^bb0(%yv: f32, %tv: f32, %unused: f32):
    %twoOverN = arith.constant 6.51041686e-04 : f32
    %diff = arith.subf %yv, %tv : f32
    %grad = arith.mulf %diff, %twoOverN : f32
    linalg.yield %grad : f32
  } -> tensor<32x96xf32>
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

  // Backward: dx through the quantized weight; dw and ds through the
  // Fourier surrogate and the LSQ step gradient.
  %dxInit = tensor.empty() : tensor<32x192xf32>
  %dxZero = linalg.fill ins(%zero : f32) outs(%dxInit : tensor<32x192xf32>) -> tensor<32x192xf32>
  %dx = linalg.matmul indexing_maps = [#xk, #kn, #mn]
      ins(%dy, %wq : tensor<32x96xf32>, tensor<96x192xf32>)
      outs(%dxZero : tensor<32x192xf32>) -> tensor<32x192xf32>
  %dwqInit = tensor.empty() : tensor<96x192xf32>
  %dwqZero = linalg.fill ins(%zero : f32) outs(%dwqInit : tensor<96x192xf32>) -> tensor<96x192xf32>
  %dwq = linalg.matmul indexing_maps = [#km, #kn, #mn]
      ins(%dy, %x : tensor<32x96xf32>, tensor<32x192xf32>)
      outs(%dwqZero : tensor<96x192xf32>) -> tensor<96x192xf32>
  %dw, %ds = qat.fake_quant_grad %dwq, %w, %s as #w3 with fourier<[0.21]>
      : tensor<96x192xf32>, tensor<96x1xf32> -> tensor<96x1xf32>

  // SGD on the weight and on its step.
  %wNew = linalg.generic
      {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w, %dw : tensor<96x192xf32>, tensor<96x192xf32>)
      outs(%dwqInit : tensor<96x192xf32>) {
  ^bb0(%wv: f32, %gv: f32, %unused: f32):
    %step = arith.mulf %lr, %gv : f32
    %updated = arith.subf %wv, %step : f32
    linalg.yield %updated : f32
  } -> tensor<96x192xf32>
  %sInit = tensor.empty() : tensor<96x1xf32>
  %sNew = linalg.generic
      {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s, %ds : tensor<96x1xf32>, tensor<96x1xf32>)
      outs(%sInit : tensor<96x1xf32>) {
  ^bb0(%sv: f32, %gv: f32, %unused: f32):
    %step = arith.mulf %lr, %gv : f32
    %updated = arith.subf %sv, %step : f32
    linalg.yield %updated : f32
  } -> tensor<96x1xf32>
  return %wNew, %sNew, %dx, %loss
      : tensor<96x192xf32>, tensor<96x1xf32>, tensor<32x192xf32>, tensor<f32>
}

func.func @stableqat_w4_step(%x: tensor<32x192xf32>, %w: tensor<96x192xf32>,
                              %s: tensor<96x1xf32>, %target: tensor<32x96xf32>,
                              %lr: f32)
    -> (tensor<96x192xf32>, tensor<96x1xf32>, tensor<32x192xf32>, tensor<f32>) {
  %zero = arith.constant 0.0 : f32

  // Forward.
  %wq = qat.fake_quant %w, %s as #w4 with fourier<[0.21]>
      : tensor<96x192xf32>, tensor<96x1xf32>
  %yInit = tensor.empty() : tensor<32x96xf32>
  %yZero = linalg.fill ins(%zero : f32) outs(%yInit : tensor<32x96xf32>) -> tensor<32x96xf32>
  %y = linalg.matmul indexing_maps = [#xk, #wk, #mn]
      ins(%x, %wq : tensor<32x192xf32>, tensor<96x192xf32>)
      outs(%yZero : tensor<32x96xf32>) -> tensor<32x96xf32>

  // Loss L = mean((y - t)^2) and dy = 2 (y - t) / 3072.
  %dy = linalg.generic
      {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %target : tensor<32x96xf32>, tensor<32x96xf32>)
      outs(%yInit : tensor<32x96xf32>) {
  ^bb0(%yv: f32, %tv: f32, %unused: f32):
    %twoOverN = arith.constant 6.51041686e-04 : f32
    %diff = arith.subf %yv, %tv : f32
    %grad = arith.mulf %diff, %twoOverN : f32
    linalg.yield %grad : f32
  } -> tensor<32x96xf32>
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

  // Backward: dx through the quantized weight; dw and ds through the
  // Fourier surrogate and the LSQ step gradient.
  %dxInit = tensor.empty() : tensor<32x192xf32>
  %dxZero = linalg.fill ins(%zero : f32) outs(%dxInit : tensor<32x192xf32>) -> tensor<32x192xf32>
  %dx = linalg.matmul indexing_maps = [#xk, #kn, #mn]
      ins(%dy, %wq : tensor<32x96xf32>, tensor<96x192xf32>)
      outs(%dxZero : tensor<32x192xf32>) -> tensor<32x192xf32>
  %dwqInit = tensor.empty() : tensor<96x192xf32>
  %dwqZero = linalg.fill ins(%zero : f32) outs(%dwqInit : tensor<96x192xf32>) -> tensor<96x192xf32>
  %dwq = linalg.matmul indexing_maps = [#km, #kn, #mn]
      ins(%dy, %x : tensor<32x96xf32>, tensor<32x192xf32>)
      outs(%dwqZero : tensor<96x192xf32>) -> tensor<96x192xf32>
  %dw, %ds = qat.fake_quant_grad %dwq, %w, %s as #w4 with fourier<[0.21]>
      : tensor<96x192xf32>, tensor<96x1xf32> -> tensor<96x1xf32>

  // SGD on the weight and on its step.
  %wNew = linalg.generic
      {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w, %dw : tensor<96x192xf32>, tensor<96x192xf32>)
      outs(%dwqInit : tensor<96x192xf32>) {
  ^bb0(%wv: f32, %gv: f32, %unused: f32):
    %step = arith.mulf %lr, %gv : f32
    %updated = arith.subf %wv, %step : f32
    linalg.yield %updated : f32
  } -> tensor<96x192xf32>
  %sInit = tensor.empty() : tensor<96x1xf32>
  %sNew = linalg.generic
      {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s, %ds : tensor<96x1xf32>, tensor<96x1xf32>)
      outs(%sInit : tensor<96x1xf32>) {
  ^bb0(%sv: f32, %gv: f32, %unused: f32):
    %step = arith.mulf %lr, %gv : f32
    %updated = arith.subf %sv, %step : f32
    linalg.yield %updated : f32
  } -> tensor<96x1xf32>
  return %wNew, %sNew, %dx, %loss
      : tensor<96x192xf32>, tensor<96x1xf32>, tensor<32x192xf32>, tensor<f32>
}
