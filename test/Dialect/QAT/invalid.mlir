// RUN: qat-opt %s --split-input-file --verify-diagnostics

//===----------------------------------------------------------------------===//
// #qat.quantizer
//===----------------------------------------------------------------------===//

func.func @bits_too_large(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{bits must be in [1, 8], got 9}}
  %0 = qat.scale %x as <signed, 9 bits, absmax, per_row> : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @bits_zero(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{bits must be in [1, 8], got 0}}
  %0 = qat.scale %x as <signed, 0 bits, absmax, per_row> : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @group_size_zero(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{group size must be positive, got 0}}
  %0 = qat.scale %x as <signed, 4 bits, absmax, per_group<0>> : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @learned_centered(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{learned steps (LSQ) require the signed grid, got centered}}
  %0 = qat.fake_quant %x, %s as <centered, 4 bits, learned, per_row> with ste : tensor<4x8xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @unknown_granularity(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{expected granularity per_tensor, per_row or per_group<G>, got 'per_col'}}
  %0 = qat.scale %x as <signed, 4 bits, absmax, per_col> : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @unknown_grid(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{expected a quantization grid (centered, signed, e4m3, e5m2, e2m1), got 'unsigned'}}
  %0 = qat.scale %x as <unsigned, 4 bits, absmax, per_row> : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

// A qat attribute that is not a grid: the grid is an attribute interface.
func.func @estimator_as_grid(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{expected a quantization grid (centered, signed, e4m3, e5m2, e2m1), got 'ste'}}
  %0 = qat.scale %x as <ste, 4 bits, absmax, per_row> : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @grid_as_scale_method(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{expected a scale method (rms_gaussian, absmax, mx, nvfp4, learned), got 'centered'}}
  %0 = qat.scale %x as <signed, 4 bits, centered, per_row> : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @unknown_scale_method(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{expected a scale method (rms_gaussian, absmax, mx, nvfp4, learned), got 'minmax'}}
  %0 = qat.scale %x as <signed, 4 bits, minmax, per_row> : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

//===----------------------------------------------------------------------===//
// Gradient estimators
//===----------------------------------------------------------------------===//

func.func @clip_factor_zero(%dy: tensor<4x8xf32>, %x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{clip factor must be positive and finite, got 0}}
  %0 = qat.fake_quant_grad %dy, %x, %s as <centered, 4 bits, rms_gaussian, per_row> with clip<0.0> : tensor<4x8xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @trust_negative(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{trust factor must be positive and finite, got -1}}
  %0 = qat.fake_quant %x, %s as <centered, 4 bits, rms_gaussian, per_row> with trust<-1.0> : tensor<4x8xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @fourier_unbounded(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{fourier amplitudes give sqrt(2)*pi*sum|a_k| = 1.1107, which must be < 1 for a bounded gradient}}
  %0 = qat.fake_quant %x, %s as <signed, 4 bits, learned, per_row> with fourier<[0.2, -0.05]> : tensor<4x8xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @fourier_empty(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{the fourier estimator needs at least one amplitude}}
  %0 = qat.fake_quant %x, %s as <signed, 4 bits, learned, per_row> with fourier<[]> : tensor<4x8xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @fourier_centered(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'qat.fake_quant' op the fourier estimator is defined on the signed grid, got centered}}
  %0 = qat.fake_quant %x, %s as <centered, 4 bits, rms_gaussian, per_row> with fourier : tensor<4x8xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @not_an_estimator(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expected a gradient estimator (ste, clip, trust or fourier), got #qat.quantizer<signed, 4 bits, learned, per_row>}}
  %0 = qat.fake_quant %x, %s as <signed, 4 bits, learned, per_row> with quantizer<signed, 4 bits, learned, per_row> : tensor<4x8xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @unknown_estimator(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expected a gradient estimator (ste, clip, trust or fourier), got 'stoch'}}
  %0 = qat.fake_quant %x, %s as <signed, 4 bits, learned, per_row> with stoch : tensor<4x8xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

