// The forward half of examples/quest_linear.mlir as a loss function: QuEST
// W4A4 (Hadamard 128, rms_gaussian steps, packed int4 codes, qat.matmul) and
// L = mean((y - target)^2). Its backward is not written: qat-differentiate
// derives it, and each qat.quantize names the estimator its backward uses
// in the `qat.estimator` attribute (trust, as in the hand-written step).
//
//   qat-opt --qat-differentiate="wrt=0,1" examples/autodiff/quest_linear_loss.mlir
//
// gives @quest_linear_loss_grad returning (loss, dx, dw), which
// test/Autodiff/examples.test compares with the hand-written step.

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
#id = affine_map<(m, n) -> (m, n)>
#all = affine_map<(m, n) -> ()>

func.func @quest_linear_loss(%x: tensor<64x256xf32>,
                             %w: tensor<128x256xf32> {qat.param},
                             %target: tensor<64x128xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %xh = qat.hadamard %x block 128 : tensor<64x256xf32>
  %wh = qat.hadamard %w block 128 : tensor<128x256xf32>
  %sx = qat.scale %xh as #q4 : tensor<64x256xf32> -> tensor<64x1xf32>
  %sw = qat.scale %wh as #q4 : tensor<128x256xf32> -> tensor<128x1xf32>
  %qx = qat.quantize %xh, %sx as #q4 packed {qat.estimator = #qat.trust}
      : tensor<64x256xf32>, tensor<64x1xf32> -> tensor<64x128xi8>
  %qw = qat.quantize %wh, %sw as #q4 packed {qat.estimator = #qat.trust}
      : tensor<128x256xf32>, tensor<128x1xf32> -> tensor<128x128xi8>
  %y = qat.matmul %qx, %qw, %sx, %sw as #q4, #q4 packed
      : tensor<64x128xi8>, tensor<128x128xi8>, tensor<64x1xf32>,
        tensor<128x1xf32> -> tensor<64x128xf32>
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
  return %loss : tensor<f32>
}
