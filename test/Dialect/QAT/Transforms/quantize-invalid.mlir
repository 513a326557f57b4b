// RUN: qat-opt %s --split-input-file --verify-diagnostics --qat-quantize
// RUN: not qat-opt %s --split-input-file --qat-quantize="recipe=lsq" 2>&1 | FileCheck %s --check-prefix=RECIPE
// RUN: not qat-opt %s --split-input-file --qat-quantize="recipe=stableqat bits=5" 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: not qat-opt %s --split-input-file --qat-quantize="recipe=stableqat amplitudes=0.3" 2>&1 | FileCheck %s --check-prefix=AMPS
// RUN: not qat-opt %s --split-input-file --qat-quantize="recipe=ste granularity=per_channel" 2>&1 | FileCheck %s --check-prefix=GRAN
// RUN: not qat-opt %s --split-input-file --qat-quantize="recipe=quest block=0" 2>&1 | FileCheck %s --check-prefix=BLOCK
// RUN: not qat-opt %s --split-input-file --qat-quantize="recipe=quest amplitudes=0.1" 2>&1 | FileCheck %s --check-prefix=OTHER
// RUN: not qat-opt %s --split-input-file --qat-quantize="recipe=none bits=4" 2>&1 | FileCheck %s --check-prefix=NONE
// RUN: not qat-opt %s --split-input-file --qat-quantize="recipe=ste format=fp8" 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: not qat-opt %s --split-input-file --qat-quantize="recipe=ste format=e4m3 bits=4" 2>&1 | FileCheck %s --check-prefix=FBITS
// RUN: not qat-opt %s --split-input-file --qat-quantize="recipe=ste scale=mx" 2>&1 | FileCheck %s --check-prefix=MXINT
// RUN: not qat-opt %s --split-input-file --qat-quantize="recipe=quest format=e4m3" 2>&1 | FileCheck %s --check-prefix=QFORMAT

// RECIPE: error: qat-quantize: unknown recipe 'lsq'; expected quest, stableqat, ste, clip or none
// BITS: quantize-invalid.mlir:{{.*}}: error: qat-quantize: recipe=stableqat (options bits, amplitudes): stableqat bits must be in [1, 4], got 5
// AMPS: error: qat-quantize: recipe=stableqat (options bits, amplitudes): fourier amplitudes give sqrt(2)*pi*sum|a_k| = 1.3329, which must be < 1 for a bounded gradient
// GRAN: error: qat-quantize: granularity must be per_tensor, per_row or per_group, got 'per_channel'
// BLOCK: error: qat-quantize: recipe=quest (options bits, block): quest Hadamard block must be a positive power of two, got 0
// OTHER: error: qat-quantize: option 'amplitudes' does not apply to recipe=quest (it reads bits, block)
// NONE: error: qat-quantize: option 'bits' does not apply to recipe=none (it reads no other option)
// FORMAT: error: qat-quantize: format must be int, e4m3, e5m2 or e2m1, got 'fp8'
// FBITS: error: qat-quantize: recipe=ste (options {{.*}}): the e4m3 grid has 8-bit codes, got 4 bits
// MXINT: error: qat-quantize: recipe=ste (options {{.*}}): mx steps require a float element grid (e4m3, e5m2 or e2m1), got signed
// QFORMAT: error: qat-quantize: option 'format' does not apply to recipe=quest (it reads bits, block)