//===----------------------------------------------------------------------===//
// qat.hadamard
//===----------------------------------------------------------------------===//

func.func @hadamard_block_zero(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'qat.hadamard' op block size must be positive, got 0}}
  %0 = qat.hadamard %x block 0 : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @hadamard_block_not_power_of_two(%x: tensor<4x300xf32>) -> tensor<4x300xf32> {
  // expected-error @+1 {{'qat.hadamard' op block size 100 is not a power of two}}
  %0 = qat.hadamard %x block 100 : tensor<4x300xf32>
  return %0 : tensor<4x300xf32>
}

// -----

func.func @hadamard_block_not_dividing(%x: tensor<4x96xf32>) -> tensor<4x96xf32> {
  // expected-error @+1 {{'qat.hadamard' op block size 64 does not divide the last dimension 96}}
  %0 = qat.hadamard %x block 64 : tensor<4x96xf32>
  return %0 : tensor<4x96xf32>
}

// -----

func.func @hadamard_rank_zero(%x: tensor<f32>) -> tensor<f32> {
  // expected-error @+1 {{'qat.hadamard' op expects an input of rank >= 1, got 'tensor<f32>'}}
  %0 = qat.hadamard %x block 1 : tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @hadamard_dynamic(%x: tensor<4x?xf32>) -> tensor<4x?xf32> {
  // expected-error @+1 {{'qat.hadamard' op expects a static last dimension, got 'tensor<4x?xf32>'}}
  %0 = qat.hadamard %x block 2 : tensor<4x?xf32>
  return %0 : tensor<4x?xf32>
}

// -----

func.func @hadamard_integer(%x: tensor<4x8xi8>) -> tensor<4x8xi8> {
  // expected-error @+1 {{'qat.hadamard' op operand #0 must be ranked tensor of floating-point values, but got 'tensor<4x8xi8>'}}
  %0 = qat.hadamard %x block 8 : tensor<4x8xi8>
  return %0 : tensor<4x8xi8>
}

// -----

func.func @hadamard_type_mismatch(%x: tensor<4x8xf32>) -> tensor<4x8xf16> {
  // expected-error @+1 {{'qat.hadamard' op failed to verify that all of {input, result} have same type}}
  %0 = "qat.hadamard"(%x) <{block = 8 : i64}> : (tensor<4x8xf32>) -> tensor<4x8xf16>
  return %0 : tensor<4x8xf16>
}

// -----

//===----------------------------------------------------------------------===//
// qat.scale
//===----------------------------------------------------------------------===//

func.func @scale_learned(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{'qat.scale' op learned steps are parameters passed as operands; qat.scale computes rms_gaussian or absmax steps}}
  %0 = qat.scale %x as <signed, 4 bits, learned, per_row> : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @scale_dynamic_row_length(%x: tensor<4x?xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{'qat.scale' op expects a static last dimension for the input, got 'tensor<4x?xf32>'}}
  %0 = qat.scale %x as <signed, 4 bits, absmax, per_row> : tensor<4x?xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @scale_dynamic_rows_mismatch(%x: tensor<?x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{'qat.scale' op expects result of shape ?x1 for per_row quantization of a ?x8 input, got 4x1}}
  %0 = qat.scale %x as <signed, 4 bits, absmax, per_row> : tensor<?x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @scale_rank_zero(%x: tensor<f32>) -> tensor<f32> {
  // expected-error @+1 {{'qat.scale' op expects input of rank >= 1, got 'tensor<f32>'}}
  %0 = qat.scale %x as <signed, 4 bits, absmax, per_tensor> : tensor<f32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @scale_group_not_dividing(%x: tensor<4x128xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{'qat.scale' op group size 48 does not divide the last dimension 128}}
  %0 = qat.scale %x as <signed, 4 bits, absmax, per_group<48>> : tensor<4x128xf32> -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

func.func @scale_wrong_shape_row(%x: tensor<4x256xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{'qat.scale' op expects result of shape 4x1 for per_row quantization of a 4x256 input, got 4x2}}
  %0 = qat.scale %x as <centered, 4 bits, rms_gaussian, per_row> : tensor<4x256xf32> -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

func.func @scale_wrong_shape_group(%x: tensor<4x256xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{'qat.scale' op expects result of shape 4x4 for per_group<64> quantization of a 4x256 input, got 4x1}}
  %0 = qat.scale %x as <centered, 4 bits, rms_gaussian, per_group<64>> : tensor<4x256xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @scale_wrong_rank_tensor(%x: tensor<4x256xf32>) -> tensor<1xf32> {
  // expected-error @+1 {{'qat.scale' op expects result of shape 1x1 for per_tensor quantization of a 4x256 input, got 1}}
  %0 = qat.scale %x as <centered, 4 bits, rms_gaussian, per_tensor> : tensor<4x256xf32> -> tensor<1xf32>
  return %0 : tensor<1xf32>
}

// -----

func.func @scale_integer_result(%x: tensor<4x256xf32>) -> tensor<4x1xi32> {
  // expected-error @+1 {{'qat.scale' op result #0 must be ranked tensor of floating-point values, but got 'tensor<4x1xi32>'}}
  %0 = qat.scale %x as <centered, 4 bits, rms_gaussian, per_row> : tensor<4x256xf32> -> tensor<4x1xi32>
  return %0 : tensor<4x1xi32>
}

// -----

//===----------------------------------------------------------------------===//
// qat.rms
//===----------------------------------------------------------------------===//

func.func @rms_bf16_result(%x: tensor<4x256xbf16>) -> tensor<4x1xbf16> {
  // expected-error @+1 {{'qat.rms' op expects the result in f32 (the deviation the trust estimator compares against, unrounded), got 'tensor<4x1xbf16>'}}
  %0 = qat.rms %x as <centered, 4 bits, rms_gaussian, per_row> : tensor<4x256xbf16> -> tensor<4x1xbf16>
  return %0 : tensor<4x1xbf16>
}

// -----

func.func @rms_shape(%x: tensor<4x256xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{'qat.rms' op expects result of shape 4x8 for per_group<32> quantization of a 4x256 input, got 4x1}}
  %0 = qat.rms %x as <centered, 4 bits, rms_gaussian, per_group<32>> : tensor<4x256xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @rms_per_tensor_rank(%x: tensor<2x3x8xf32>) -> tensor<1x1xf32> {
  // expected-error @+1 {{'qat.rms' op expects result of shape 1x1x1 for per_tensor quantization of a 2x3x8 input, got 1x1}}
  %0 = qat.rms %x as <signed, 4 bits, absmax, per_tensor> : tensor<2x3x8xf32> -> tensor<1x1xf32>
  return %0 : tensor<1x1xf32>
}

// -----

func.func @rms_group_size(%x: tensor<4x100xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{'qat.rms' op group size 32 does not divide the last dimension 100}}
  %0 = qat.rms %x as <signed, 4 bits, absmax, per_group<32>> : tensor<4x100xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

//===----------------------------------------------------------------------===//
// qat.quantize / qat.dequantize
//===----------------------------------------------------------------------===//

func.func @quantize_narrow_codes(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xi2> {
  // expected-error @+1 {{'qat.quantize' op code type 'i2' is too narrow for 4-bit centered codes (needs at least i4)}}
  %0 = qat.quantize %x, %s as <centered, 4 bits, rms_gaussian, per_row> : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xi2>
  return %0 : tensor<4x8xi2>
}

// -----

func.func @quantize_one_bit_signed_needs_two(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xi1> {
  // expected-error @+1 {{'qat.quantize' op code type 'i1' is too narrow for 1-bit signed codes (needs at least i2)}}
  %0 = qat.quantize %x, %s as <signed, 1 bits, absmax, per_row> : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xi1>
  return %0 : tensor<4x8xi1>
}

// -----

func.func @quantize_packed_too_many_bits(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x4xi8> {
  // expected-error @+1 {{'qat.quantize' op packed codes hold at most 4 bits, the quantizer needs 8}}
  %0 = qat.quantize %x, %s as <signed, 8 bits, absmax, per_row> packed : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x4xi8>
  return %0 : tensor<4x4xi8>
}

// -----

func.func @quantize_packed_not_i8(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x4xi16> {
  // expected-error @+1 {{'qat.quantize' op packed codes are stored in i8, got 'i16'}}
  %0 = qat.quantize %x, %s as <signed, 4 bits, absmax, per_row> packed : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x4xi16>
  return %0 : tensor<4x4xi16>
}

// -----

func.func @quantize_packed_odd(%x: tensor<4x7xf32>, %s: tensor<4x1xf32>) -> tensor<4x3xi8> {
  // expected-error @+1 {{'qat.quantize' op packed codes need an even last dimension, got 7}}
  %0 = qat.quantize %x, %s as <signed, 4 bits, absmax, per_row> packed : tensor<4x7xf32>, tensor<4x1xf32> -> tensor<4x3xi8>
  return %0 : tensor<4x3xi8>
}

// -----

func.func @quantize_packed_shape(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xi8> {
  // expected-error @+1 {{'qat.quantize' op expects packed codes of shape 4x4 for values of shape 4x8, got 4x8}}
  %0 = qat.quantize %x, %s as <signed, 4 bits, absmax, per_row> packed : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xi8>
  return %0 : tensor<4x8xi8>
}

// -----

func.func @quantize_shape(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x4xi8> {
  // expected-error @+1 {{'qat.quantize' op expects codes of shape 4x8 for values of shape 4x8, got 4x4}}
  %0 = qat.quantize %x, %s as <signed, 4 bits, absmax, per_row> : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x4xi8>
  return %0 : tensor<4x4xi8>
}

// -----

func.func @quantize_scale_shape(%x: tensor<4x8xf32>, %s: tensor<1x1xf32>) -> tensor<4x8xi8> {
  // expected-error @+1 {{'qat.quantize' op expects scale of shape 4x1 for per_row quantization of a 4x8 input, got 1x1}}
  %0 = qat.quantize %x, %s as <signed, 4 bits, absmax, per_row> : tensor<4x8xf32>, tensor<1x1xf32> -> tensor<4x8xi8>
  return %0 : tensor<4x8xi8>
}

// -----

func.func @quantize_float_codes(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'qat.quantize' op result #0 must be ranked tensor of signless integer values, but got 'tensor<4x8xf32>'}}
  %0 = qat.quantize %x, %s as <signed, 4 bits, absmax, per_row> : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @dequantize_narrow_codes(%q: tensor<4x8xi4>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'qat.dequantize' op code type 'i4' is too narrow for 8-bit signed codes (needs at least i8)}}
  %0 = qat.dequantize %q, %s as <signed, 8 bits, absmax, per_row> : tensor<4x8xi4>, tensor<4x1xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @dequantize_packed_shape(%q: tensor<4x8xi8>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'qat.dequantize' op expects packed codes of shape 4x4 for values of shape 4x8, got 4x8}}
  %0 = qat.dequantize %q, %s as <signed, 4 bits, absmax, per_row> packed : tensor<4x8xi8>, tensor<4x1xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @dequantize_scale_shape(%q: tensor<4x8xi8>, %s: tensor<4x2xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'qat.dequantize' op expects scale of shape 4x1 for per_row quantization of a 4x8 input, got 4x2}}
  %0 = qat.dequantize %q, %s as <signed, 4 bits, absmax, per_row> : tensor<4x8xi8>, tensor<4x2xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

//===----------------------------------------------------------------------===//
// qat.fake_quant / qat.fake_quant_grad
//===----------------------------------------------------------------------===//

func.func @fake_quant_scale_shape(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'qat.fake_quant' op expects scale of shape 4x2 for per_group<4> quantization of a 4x8 input, got 4x1}}
  %0 = qat.fake_quant %x, %s as <signed, 4 bits, learned, per_group<4>> with ste : tensor<4x8xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @fake_quant_type_mismatch(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xbf16> {
  // expected-error @+1 {{'qat.fake_quant' op failed to verify that all of {input, result} have same type}}
  %0 = "qat.fake_quant"(%x, %s) <{estimator = #qat.ste, quantizer = #qat.quantizer<signed, 4 bits, learned, per_row>}> : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xbf16>
  return %0 : tensor<4x8xbf16>
}

// -----

func.func @fake_quant_estimator_not_an_estimator(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{Invalid attribute `estimator` in property conversion: 1 : i32}}
  %0 = "qat.fake_quant"(%x, %s) <{estimator = 1 : i32, quantizer = #qat.quantizer<signed, 4 bits, learned, per_row>}> : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @fake_quant_grad_learned_without_ds(%dy: tensor<4x8xf32>, %x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'qat.fake_quant_grad' op learned steps need a second result, the step gradient ds}}
  %0 = qat.fake_quant_grad %dy, %x, %s as <signed, 4 bits, learned, per_row> with fourier : tensor<4x8xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @fake_quant_grad_ds_not_learned(%dy: tensor<4x8xf32>, %x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'qat.fake_quant_grad' op only learned steps have a gradient; a rms_gaussian step is a constant of the backward}}
  %0, %1 = qat.fake_quant_grad %dy, %x, %s as <centered, 4 bits, rms_gaussian, per_row> with trust : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @fake_quant_grad_ds_type(%dy: tensor<4x8xf32>, %x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'qat.fake_quant_grad' op expects the step gradient to have the step's type 'tensor<4x1xf32>', got 'tensor<4x1xbf16>'}}
  %0, %1 = qat.fake_quant_grad %dy, %x, %s as <signed, 4 bits, learned, per_row> with fourier : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x1xbf16>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @fake_quant_grad_fourier_centered(%dy: tensor<4x8xf32>, %x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'qat.fake_quant_grad' op the fourier estimator is defined on the signed grid, got centered}}
  %0 = qat.fake_quant_grad %dy, %x, %s as <centered, 4 bits, absmax, per_row> with fourier : tensor<4x8xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @fake_quant_grad_dy_type(%dy: tensor<4x8xbf16>, %x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'qat.fake_quant_grad' op failed to verify that all of {grad, input, inputGrad} have same type}}
  %0 = "qat.fake_quant_grad"(%dy, %x, %s) <{estimator = #qat.ste, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0>, quantizer = #qat.quantizer<signed, 4 bits, absmax, per_row>}> : (tensor<4x8xbf16>, tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @fake_quant_grad_std_not_trust(%dy: tensor<4x8xf32>, %x: tensor<4x8xf32>, %s: tensor<4x1xf32>, %std: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'qat.fake_quant_grad' op a 'std' operand is the deviation that the trust estimator reads; the estimator here is #qat.clip}}
  %0 = qat.fake_quant_grad %dy, %x, %s std %std as <centered, 4 bits, rms_gaussian, per_row> with clip : tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @fake_quant_grad_std_ste(%dy: tensor<4x8xf32>, %x: tensor<4x8xf32>, %s: tensor<4x1xf32>, %std: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'qat.fake_quant_grad' op a 'std' operand is the deviation that the trust estimator reads; the estimator here is #qat.ste}}
  %0 = qat.fake_quant_grad %dy, %x, %s std %std as <centered, 4 bits, rms_gaussian, per_row> with ste : tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @fake_quant_grad_std_shape(%dy: tensor<4x8xf32>, %x: tensor<4x8xf32>, %s: tensor<4x2xf32>, %std: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'qat.fake_quant_grad' op expects 'std' of shape 4x2 for per_group<4> quantization of a 4x8 input, got 4x1}}
  %0 = qat.fake_quant_grad %dy, %x, %s std %std as <centered, 4 bits, rms_gaussian, per_group<4>> with trust : tensor<4x8xf32>, tensor<4x2xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @fake_quant_grad_std_bf16(%dy: tensor<4x8xbf16>, %x: tensor<4x8xbf16>, %s: tensor<4x1xf32>, %std: tensor<4x1xbf16>) -> tensor<4x8xbf16> {
  // expected-error @+1 {{'qat.fake_quant_grad' op expects 'std' in f32 (the deviation the trust estimator compares against, unrounded), got 'tensor<4x1xbf16>'}}
  %0 = qat.fake_quant_grad %dy, %x, %s std %std as <centered, 4 bits, rms_gaussian, per_row> with trust : tensor<4x8xbf16>, tensor<4x1xf32>, tensor<4x1xbf16>
  return %0 : tensor<4x8xbf16>
}

// -----

//===----------------------------------------------------------------------===//
// qat.matmul
//===----------------------------------------------------------------------===//

func.func @matmul_rank(%a: tensor<2x4x8xi8>, %b: tensor<4x8xi8>, %sa: tensor<4x1xf32>, %sb: tensor<4x1xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{'qat.matmul' op expects a 2-D lhs with a static second dimension, got 'tensor<2x4x8xi8>'}}
  %0 = qat.matmul %a, %b, %sa, %sb as <signed, 8 bits, absmax, per_row>, <signed, 8 bits, absmax, per_row> : tensor<2x4x8xi8>, tensor<4x8xi8>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @matmul_result_type(%a: tensor<4x8xi8>, %b: tensor<4x8xi8>, %sa: tensor<4x1xf32>, %sb: tensor<4x1xf32>) -> tensor<4x4xf64> {
  // expected-error @+1 {{'qat.matmul' op expects an f32, bf16 or f16 result, got 'f64'}}
  %0 = qat.matmul %a, %b, %sa, %sb as <signed, 8 bits, absmax, per_row>, <signed, 8 bits, absmax, per_row> : tensor<4x8xi8>, tensor<4x8xi8>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<4x4xf64>
  return %0 : tensor<4x4xf64>
}

// -----

func.func @matmul_contraction(%a: tensor<4x8xi8>, %b: tensor<6x16xi8>, %sa: tensor<4x1xf32>, %sb: tensor<6x1xf32>) -> tensor<4x6xf32> {
  // expected-error @+1 {{'qat.matmul' op expects lhs and rhs to share the contraction dimension (B is N x K), got 4x8 and 6x16}}
  %0 = qat.matmul %a, %b, %sa, %sb as <signed, 8 bits, absmax, per_row>, <signed, 8 bits, absmax, per_row> : tensor<4x8xi8>, tensor<6x16xi8>, tensor<4x1xf32>, tensor<6x1xf32> -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

func.func @matmul_result_shape(%a: tensor<4x8xi8>, %b: tensor<6x8xi8>, %sa: tensor<4x1xf32>, %sb: tensor<6x1xf32>) -> tensor<6x4xf32> {
  // expected-error @+1 {{'qat.matmul' op expects result of shape 4x6, got 6x4}}
  %0 = qat.matmul %a, %b, %sa, %sb as <signed, 8 bits, absmax, per_row>, <signed, 8 bits, absmax, per_row> : tensor<4x8xi8>, tensor<6x8xi8>, tensor<4x1xf32>, tensor<6x1xf32> -> tensor<6x4xf32>
  return %0 : tensor<6x4xf32>
}

// -----

func.func @matmul_group_scales(%a: tensor<4x8xi8>, %b: tensor<6x8xi8>, %sa: tensor<4x2xf32>, %sb: tensor<6x1xf32>) -> tensor<4x6xf32> {
  // expected-error @+1 {{'qat.matmul' op takes per_tensor or per_row scales, got per_group for the lhs}}
  %0 = qat.matmul %a, %b, %sa, %sb as <signed, 8 bits, absmax, per_group<4>>, <signed, 8 bits, absmax, per_row> : tensor<4x8xi8>, tensor<6x8xi8>, tensor<4x2xf32>, tensor<6x1xf32> -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

func.func @matmul_scale_shape(%a: tensor<4x8xi8>, %b: tensor<6x8xi8>, %sa: tensor<4x1xf32>, %sb: tensor<4x1xf32>) -> tensor<4x6xf32> {
  // expected-error @+1 {{'qat.matmul' op expects rhs scale of shape 6x1 for per_row quantization of a 6x8 input, got 4x1}}
  %0 = qat.matmul %a, %b, %sa, %sb as <signed, 8 bits, absmax, per_row>, <signed, 8 bits, absmax, per_row> : tensor<4x8xi8>, tensor<6x8xi8>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

func.func @matmul_narrow_codes(%a: tensor<4x8xi4>, %b: tensor<6x8xi4>, %sa: tensor<4x1xf32>, %sb: tensor<6x1xf32>) -> tensor<4x6xf32> {
  // expected-error @+1 {{'qat.matmul' op code type 'i4' is too narrow for 8-bit signed codes (needs at least i8)}}
  %0 = qat.matmul %a, %b, %sa, %sb as <signed, 8 bits, absmax, per_row>, <signed, 4 bits, absmax, per_row> : tensor<4x8xi4>, tensor<6x8xi4>, tensor<4x1xf32>, tensor<6x1xf32> -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

func.func @matmul_packed_bits(%a: tensor<4x4xi8>, %b: tensor<6x4xi8>, %sa: tensor<4x1xf32>, %sb: tensor<6x1xf32>) -> tensor<4x6xf32> {
  // expected-error @+1 {{'qat.matmul' op packed codes hold at most 4 bits, the quantizer needs 8}}
  %0 = qat.matmul %a, %b, %sa, %sb as <signed, 4 bits, absmax, per_row>, <signed, 8 bits, absmax, per_row> packed : tensor<4x4xi8>, tensor<6x4xi8>, tensor<4x1xf32>, tensor<6x1xf32> -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

func.func @matmul_overflow(%a: tensor<4x40000xi8>, %b: tensor<6x40000xi8>, %sa: tensor<4x1xf32>, %sb: tensor<6x1xf32>) -> tensor<4x6xf32> {
  // expected-error @+1 {{'qat.matmul' op contraction size 40000 can overflow the int32 accumulator (at most 33025 for these bit widths)}}
  %0 = qat.matmul %a, %b, %sa, %sb as <centered, 8 bits, rms_gaussian, per_row>, <centered, 8 bits, rms_gaussian, per_row> : tensor<4x40000xi8>, tensor<6x40000xi8>, tensor<4x1xf32>, tensor<6x1xf32> -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

func.func @matmul_dynamic_n(%a: tensor<?x8xi8>, %b: tensor<?x8xi8>, %sa: tensor<?x1xf32>, %sb: tensor<?x1xf32>) -> tensor<?x4xf32> {
  // expected-error @+1 {{'qat.matmul' op expects a static number of rhs rows (N), got 'tensor<?x8xi8>'}}
  %0 = qat.matmul %a, %b, %sa, %sb as <signed, 8 bits, absmax, per_row>, <signed, 8 bits, absmax, per_row> : tensor<?x8xi8>, tensor<?x8xi8>, tensor<?x1xf32>, tensor<?x1xf32> -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
