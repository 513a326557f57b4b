// A float pre-norm transformer block as a frontend writes it: func + linalg
// on tensors + arith/math, no qat op; the trainable weights are the arguments
// marked {qat.param} (all stored N x K, as torch.nn.Linear keeps them).
//
// 16 tokens, 64 features, one causal attention head, layer norm without
// affine, a GELU MLP of 128, residuals, and an output projection to 32
// classes. @block returns the logits; @block_loss their cross-entropy against
// one-hot targets. docs/training-graphs.md quantizes it: the products with a
// weight get the recipe, attention's q k^T and p v stay in float.

#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (i)>
#vec = affine_map<(i) -> (i)>
#all = affine_map<(i) -> ()>
#a = affine_map<(m, n, k) -> (m, k)>
#bt = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

func.func @block(%x: tensor<16x64xf32>,
    %wq: tensor<64x64xf32> {qat.param}, %wk: tensor<64x64xf32> {qat.param},
    %wv: tensor<64x64xf32> {qat.param}, %wo: tensor<64x64xf32> {qat.param},
    %w1: tensor<128x64xf32> {qat.param}, %w2: tensor<64x128xf32> {qat.param},
    %wout: tensor<32x64xf32> {qat.param}) -> tensor<16x32xf32> {
  %zero = arith.constant 0.0 : f32
  %eSD = tensor.empty() : tensor<16x64xf32>
  %e16x64 = tensor.empty() : tensor<16x64xf32>
  %e16x16 = tensor.empty() : tensor<16x16xf32>
  %e16x128 = tensor.empty() : tensor<16x128xf32>
  %e16x32 = tensor.empty() : tensor<16x32xf32>
  %eS = tensor.empty() : tensor<16xf32>
  %zrow = linalg.fill ins(%zero : f32) outs(%eS : tensor<16xf32>) -> tensor<16xf32>
  // ln1 = layernorm(x) over the 64 features (no affine), eps 1e-5.
  %ln1_sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<16x64xf32>) outs(%zrow : tensor<16xf32>) {
  ^bb0(%v: f32, %a: f32):
    %r = arith.addf %a, %v : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %ln1_sq = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %ln1_sum : tensor<16x64xf32>, tensor<16xf32>) outs(%zrow : tensor<16xf32>) {
  ^bb0(%v: f32, %s: f32, %a: f32):
    %n = arith.constant 64.0 : f32
    %m = arith.divf %s, %n : f32
    %d = arith.subf %v, %m : f32
    %d2 = arith.mulf %d, %d : f32
    %r = arith.addf %a, %d2 : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %ln1 = linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ln1_sum, %ln1_sq : tensor<16x64xf32>, tensor<16xf32>, tensor<16xf32>) outs(%eSD : tensor<16x64xf32>) {
  ^bb0(%v: f32, %s: f32, %q: f32, %o: f32):
    %n = arith.constant 64.0 : f32
    %eps = arith.constant 1.0e-05 : f32
    %m = arith.divf %s, %n : f32
    %var = arith.divf %q, %n : f32
    %ve = arith.addf %var, %eps : f32
    %rs = math.rsqrt %ve : f32
    %d = arith.subf %v, %m : f32
    %r = arith.mulf %d, %rs : f32
    linalg.yield %r : f32
  } -> tensor<16x64xf32>
  // Causal self-attention, one head: q k^T and p v multiply two activations.
  %query_init = linalg.fill ins(%zero : f32) outs(%e16x64 : tensor<16x64xf32>) -> tensor<16x64xf32>
  %query = linalg.matmul indexing_maps = [#a, #bt, #c]
      ins(%ln1, %wq : tensor<16x64xf32>, tensor<64x64xf32>) outs(%query_init : tensor<16x64xf32>) -> tensor<16x64xf32>
  %key_init = linalg.fill ins(%zero : f32) outs(%e16x64 : tensor<16x64xf32>) -> tensor<16x64xf32>
  %key = linalg.matmul indexing_maps = [#a, #bt, #c]
      ins(%ln1, %wk : tensor<16x64xf32>, tensor<64x64xf32>) outs(%key_init : tensor<16x64xf32>) -> tensor<16x64xf32>
  %val_init = linalg.fill ins(%zero : f32) outs(%e16x64 : tensor<16x64xf32>) -> tensor<16x64xf32>
  %val = linalg.matmul indexing_maps = [#a, #bt, #c]
      ins(%ln1, %wv : tensor<16x64xf32>, tensor<64x64xf32>) outs(%val_init : tensor<16x64xf32>) -> tensor<16x64xf32>
  %scores_init = linalg.fill ins(%zero : f32) outs(%e16x16 : tensor<16x16xf32>) -> tensor<16x16xf32>
  %scores = linalg.matmul indexing_maps = [#a, #bt, #c]
      ins(%query, %key : tensor<16x64xf32>, tensor<16x64xf32>) outs(%scores_init : tensor<16x16xf32>) -> tensor<16x16xf32>
  // Scaled by 1/sqrt(64); keys after the query masked (-1e9).
  %masked = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%scores : tensor<16x16xf32>) outs(%e16x16 : tensor<16x16xf32>) {
  ^bb0(%s: f32, %o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %scale = arith.constant 0.125 : f32
    %big = arith.constant -1.0e+09 : f32
    %ss = arith.mulf %s, %scale : f32
    %future = arith.cmpi ugt, %j, %i : index
    %r = arith.select %future, %big, %ss : f32
    linalg.yield %r : f32
  } -> tensor<16x16xf32>
  %ninf = arith.constant -3.40282347E+38 : f32
  %mfill = linalg.fill ins(%ninf : f32) outs(%eS : tensor<16xf32>) -> tensor<16xf32>
  %rowmax = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%masked : tensor<16x16xf32>) outs(%mfill : tensor<16xf32>) {
  ^bb0(%v: f32, %a: f32):
    %r = arith.maximumf %a, %v : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%masked, %rowmax : tensor<16x16xf32>, tensor<16xf32>) outs(%e16x16 : tensor<16x16xf32>) {
  ^bb0(%v: f32, %m: f32, %o: f32):
    %d = arith.subf %v, %m : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<16x16xf32>
  %rowsum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%ex : tensor<16x16xf32>) outs(%zrow : tensor<16xf32>) {
  ^bb0(%v: f32, %a: f32):
    %r = arith.addf %a, %v : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%ex, %rowsum : tensor<16x16xf32>, tensor<16xf32>) outs(%e16x16 : tensor<16x16xf32>) {
  ^bb0(%v: f32, %s: f32, %o: f32):
    %r = arith.divf %v, %s : f32
    linalg.yield %r : f32
  } -> tensor<16x16xf32>
  %attn_init = linalg.fill ins(%zero : f32) outs(%e16x64 : tensor<16x64xf32>) -> tensor<16x64xf32>
  %attn = linalg.matmul ins(%p, %val : tensor<16x16xf32>, tensor<16x64xf32>) outs(%attn_init : tensor<16x64xf32>) -> tensor<16x64xf32>
  %proj_init = linalg.fill ins(%zero : f32) outs(%e16x64 : tensor<16x64xf32>) -> tensor<16x64xf32>
  %proj = linalg.matmul indexing_maps = [#a, #bt, #c]
      ins(%attn, %wo : tensor<16x64xf32>, tensor<64x64xf32>) outs(%proj_init : tensor<16x64xf32>) -> tensor<16x64xf32>
  %h = linalg.add ins(%x, %proj : tensor<16x64xf32>, tensor<16x64xf32>) outs(%eSD : tensor<16x64xf32>) -> tensor<16x64xf32>
  // ln2 = layernorm(h) over the 64 features (no affine), eps 1e-5.
  %ln2_sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%h : tensor<16x64xf32>) outs(%zrow : tensor<16xf32>) {
  ^bb0(%v: f32, %a: f32):
    %r = arith.addf %a, %v : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %ln2_sq = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%h, %ln2_sum : tensor<16x64xf32>, tensor<16xf32>) outs(%zrow : tensor<16xf32>) {
  ^bb0(%v: f32, %s: f32, %a: f32):
    %n = arith.constant 64.0 : f32
    %m = arith.divf %s, %n : f32
    %d = arith.subf %v, %m : f32
    %d2 = arith.mulf %d, %d : f32
    %r = arith.addf %a, %d2 : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %ln2 = linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h, %ln2_sum, %ln2_sq : tensor<16x64xf32>, tensor<16xf32>, tensor<16xf32>) outs(%eSD : tensor<16x64xf32>) {
  ^bb0(%v: f32, %s: f32, %q: f32, %o: f32):
    %n = arith.constant 64.0 : f32
    %eps = arith.constant 1.0e-05 : f32
    %m = arith.divf %s, %n : f32
    %var = arith.divf %q, %n : f32
    %ve = arith.addf %var, %eps : f32
    %rs = math.rsqrt %ve : f32
    %d = arith.subf %v, %m : f32
    %r = arith.mulf %d, %rs : f32
    linalg.yield %r : f32
  } -> tensor<16x64xf32>
  // MLP with GELU (erf form).
  %up_init = linalg.fill ins(%zero : f32) outs(%e16x128 : tensor<16x128xf32>) -> tensor<16x128xf32>
  %up = linalg.matmul indexing_maps = [#a, #bt, #c]
      ins(%ln2, %w1 : tensor<16x64xf32>, tensor<128x64xf32>) outs(%up_init : tensor<16x128xf32>) -> tensor<16x128xf32>
  %act = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%up : tensor<16x128xf32>) outs(%e16x128 : tensor<16x128xf32>) {
  ^bb0(%u: f32, %o: f32):
    %half = arith.constant 0.5 : f32
    %one = arith.constant 1.0 : f32
    %isqrt2 = arith.constant 0.707106769 : f32
    %z = arith.mulf %u, %isqrt2 : f32
    %erf = math.erf %z : f32
    %t = arith.addf %erf, %one : f32
    %hu = arith.mulf %u, %half : f32
    %r = arith.mulf %hu, %t : f32
    linalg.yield %r : f32
  } -> tensor<16x128xf32>
  %down_init = linalg.fill ins(%zero : f32) outs(%e16x64 : tensor<16x64xf32>) -> tensor<16x64xf32>
  %down = linalg.matmul indexing_maps = [#a, #bt, #c]
      ins(%act, %w2 : tensor<16x128xf32>, tensor<64x128xf32>) outs(%down_init : tensor<16x64xf32>) -> tensor<16x64xf32>
  %out = linalg.add ins(%h, %down : tensor<16x64xf32>, tensor<16x64xf32>) outs(%eSD : tensor<16x64xf32>) -> tensor<16x64xf32>
  %logits_init = linalg.fill ins(%zero : f32) outs(%e16x32 : tensor<16x32xf32>) -> tensor<16x32xf32>
  %logits = linalg.matmul indexing_maps = [#a, #bt, #c]
      ins(%out, %wout : tensor<16x64xf32>, tensor<32x64xf32>) outs(%logits_init : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %logits : tensor<16x32xf32>
}

func.func @block_loss(%x: tensor<16x64xf32>, %target: tensor<16x32xf32>,
    %wq: tensor<64x64xf32> {qat.param}, %wk: tensor<64x64xf32> {qat.param},
    %wv: tensor<64x64xf32> {qat.param}, %wo: tensor<64x64xf32> {qat.param},
    %w1: tensor<128x64xf32> {qat.param}, %w2: tensor<64x128xf32> {qat.param},
    %wout: tensor<32x64xf32> {qat.param}) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %eSD = tensor.empty() : tensor<16x64xf32>
  %e16x64 = tensor.empty() : tensor<16x64xf32>
  %e16x16 = tensor.empty() : tensor<16x16xf32>
  %e16x128 = tensor.empty() : tensor<16x128xf32>
  %e16x32 = tensor.empty() : tensor<16x32xf32>
  %eS = tensor.empty() : tensor<16xf32>
  %zrow = linalg.fill ins(%zero : f32) outs(%eS : tensor<16xf32>) -> tensor<16xf32>
  // ln1 = layernorm(x) over the 64 features (no affine), eps 1e-5.
  %ln1_sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<16x64xf32>) outs(%zrow : tensor<16xf32>) {
  ^bb0(%v: f32, %a: f32):
    %r = arith.addf %a, %v : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %ln1_sq = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %ln1_sum : tensor<16x64xf32>, tensor<16xf32>) outs(%zrow : tensor<16xf32>) {
  ^bb0(%v: f32, %s: f32, %a: f32):
    %n = arith.constant 64.0 : f32
    %m = arith.divf %s, %n : f32
    %d = arith.subf %v, %m : f32
    %d2 = arith.mulf %d, %d : f32
    %r = arith.addf %a, %d2 : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %ln1 = linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ln1_sum, %ln1_sq : tensor<16x64xf32>, tensor<16xf32>, tensor<16xf32>) outs(%eSD : tensor<16x64xf32>) {
  ^bb0(%v: f32, %s: f32, %q: f32, %o: f32):
    %n = arith.constant 64.0 : f32
    %eps = arith.constant 1.0e-05 : f32
    %m = arith.divf %s, %n : f32
    %var = arith.divf %q, %n : f32
    %ve = arith.addf %var, %eps : f32
    %rs = math.rsqrt %ve : f32
    %d = arith.subf %v, %m : f32
    %r = arith.mulf %d, %rs : f32
    linalg.yield %r : f32
  } -> tensor<16x64xf32>
  // Causal self-attention, one head: q k^T and p v multiply two activations.
  %query_init = linalg.fill ins(%zero : f32) outs(%e16x64 : tensor<16x64xf32>) -> tensor<16x64xf32>
  %query = linalg.matmul indexing_maps = [#a, #bt, #c]
      ins(%ln1, %wq : tensor<16x64xf32>, tensor<64x64xf32>) outs(%query_init : tensor<16x64xf32>) -> tensor<16x64xf32>
  %key_init = linalg.fill ins(%zero : f32) outs(%e16x64 : tensor<16x64xf32>) -> tensor<16x64xf32>
  %key = linalg.matmul indexing_maps = [#a, #bt, #c]
      ins(%ln1, %wk : tensor<16x64xf32>, tensor<64x64xf32>) outs(%key_init : tensor<16x64xf32>) -> tensor<16x64xf32>
  %val_init = linalg.fill ins(%zero : f32) outs(%e16x64 : tensor<16x64xf32>) -> tensor<16x64xf32>
  %val = linalg.matmul indexing_maps = [#a, #bt, #c]
      ins(%ln1, %wv : tensor<16x64xf32>, tensor<64x64xf32>) outs(%val_init : tensor<16x64xf32>) -> tensor<16x64xf32>
  %scores_init = linalg.fill ins(%zero : f32) outs(%e16x16 : tensor<16x16xf32>) -> tensor<16x16xf32>
  %scores = linalg.matmul indexing_maps = [#a, #bt, #c]
      ins(%query, %key : tensor<16x64xf32>, tensor<16x64xf32>) outs(%scores_init : tensor<16x16xf32>) -> tensor<16x16xf32>
  // Scaled by 1/sqrt(64); keys after the query masked (-1e9).
  %masked = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%scores : tensor<16x16xf32>) outs(%e16x16 : tensor<16x16xf32>) {
  ^bb0(%s: f32, %o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %scale = arith.constant 0.125 : f32
    %big = arith.constant -1.0e+09 : f32
    %ss = arith.mulf %s, %scale : f32
    %future = arith.cmpi ugt, %j, %i : index
    %r = arith.select %future, %big, %ss : f32
    linalg.yield %r : f32
  } -> tensor<16x16xf32>
  %ninf = arith.constant -3.40282347E+38 : f32
  %mfill = linalg.fill ins(%ninf : f32) outs(%eS : tensor<16xf32>) -> tensor<16xf32>
  %rowmax = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%masked : tensor<16x16xf32>) outs(%mfill : tensor<16xf32>) {
  ^bb0(%v: f32, %a: f32):
    %r = arith.maximumf %a, %v : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%masked, %rowmax : tensor<16x16xf32>, tensor<16xf32>) outs(%e16x16 : tensor<16x16xf32>) {
  ^bb0(%v: f32, %m: f32, %o: f32):
    %d = arith.subf %v, %m : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<16x16xf32>
  %rowsum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%ex : tensor<16x16xf32>) outs(%zrow : tensor<16xf32>) {
  ^bb0(%v: f32, %a: f32):
    %r = arith.addf %a, %v : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%ex, %rowsum : tensor<16x16xf32>, tensor<16xf32>) outs(%e16x16 : tensor<16x16xf32>) {
  ^bb0(%v: f32, %s: f32, %o: f32):
    %r = arith.divf %v, %s : f32
    linalg.yield %r : f32
  } -> tensor<16x16xf32>
  %attn_init = linalg.fill ins(%zero : f32) outs(%e16x64 : tensor<16x64xf32>) -> tensor<16x64xf32>
  %attn = linalg.matmul ins(%p, %val : tensor<16x16xf32>, tensor<16x64xf32>) outs(%attn_init : tensor<16x64xf32>) -> tensor<16x64xf32>
  %proj_init = linalg.fill ins(%zero : f32) outs(%e16x64 : tensor<16x64xf32>) -> tensor<16x64xf32>
  %proj = linalg.matmul indexing_maps = [#a, #bt, #c]
      ins(%attn, %wo : tensor<16x64xf32>, tensor<64x64xf32>) outs(%proj_init : tensor<16x64xf32>) -> tensor<16x64xf32>
  %h = linalg.add ins(%x, %proj : tensor<16x64xf32>, tensor<16x64xf32>) outs(%eSD : tensor<16x64xf32>) -> tensor<16x64xf32>
  // ln2 = layernorm(h) over the 64 features (no affine), eps 1e-5.
  %ln2_sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%h : tensor<16x64xf32>) outs(%zrow : tensor<16xf32>) {
  ^bb0(%v: f32, %a: f32):
    %r = arith.addf %a, %v : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %ln2_sq = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%h, %ln2_sum : tensor<16x64xf32>, tensor<16xf32>) outs(%zrow : tensor<16xf32>) {
  ^bb0(%v: f32, %s: f32, %a: f32):
    %n = arith.constant 64.0 : f32
    %m = arith.divf %s, %n : f32
    %d = arith.subf %v, %m : f32
    %d2 = arith.mulf %d, %d : f32
    %r = arith.addf %a, %d2 : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %ln2 = linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h, %ln2_sum, %ln2_sq : tensor<16x64xf32>, tensor<16xf32>, tensor<16xf32>) outs(%eSD : tensor<16x64xf32>) {
  ^bb0(%v: f32, %s: f32, %q: f32, %o: f32):
    %n = arith.constant 64.0 : f32
    %eps = arith.constant 1.0e-05 : f32
    %m = arith.divf %s, %n : f32
    %var = arith.divf %q, %n : f32
    %ve = arith.addf %var, %eps : f32
    %rs = math.rsqrt %ve : f32
    %d = arith.subf %v, %m : f32
    %r = arith.mulf %d, %rs : f32
    linalg.yield %r : f32
  } -> tensor<16x64xf32>
  // MLP with GELU (erf form).
  %up_init = linalg.fill ins(%zero : f32) outs(%e16x128 : tensor<16x128xf32>) -> tensor<16x128xf32>
  %up = linalg.matmul indexing_maps = [#a, #bt, #c]
      ins(%ln2, %w1 : tensor<16x64xf32>, tensor<128x64xf32>) outs(%up_init : tensor<16x128xf32>) -> tensor<16x128xf32>
  %act = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%up : tensor<16x128xf32>) outs(%e16x128 : tensor<16x128xf32>) {
  ^bb0(%u: f32, %o: f32):
    %half = arith.constant 0.5 : f32
    %one = arith.constant 1.0 : f32
    %isqrt2 = arith.constant 0.707106769 : f32
    %z = arith.mulf %u, %isqrt2 : f32
    %erf = math.erf %z : f32
    %t = arith.addf %erf, %one : f32
    %hu = arith.mulf %u, %half : f32
    %r = arith.mulf %hu, %t : f32
    linalg.yield %r : f32
  } -> tensor<16x128xf32>
  %down_init = linalg.fill ins(%zero : f32) outs(%e16x64 : tensor<16x64xf32>) -> tensor<16x64xf32>
  %down = linalg.matmul indexing_maps = [#a, #bt, #c]
      ins(%act, %w2 : tensor<16x128xf32>, tensor<64x128xf32>) outs(%down_init : tensor<16x64xf32>) -> tensor<16x64xf32>
  %out = linalg.add ins(%h, %down : tensor<16x64xf32>, tensor<16x64xf32>) outs(%eSD : tensor<16x64xf32>) -> tensor<16x64xf32>
  %logits_init = linalg.fill ins(%zero : f32) outs(%e16x32 : tensor<16x32xf32>) -> tensor<16x32xf32>
  %logits = linalg.matmul indexing_maps = [#a, #bt, #c]
      ins(%out, %wout : tensor<16x64xf32>, tensor<32x64xf32>) outs(%logits_init : tensor<16x32xf32>) -> tensor<16x32xf32>
  // Cross-entropy against one-hot targets: mean over tokens of
  // logsumexp(logits) - sum(target * logits).
  %lmax = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%logits : tensor<16x32xf32>) outs(%mfill : tensor<16xf32>) {
  ^bb0(%v: f32, %a: f32):
    %r = arith.maximumf %a, %v : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %lse_sum = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%logits, %lmax : tensor<16x32xf32>, tensor<16xf32>) outs(%zrow : tensor<16xf32>) {
  ^bb0(%v: f32, %m: f32, %a: f32):
    %d = arith.subf %v, %m : f32
    %e = math.exp %d : f32
    %r = arith.addf %a, %e : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %picked = linalg.generic {indexing_maps = [#id, #id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%logits, %target : tensor<16x32xf32>, tensor<16x32xf32>) outs(%zrow : tensor<16xf32>) {
  ^bb0(%v: f32, %t: f32, %a: f32):
    %tv = arith.mulf %t, %v : f32
    %r = arith.addf %a, %tv : f32
    linalg.yield %r : f32
  } -> tensor<16xf32>
  %scalar = tensor.empty() : tensor<f32>
  %lacc = linalg.fill ins(%zero : f32) outs(%scalar : tensor<f32>) -> tensor<f32>
  %loss = linalg.generic {indexing_maps = [#vec, #vec, #vec, #all], iterator_types = ["reduction"]}
      ins(%lmax, %lse_sum, %picked : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) outs(%lacc : tensor<f32>) {
  ^bb0(%m: f32, %s: f32, %pk: f32, %a: f32):
    %inv = arith.constant 0.0625 : f32
    %ls = math.log %s : f32
    %lse = arith.addf %m, %ls : f32
    %nll = arith.subf %lse, %pk : f32
    %w = arith.mulf %nll, %inv : f32
    %r = arith.addf %a, %w : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  return %loss : tensor<f32>
}