func.func @already_quantized(%x: tensor<4x16xf32>, %s: tensor<4x1xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{qat-quantize expects a float model without qat ops, found 'qat.fake_quant' in @already_quantized}}
  %y = qat.fake_quant %x, %s as <signed, 4 bits, learned, per_row> with ste
      : tensor<4x16xf32>, tensor<4x1xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @matvec(%w: tensor<8x16xf32> {qat.param}, %x: tensor<16xf32>,
                  %acc: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{qat-quantize cannot apply #qat.quest: 'linalg.matvec' is not a (batched) matrix product: expected one N, one K, and one M and at most one batch dimension or several M dimensions and no batch dimension, got 1 M, 0 N, 1 K and 0 batch (mark it qat.recipe = #qat.keep_float to leave it in float)}}
  %y = linalg.matvec ins(%w, %x : tensor<8x16xf32>, tensor<16xf32>)
      outs(%acc : tensor<8xf32>) -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

func.func @not_a_contraction(%a: tensor<4x16xf32>, %b: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %e = tensor.empty() : tensor<4x16xf32>
  // expected-error @+1 {{qat-quantize cannot apply #qat.quest: 'linalg.add' is not a contraction (two inputs, one init, a multiply-add body)}}
  %y = linalg.add ins(%a, %b : tensor<4x16xf32>, tensor<4x16xf32>)
      outs(%e : tensor<4x16xf32>) {qat.recipe = #qat.quest} -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

func.func @dynamic(%x: tensor<?x16xf32>, %w: tensor<16x8xf32> {qat.param},
                   %acc: tensor<?x8xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{qat-quantize cannot apply #qat.quest: 'linalg.matmul' has an operand of type tensor<?x16xf32>; statically shaped float tensors are supported}}
  %y = linalg.matmul ins(%x, %w : tensor<?x16xf32>, tensor<16x8xf32>)
      outs(%acc : tensor<?x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

func.func @odd_k(%x: tensor<4x15xf32>, %w: tensor<15x8xf32> {qat.param},
                 %acc: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{qat-quantize cannot apply #qat.quest: the contraction dimension K = 15 is odd, and QuEST's 4-bit codes are packed two per byte along K}}
  %y = linalg.matmul ins(%x, %w : tensor<4x15xf32>, tensor<15x8xf32>)
      outs(%acc : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @group_not_dividing(%x: tensor<4x48xf32>, %w: tensor<48x8xf32>,
                              %acc: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{qat-quantize cannot apply #qat.intn<estimator = #qat.ste, weights = #qat.quantizer<signed, 4 bits, absmax, per_group<32>>>: group size 32 does not divide the contraction dimension K = 48}}
  %y = linalg.matmul ins(%x, %w : tensor<4x48xf32>, tensor<48x8xf32>)
      outs(%acc : tensor<4x8xf32>)
      {qat.recipe = #qat.intn<estimator = #qat.ste, weights = #qat.quantizer<signed, 4 bits, absmax, per_group<32>>>}
      -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @weight_not_argument(%x: tensor<4x48xf32>, %w: tensor<48x8xf32>,
                            %acc: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %a = arith.addf %x, %x : tensor<4x48xf32>
  %b = arith.addf %w, %w : tensor<48x8xf32>
  // expected-error @+1 {{qat-quantize cannot apply #qat.stableqat: its weight operand #1 is not (a view of) a function argument, so no initial step can be computed from it}}
  %y = linalg.matmul ins(%a, %b : tensor<4x48xf32>, tensor<48x8xf32>)
      outs(%acc : tensor<4x8xf32>) {qat.recipe = #qat.stableqat} -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// expected-error @+1 {{qat-quantize would add @linear_init_steps, which exists already}}
func.func @linear(%x: tensor<4x16xf32>, %w: tensor<16x8xf32> {qat.param},
                  %acc: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = linalg.matmul ins(%x, %w : tensor<4x16xf32>, tensor<16x8xf32>)
      outs(%acc : tensor<4x8xf32>) {qat.recipe = #qat.stableqat} -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

func.func @linear_init_steps() {
  return
}

// -----

// expected-error @+1 {{qat-quantize would add learned-step arguments to @callee, which is called in this module; quantize the function before it is called, or give its contractions another recipe}}
func.func @callee(%x: tensor<4x16xf32>, %w: tensor<16x8xf32> {qat.param},
                  %acc: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = linalg.matmul ins(%x, %w : tensor<4x16xf32>, tensor<16x8xf32>)
      outs(%acc : tensor<4x8xf32>) {qat.recipe = #qat.stableqat} -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

func.func @caller(%x: tensor<4x16xf32>, %w: tensor<16x8xf32>,
                  %acc: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = func.call @callee(%x, %w, %acc)
      : (tensor<4x16xf32>, tensor<16x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A bias add on a parameter is skipped by the default recipe, but a recipe
// set on the op itself must apply, so it gets the diagnostic.
#map_rows = affine_map<(d0, d1) -> (d0, d1)>
#map_bias = affine_map<(d0, d1) -> (d1)>
func.func @explicit_recipe_on_bias(%y: tensor<4x16xf32>, %b: tensor<16xf32> {qat.param}) -> tensor<4x16xf32> {
  %e = tensor.empty() : tensor<4x16xf32>
  // expected-error @+1 {{qat-quantize cannot apply #qat.stableqat: 'linalg.generic' is not a contraction (two inputs, one init, a multiply-add body)}}
  %yb = linalg.generic {indexing_maps = [#map_rows, #map_bias, #map_rows],
                        iterator_types = ["parallel", "parallel"]}
      ins(%y, %b : tensor<4x16xf32>, tensor<16xf32>) outs(%e : tensor<4x16xf32>)
      attrs = {qat.recipe = #qat.stableqat} {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  return %yb : tensor<4x16xf32>
}
