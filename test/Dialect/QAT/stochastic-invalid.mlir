// RUN: qat-opt %s --split-input-file --verify-diagnostics

// What stochastic rounding rejects, each with a diagnostic naming it.

func.func @missing_seed(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xi8> {
  // expected-error @+1 {{a stochastic quantizer needs a 'seed' operand (i64) to draw its rounding from}}
  %q = qat.quantize %x, %s as <signed, 4 bits, absmax, per_row, stochastic> : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xi8>
  return %q : tensor<4x8xi8>
}

// -----

func.func @seed_without_stochastic(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>, %seed: i64) -> tensor<4x8xf32> {
  // expected-error @+1 {{a 'seed' operand is only meaningful for a stochastic quantizer; this one rounds to nearest}}
  %f = qat.fake_quant %x, %s as <signed, 4 bits, absmax, per_row> seed %seed with ste : tensor<4x8xf32>, tensor<4x1xf32>
  return %f : tensor<4x8xf32>
}

// -----

// expected-note @+1 {{prior use here}}
func.func @seed_not_i64(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>, %seed: i32) -> tensor<4x8xi8> {
  // expected-error @+1 {{use of value '%seed' expects different type than prior uses: 'i64' vs 'i32'}}
  %q = qat.quantize %x, %s as <signed, 4 bits, absmax, per_row, stochastic> seed %seed : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xi8>
  return %q : tensor<4x8xi8>
}

// -----

func.func @fourier(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>, %seed: i64) -> tensor<4x8xf32> {
  // expected-error @+1 {{the fourier estimator models rounding to nearest (its surrogate follows round(v)); a stochastic quantizer takes ste, clip or trust}}
  %f = qat.fake_quant %x, %s as <signed, 4 bits, absmax, per_row, stochastic> seed %seed with fourier : tensor<4x8xf32>, tensor<4x1xf32>
  return %f : tensor<4x8xf32>
}

// -----

func.func @fourier_grad(%dy: tensor<4x8xf32>, %x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{the fourier estimator models rounding to nearest}}
  %dx = qat.fake_quant_grad %dy, %x, %s as <signed, 4 bits, absmax, per_row, stochastic> with fourier : tensor<4x8xf32>, tensor<4x1xf32>
  return %dx : tensor<4x8xf32>
}

// -----

func.func @trust_grad_without_seed(%dy: tensor<4x8xf32>, %x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{reads the stochastic rounding of the forward (trust's xq or the LSQ term's round(v)): it needs the forward's 'seed' to draw it again}}
  %dx = qat.fake_quant_grad %dy, %x, %s as <centered, 4 bits, rms_gaussian, per_row, stochastic> with trust : tensor<4x8xf32>, tensor<4x1xf32>
  return %dx : tensor<4x8xf32>
}

// -----

func.func @learned_grad_without_seed(%dy: tensor<4x8xf32>, %x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>) {
  // expected-error @+1 {{it needs the forward's 'seed' to draw it again}}
  %dx, %ds = qat.fake_quant_grad %dy, %x, %s as <signed, 4 bits, learned, per_row, stochastic> with ste : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x1xf32>
  return %dx, %ds : tensor<4x8xf32>, tensor<4x1xf32>
}

// -----

func.func @grad_seed_without_stochastic(%dy: tensor<4x8xf32>, %x: tensor<4x8xf32>, %s: tensor<4x1xf32>, %seed: i64) -> tensor<4x8xf32> {
  // expected-error @+1 {{a 'seed' operand is only meaningful for a stochastic quantizer}}
  %dx = qat.fake_quant_grad %dy, %x, %s as <centered, 4 bits, rms_gaussian, per_row> seed %seed with trust : tensor<4x8xf32>, tensor<4x1xf32>
  return %dx : tensor<4x8xf32>
}

// -----

func.func @unknown_rounding(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{expected rounding nearest or stochastic, got 'random'}}
  %s = qat.scale %x as <signed, 4 bits, absmax, per_row, random> : tensor<4x8xf32> -> tensor<4x1xf32>
  return %s : tensor<4x1xf32>
}

// -----

func.func @inverse_without_signs(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'inverse' is only meaningful with 'signs': a block Hadamard rotation is its own inverse}}
  %h = qat.hadamard %x block 8 inverse : tensor<4x8xf32>
  return %h : tensor<4x8xf32>
}
