// RUN: qat-opt %s --split-input-file --verify-diagnostics --allow-unregistered-dialect

// expected-error @+1 {{quest bits must be in [1, 8], got 9}}
"test.op"() {qat.recipe = #qat.quest<bits = 9>} : () -> ()

// -----

// expected-error @+1 {{quest Hadamard block must be a positive power of two, got 96}}
"test.op"() {qat.recipe = #qat.quest<block = 96>} : () -> ()

// -----

// expected-error @+1 {{stableqat bits must be in [1, 4], got 8}}
"test.op"() {qat.recipe = #qat.stableqat<bits = 8>} : () -> ()

// -----

// expected-error @+1 {{stableqat surrogate must be a #qat.fourier, got #qat.ste}}
"test.op"() {qat.recipe = #qat.stableqat<surrogate = #qat.ste>} : () -> ()

// -----

// expected-error @+1 {{intn estimator must be #qat.ste or #qat.clip, got #qat.trust}}
"test.op"() {qat.recipe = #qat.intn<estimator = #qat.trust, weights = #qat.quantizer<signed, 4 bits, absmax, per_row>>} : () -> ()

// -----

// expected-error @+1 {{intn weights steps come from the data (absmax, rms_gaussian, mx or nvfp4), got learned}}
"test.op"() {qat.recipe = #qat.intn<estimator = #qat.ste, weights = #qat.quantizer<signed, 4 bits, learned, per_row>>} : () -> ()

// -----

// expected-error @+1 {{intn activations must be a #qat.quantizer, got 4 : i64}}
"test.op"() {qat.recipe = #qat.intn<estimator = #qat.ste, weights = #qat.quantizer<signed, 4 bits, absmax, per_row>, activations = 4>} : () -> ()

// -----

// expected-error @+1 {{'qat.recipe' must be a recipe (#qat.quest, #qat.stableqat, #qat.intn or #qat.keep_float), got #qat.ste}}
"test.op"() {qat.recipe = #qat.ste} : () -> ()

// -----

// expected-error @+1 {{'qat.estimator' belongs on a qat.quantize, not on 'test.op'}}
"test.op"() {qat.estimator = #qat.trust} : () -> ()

// -----

func.func @estimator_not_for_grid(%x: tensor<4x16xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xi8> {
  // expected-error @+1 {{the fourier estimator is defined on the signed grid, got centered}}
  %q = qat.quantize %x, %s as <centered, 4 bits, rms_gaussian, per_row> packed {qat.estimator = #qat.fourier}
      : tensor<4x16xf32>, tensor<4x1xf32> -> tensor<4x8xi8>
  return %q : tensor<4x8xi8>
}

// -----

func.func @estimator_not_estimator(%x: tensor<4x16xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xi8> {
  // expected-error @+1 {{'qat.estimator' must be a gradient estimator, got #qat.quest}}
  %q = qat.quantize %x, %s as <centered, 4 bits, rms_gaussian, per_row> packed {qat.estimator = #qat.quest}
      : tensor<4x16xf32>, tensor<4x1xf32> -> tensor<4x8xi8>
  return %q : tensor<4x8xi8>
}

// -----

// expected-error @+1 {{'qat.param' is a function argument attribute, not an operation attribute}}
"test.op"() {qat.param} : () -> ()

// -----

// expected-error @+1 {{'qat.param' marks argument #0, which must be a ranked tensor or memref of floats, got 'i32'}}
func.func @param_not_tensor(%x: i32 {qat.param}) {
  return
}

// -----

// expected-error @+1 {{'qat.step' is a unit attribute, got 1 : i64}}
func.func @step_not_unit(%x: tensor<4x1xf32> {qat.step = 1}) {
  return
}

// -----

// expected-error @+1 {{'qat.codes' marks argument #0, which must be a ranked tensor or memref of integers, got 'tensor<4x8xf32>'}}
func.func @codes_not_integer(%x: tensor<4x8xf32> {qat.codes}) {
  return
}
