// RUN: qat-opt %s --split-input-file --verify-diagnostics --qat-convert
// RUN: not qat-opt %s --split-input-file --qat-convert=function=missing 2>&1 | FileCheck %s --check-prefix=MISSING

// MISSING: error: qat-convert: no function @missing in the module

// expected-error @+1 {{qat-convert: @float_model quantizes no weight (no qat.quantize or qat.fake_quant of a value computed from qat.param arguments); run qat-quantize first}}
func.func @float_model(%x: tensor<4x16xf32>, %w: tensor<16x8xf32> {qat.param},
                       %acc: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = linalg.matmul ins(%x, %w : tensor<4x16xf32>, tensor<16x8xf32>)
      outs(%acc : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// expected-error @+1 {{qat-convert would add @layer_pack, which exists already}}
func.func @layer(%w: tensor<4x16xf32> {qat.param}, %s: tensor<4x1xf32> {qat.step}) -> tensor<4x16xf32> {
  %y = qat.fake_quant %w, %s as <signed, 4 bits, learned, per_row> with fourier
      : tensor<4x16xf32>, tensor<4x1xf32>
  return %y : tensor<4x16xf32>
}

func.func @layer_pack() {
  return
}
