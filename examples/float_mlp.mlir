// A float two-layer MLP as any MLIR frontend hands it over: func + linalg on
// tensors, no qat op. The trainable weights are the arguments marked
// {qat.param}. docs/training-graphs.md takes it to a QAT training step
// (qat-quantize, qat-differentiate) and to a deployable model (qat-convert).
//
// @mlp is the forward, y = relu(x W1) W2^T (W1 stored K x N, W2 stored N x K:
// both layouts linalg.matmul expresses); @mlp_loss is the same forward
// followed by the mean squared error against a target.
//
// Shapes: 64 tokens, 256 input features, 128 hidden, 16 outputs.

#id = affine_map<(i, j) -> (i, j)>
#all = affine_map<(i, j) -> ()>
#a = affine_map<(m, n, k) -> (m, k)>
#bt = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

func.func @mlp(%x: tensor<64x256xf32>, %w1: tensor<256x128xf32> {qat.param},
               %w2: tensor<16x128xf32> {qat.param}) -> tensor<64x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<64x128xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<64x128xf32>) -> tensor<64x128xf32>
  %h = linalg.matmul ins(%x, %w1 : tensor<64x256xf32>, tensor<256x128xf32>)
      outs(%f1 : tensor<64x128xf32>) -> tensor<64x128xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h : tensor<64x128xf32>) outs(%e1 : tensor<64x128xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.maximumf %v, %zero : f32
    linalg.yield %m : f32
  } -> tensor<64x128xf32>
  %e2 = tensor.empty() : tensor<64x16xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<64x16xf32>) -> tensor<64x16xf32>
  %y = linalg.matmul indexing_maps = [#a, #bt, #c]
      ins(%r, %w2 : tensor<64x128xf32>, tensor<16x128xf32>)
      outs(%f2 : tensor<64x16xf32>) -> tensor<64x16xf32>
  return %y : tensor<64x16xf32>
}

func.func @mlp_loss(%x: tensor<64x256xf32>, %target: tensor<64x16xf32>,
                    %w1: tensor<256x128xf32> {qat.param},
                    %w2: tensor<16x128xf32> {qat.param}) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<64x128xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<64x128xf32>) -> tensor<64x128xf32>
  %h = linalg.matmul ins(%x, %w1 : tensor<64x256xf32>, tensor<256x128xf32>)
      outs(%f1 : tensor<64x128xf32>) -> tensor<64x128xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h : tensor<64x128xf32>) outs(%e1 : tensor<64x128xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.maximumf %v, %zero : f32
    linalg.yield %m : f32
  } -> tensor<64x128xf32>
  %e2 = tensor.empty() : tensor<64x16xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<64x16xf32>) -> tensor<64x16xf32>
  %y = linalg.matmul indexing_maps = [#a, #bt, #c]
      ins(%r, %w2 : tensor<64x128xf32>, tensor<16x128xf32>)
      outs(%f2 : tensor<64x16xf32>) -> tensor<64x16xf32>
  // L = mean((y - target)^2) over the 1024 outputs.
  %s = tensor.empty() : tensor<f32>
  %acc = linalg.fill ins(%zero : f32) outs(%s : tensor<f32>) -> tensor<f32>
  %sse = linalg.generic {indexing_maps = [#id, #id, #all], iterator_types = ["reduction", "reduction"]}
      ins(%y, %target : tensor<64x16xf32>, tensor<64x16xf32>) outs(%acc : tensor<f32>) {
  ^bb0(%yv: f32, %tv: f32, %sum: f32):
    %d = arith.subf %yv, %tv : f32
    %sq = arith.mulf %d, %d : f32
    %next = arith.addf %sum, %sq : f32
    linalg.yield %next : f32
  } -> tensor<f32>
  %loss = linalg.generic {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>], iterator_types = []}
      ins(%sse : tensor<f32>) outs(%s : tensor<f32>) {
  ^bb0(%v: f32, %o: f32):
    %inv = arith.constant 9.765625e-04 : f32
    %mean = arith.mulf %v, %inv : f32
    linalg.yield %mean : f32
  } -> tensor<f32>
  return %loss : tensor<f32>
}
