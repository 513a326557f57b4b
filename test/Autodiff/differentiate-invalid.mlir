// RUN: qat-opt %s --split-input-file --qat-differentiate -verify-diagnostics

// An op without a reverse rule on the way from a parameter to the loss.
func.func @no_rule(%wt: tensor<f32> {qat.param}) -> f32 {
  %w = tensor.extract %wt[] : tensor<f32>
  // expected-error @+1 {{'math.atan' op has no reverse rule (AutoDiffOpInterface); the gradient of argument #0 needs it}}
  %a = math.atan %w : f32
  return %a : f32
}

// -----

#id = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>
// A scalar op without a rule inside a linalg body; the second parameter is
// the one whose gradient needs it.
func.func @no_body_rule(%x: tensor<4xf32>, %w: tensor<4xf32> {qat.param}) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  // expected-error @+1 {{'linalg.generic' op cannot differentiate 'math.atan' in its body: no reverse rule; the gradient of argument #1 needs it}}
  %r = linalg.generic {indexing_maps = [#id, #id, #all], iterator_types = ["reduction"]}
      ins(%x, %w : tensor<4xf32>, tensor<4xf32>) outs(%z : tensor<f32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %t = math.atan %p : f32
    %s = arith.addf %acc, %t : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

#id = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>
// A product reduction: the accumulator is not summed, maxed or minned.
func.func @product_reduction(%w: tensor<4xf32> {qat.param}) -> tensor<f32> {
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<f32>
  %z = linalg.fill ins(%one : f32) outs(%e : tensor<f32>) -> tensor<f32>
  // expected-error @+1 {{'linalg.generic' op reduction #0 is not a sum, max or min of its accumulator (addf, maximumf, maxnumf, minimumf, minnumf); the gradient of argument #0 needs it}}
  %r = linalg.generic {indexing_maps = [#id, #all], iterator_types = ["reduction"]}
      ins(%w : tensor<4xf32>) outs(%z : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.mulf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

#id = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>
// A parameter read inside a body from above instead of as an input.
func.func @captured(%x: tensor<4xf32>, %wt: tensor<f32> {qat.param}) -> tensor<f32> {
  %w = tensor.extract %wt[] : tensor<f32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  // expected-error @+1 {{'linalg.generic' op reads a differentiated value defined outside its body; pass it as an input; the gradient of argument #1 needs it}}
  %r = linalg.generic {indexing_maps = [#id, #all], iterator_types = ["reduction"]}
      ins(%x : tensor<4xf32>) outs(%z : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %p = arith.mulf %a, %w : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

#id = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>
// Elementwise arith on tensors: qat-differentiate asks for linalg.
func.func @arith_on_tensors(%w: tensor<4xf32> {qat.param}) -> tensor<f32> {
  // expected-error @+1 {{'arith.mulf' op works on tensors; run convert-elementwise-to-linalg first; the gradient of argument #0 needs it}}
  %sq = arith.mulf %w, %w : tensor<4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %r = linalg.reduce ins(%sq : tensor<4xf32>) outs(%z : tensor<f32>) dimensions = [0]
    (%in: f32, %acc: f32) {
      %s = arith.addf %in, %acc : f32
      linalg.yield %s : f32
    }
  return %r : tensor<f32>
}

// -----

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
// QuEST codes without the estimator their backward needs: no silent STE.
func.func @quantize_without_estimator(%x: tensor<4x8xf32>, %w: tensor<3x8xf32> {qat.param}) -> f32 {
  %sx = qat.scale %x as #q4 : tensor<4x8xf32> -> tensor<4x1xf32>
  %sw = qat.scale %w as #q4 : tensor<3x8xf32> -> tensor<3x1xf32>
  %qx = qat.quantize %x, %sx as #q4 {qat.estimator = #qat.trust}
      : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xi8>
  // expected-error @+1 {{'qat.quantize' op has no 'qat.estimator' attribute naming the gradient estimator of its backward; the gradient of argument #1 needs it}}
  %qw = qat.quantize %w, %sw as #q4 : tensor<3x8xf32>, tensor<3x1xf32> -> tensor<3x8xi8>
  %y = qat.matmul %qx, %qw, %sx, %sw as #q4, #q4
      : tensor<4x8xi8>, tensor<3x8xi8>, tensor<4x1xf32>, tensor<3x1xf32> -> tensor<4x3xf32>
  %c = arith.constant 0 : index
  %l = tensor.extract %y[%c, %c] : tensor<4x3xf32>
  return %l : f32
}

// -----

#w4 = #qat.quantizer<signed, 4 bits, learned, per_row>
// A learned step that the codes' quantizer does not use: its gradient
// through the dequantization would be lost.
func.func @foreign_learned_step(%w: tensor<3x8xf32> {qat.param}, %s: tensor<3x1xf32> {qat.step},
                                %s2: tensor<3x1xf32> {qat.step}) -> f32 {
  %q = qat.quantize %w, %s as #w4 {qat.estimator = #qat.ste} : tensor<3x8xf32>, tensor<3x1xf32> -> tensor<3x8xi8>
  // expected-error @+1 {{'qat.dequantize' op reads a learned step that is not the step of the qat.quantize producing its codes; its gradient would be missing; the gradient of argument #0 needs it}}
  %d = qat.dequantize %q, %s2 as #w4 : tensor<3x8xi8>, tensor<3x1xf32> -> tensor<3x8xf32>
  %c = arith.constant 0 : index
  %l = tensor.extract %d[%c, %c] : tensor<3x8xf32>
  return %l : f32
}

// -----

// Second-order gradients are not covered.
#w4 = #qat.quantizer<signed, 4 bits, learned, per_row>
func.func @second_order(%dy: tensor<3x8xf32>, %w: tensor<3x8xf32> {qat.param}, %s: tensor<3x1xf32>) -> f32 {
  // expected-error @+1 {{'qat.fake_quant_grad' op has no reverse rule (AutoDiffOpInterface); the gradient of argument #1 needs it}}
  %dx, %ds = qat.fake_quant_grad %dy, %w, %s as #w4 with ste : tensor<3x8xf32>, tensor<3x1xf32> -> tensor<3x1xf32>
  %c = arith.constant 0 : index
  %l = tensor.extract %dx[%c, %c] : tensor<3x8xf32>
  return %l : f32
}

// -----

// Control flow: not structured on tensors the driver can walk.
func.func @call(%wt: tensor<f32> {qat.param}) -> f32 {
  %w = tensor.extract %wt[] : tensor<f32>
  // expected-error @+1 {{'func.call' op has no reverse rule (AutoDiffOpInterface); the gradient of argument #0 needs it}}
  %r = func.call @callee(%w) : (f32) -> f32
  return %r : f32
}
func.func private @callee(f32) -> f32

// -----

// expected-error @+1 {{'func.func' op must return one scalar loss (a float or a rank-0 tensor of floats), got 'tensor<4xf32>'}}
func.func @not_scalar(%w: tensor<4xf32> {qat.param}) -> tensor<4xf32> {
  return %w : tensor<4xf32>
}

// -----

// expected-error @+1 {{'func.func' op must return one scalar loss (a float or a rank-0 tensor of floats), got 'tensor<f32>', 'tensor<f32>'}}
func.func @two_results(%w: tensor<f32> {qat.param}) -> (tensor<f32>, tensor<f32>) {
  return %w, %w : tensor<f32>, tensor<f32>
}

// -----

// expected-error @+1 {{'func.func' op argument #0 of type 'tensor<?xf32>' is not a float or a float tensor of static shape}}
func.func @dynamic(%w: tensor<?xf32> {qat.param}) -> f32 {
  %c = arith.constant 0 : index
  %l = tensor.extract %w[%c] : tensor<?xf32>
  return %l : f32
}

// -----

// expected-error @+1 {{'func.func' op cannot add 'taken_grad': a symbol of that name exists}}
func.func @taken(%w: tensor<f32> {qat.param}) -> tensor<f32> {
  return %w : tensor<f32>
}
func.func @taken_grad() {
  return
}

// -----

// A padding value that depends on a parameter: its gradient (the sum of the
// adjoint over the padded border) is not generated.
func.func @pad_active_value(%x: tensor<4xf32>, %pt: tensor<f32> {qat.param}) -> f32 {
  %c0 = arith.constant 0 : index
  %v = tensor.extract %pt[] : tensor<f32>
  // expected-error @+1 {{'tensor.pad' op pads with a value that needs a gradient; the gradient of argument #1 needs it}}
  %p = tensor.pad %x low[1] high[1] {
  ^bb0(%i: index):
    tensor.yield %v : f32
  } : tensor<4xf32> to tensor<6xf32>
  %l = tensor.extract %p[%c0] : tensor<6xf32>
  return %l : f32
}

// -----

// A padding region that computes its value from the indices.
func.func @pad_region(%w: tensor<4xf32> {qat.param}) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{'tensor.pad' op has a padding region that is not a constant yield; the gradient of argument #0 needs it}}
  %p = tensor.pad %w low[1] high[1] {
  ^bb0(%i: index):
    %n = arith.index_cast %i : index to i32
    %f = arith.sitofp %n : i32 to f32
    tensor.yield %f : f32
  } : tensor<4xf32> to tensor<6xf32>
  %l = tensor.extract %p[%c0] : tensor<6xf32>
  return %l : f32
}
