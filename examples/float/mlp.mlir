// A float two-layer MLP with a mean-squared-error loss, written only with
// func/linalg/tensor/arith/math as an MLIR frontend would hand it over:
//
//   h = tanh(x w1^T + b1),  y = h w2 + b2,  L = mean((y - target)^2)
//
// Weights carry `qat.param`, so that qat-differentiate differentiates them
// and qat-training-step updates them (docs/differentiate.md):
//
//   qat-opt --qat-differentiate examples/float/mlp.mlir
//   qat-opt --qat-training-step="optimizer=adamw" examples/float/mlp.mlir
//
// Shapes: a batch of 9 rows, 12 inputs, 10 hidden units, 5 outputs. w1 is
// stored as a weight matrix (10 x 12, read transposed by the matmul's
// indexing maps), w2 as 10 x 5.

#xk = affine_map<(m, n, k) -> (m, k)>
#wk = affine_map<(m, n, k) -> (n, k)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(m, n) -> (m, n)>
#row = affine_map<(m, n) -> (n)>
#all = affine_map<(m, n) -> ()>

func.func @mlp_loss(%x: tensor<9x12xf32>, %target: tensor<9x5xf32>,
                    %w1: tensor<10x12xf32> {qat.param},
                    %b1: tensor<10xf32> {qat.param},
                    %w2: tensor<10x5xf32> {qat.param},
                    %b2: tensor<5xf32> {qat.param}) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32

  // Layer 1: x w1^T through the matmul's indexing maps, then bias and tanh.
  %e1 = tensor.empty() : tensor<9x10xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<9x10xf32>) -> tensor<9x10xf32>
  %xw = linalg.matmul indexing_maps = [#xk, #wk, #mn]
      ins(%x, %w1 : tensor<9x12xf32>, tensor<10x12xf32>)
      outs(%z1 : tensor<9x10xf32>) -> tensor<9x10xf32>
  %h = linalg.generic
      {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%xw, %b1 : tensor<9x10xf32>, tensor<10xf32>) outs(%e1 : tensor<9x10xf32>) {
  ^bb0(%v: f32, %b: f32, %unused: f32):
    %s = arith.addf %v, %b : f32
    %t = math.tanh %s : f32
    linalg.yield %t : f32
  } -> tensor<9x10xf32>

  // Layer 2: a plain matmul, the bias through linalg.broadcast and linalg.add.
  %e2 = tensor.empty() : tensor<9x5xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<9x5xf32>) -> tensor<9x5xf32>
  %hw = linalg.matmul ins(%h, %w2 : tensor<9x10xf32>, tensor<10x5xf32>)
      outs(%z2 : tensor<9x5xf32>) -> tensor<9x5xf32>
  %bb = linalg.broadcast ins(%b2 : tensor<5xf32>) outs(%e2 : tensor<9x5xf32>) dimensions = [0]
  %y = linalg.add ins(%hw, %bb : tensor<9x5xf32>, tensor<9x5xf32>)
      outs(%e2 : tensor<9x5xf32>) -> tensor<9x5xf32>

  // L = mean((y - target)^2).
  %scalar = tensor.empty() : tensor<f32>
  %acc = linalg.fill ins(%zero : f32) outs(%scalar : tensor<f32>) -> tensor<f32>
  %sse = linalg.generic
      {indexing_maps = [#id, #id, #all], iterator_types = ["reduction", "reduction"]}
      ins(%y, %target : tensor<9x5xf32>, tensor<9x5xf32>) outs(%acc : tensor<f32>) {
  ^bb0(%yv: f32, %tv: f32, %a: f32):
    %d = arith.subf %yv, %tv : f32
    %sq = arith.mulf %d, %d : f32
    %sum = arith.addf %a, %sq : f32
    linalg.yield %sum : f32
  } -> tensor<f32>
  %loss = linalg.generic
      {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>], iterator_types = []}
      ins(%sse : tensor<f32>) outs(%scalar : tensor<f32>) {
  ^bb0(%s: f32, %unused: f32):
    %invN = arith.constant 0.0222222228 : f32
    %mean = arith.mulf %s, %invN : f32
    linalg.yield %mean : f32
  } -> tensor<f32>
  return %loss : tensor<f32>
}
