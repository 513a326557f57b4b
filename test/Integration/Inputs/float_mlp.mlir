// A float two-layer MLP as a frontend writes it (func + linalg on tensors):
// y = relu(x W1) W2^T, W1 stored K x H (linalg.matmul's plain form), W2
// stored N x H (the transposed-B form). training_graphs.py rewrites the
// shapes (@M@, @K@, @H@, @N@) before compiling it.
func.func @mlp(%x: tensor<@M@x@K@xf32>, %w1: tensor<@K@x@H@xf32> {qat.param},
               %w2: tensor<@N@x@H@xf32> {qat.param}) -> tensor<@M@x@N@xf32> {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<@M@x@H@xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<@M@x@H@xf32>) -> tensor<@M@x@H@xf32>
  %h = linalg.matmul ins(%x, %w1 : tensor<@M@x@K@xf32>, tensor<@K@x@H@xf32>)
      outs(%f1 : tensor<@M@x@H@xf32>) -> tensor<@M@x@H@xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%h : tensor<@M@x@H@xf32>) outs(%e1 : tensor<@M@x@H@xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.maximumf %v, %zero : f32
    linalg.yield %m : f32
  } -> tensor<@M@x@H@xf32>
  %e2 = tensor.empty() : tensor<@M@x@N@xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<@M@x@N@xf32>) -> tensor<@M@x@N@xf32>
  %y = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>]
      ins(%r, %w2 : tensor<@M@x@H@xf32>, tensor<@N@x@H@xf32>)
      outs(%f2 : tensor<@M@x@N@xf32>) -> tensor<@M@x@N@xf32>
  return %y : tensor<@M@x@N@xf32>
}
