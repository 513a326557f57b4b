// RUN: qat-opt %s --split-input-file | qat-opt --split-input-file | FileCheck %s

// Stochastic rounding: `stochastic` after the granularity, and a `seed`
// (i64) on each op that rounds with such a quantizer; the scale and the
// dequantize take none. Parse, verify and print back.

// CHECK-LABEL: func.func @stochastic
func.func @stochastic(%x: tensor<4x64xf32>, %seed: i64) -> (tensor<4x32xi8>, tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xi8>) {
  // CHECK: qat.scale %{{.*}} as <e2m1, 4 bits, nvfp4, per_group<16>, stochastic> :
  %s = qat.scale %x as <e2m1, 4 bits, nvfp4, per_group<16>, stochastic> : tensor<4x64xf32> -> tensor<4x4xf32>
  // CHECK: qat.quantize %{{.*}}, %{{.*}} as <e2m1, 4 bits, nvfp4, per_group<16>, stochastic> packed seed %{{.*}} :
  %q = qat.quantize %x, %s as <e2m1, 4 bits, nvfp4, per_group<16>, stochastic> packed seed %seed : tensor<4x64xf32>, tensor<4x4xf32> -> tensor<4x32xi8>
  // CHECK: qat.dequantize %{{.*}}, %{{.*}} as <e2m1, 4 bits, nvfp4, per_group<16>, stochastic> packed :
  %d = qat.dequantize %q, %s as <e2m1, 4 bits, nvfp4, per_group<16>, stochastic> packed : tensor<4x32xi8>, tensor<4x4xf32> -> tensor<4x64xf32>
  // CHECK: qat.fake_quant %{{.*}}, %{{.*}} as <centered, 4 bits, rms_gaussian, per_row, stochastic> seed %{{.*}} with clip :
  %t = qat.scale %x as <centered, 4 bits, rms_gaussian, per_row, stochastic> : tensor<4x64xf32> -> tensor<4x1xf32>
  %f = qat.fake_quant %x, %t as <centered, 4 bits, rms_gaussian, per_row, stochastic> seed %seed with clip : tensor<4x64xf32>, tensor<4x1xf32>
  // `nearest` is the default and prints as nothing.
  // CHECK: qat.quantize %{{.*}}, %{{.*}} as <signed, 8 bits, absmax, per_tensor> :
  %u = qat.scale %x as <signed, 8 bits, absmax, per_tensor> : tensor<4x64xf32> -> tensor<1x1xf32>
  %n = qat.quantize %x, %u as <signed, 8 bits, absmax, per_tensor, nearest> : tensor<4x64xf32>, tensor<1x1xf32> -> tensor<4x64xi8>
  return %q, %d, %f, %n : tensor<4x32xi8>, tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xi8>
}

// -----

// The gradient of stochastic rounding under ste or clip does not depend on
// the draw: fake_quant_grad needs no seed. Trust and learned steps read the
// forward's rounding and take its seed.
// CHECK-LABEL: func.func @gradient
// CHECK: qat.fake_quant_grad %{{.*}}, %{{.*}}, %{{.*}} as <e4m3, 8 bits, absmax, per_row, stochastic> with ste
// CHECK: qat.fake_quant_grad %{{.*}}, %{{.*}}, %{{.*}} std %{{.*}} as <centered, 4 bits, rms_gaussian, per_row, stochastic> seed %{{.*}} with trust
// CHECK: qat.fake_quant_grad %{{.*}}, %{{.*}}, %{{.*}} as <signed, 2 bits, learned, per_row, stochastic> seed %{{.*}} with clip
func.func @gradient(%dy: tensor<4x64xf32>, %x: tensor<4x64xf32>, %s: tensor<4x1xf32>, %std: tensor<4x1xf32>, %seed: i64) -> (tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x1xf32>) {
  %dx = qat.fake_quant_grad %dy, %x, %s as <e4m3, 8 bits, absmax, per_row, stochastic> with ste : tensor<4x64xf32>, tensor<4x1xf32>
  %dt = qat.fake_quant_grad %dy, %x, %s std %std as <centered, 4 bits, rms_gaussian, per_row, stochastic> seed %seed with trust : tensor<4x64xf32>, tensor<4x1xf32>, tensor<4x1xf32>
  %dl, %ds = qat.fake_quant_grad %dy, %x, %s as <signed, 2 bits, learned, per_row, stochastic> seed %seed with clip : tensor<4x64xf32>, tensor<4x1xf32> -> tensor<4x1xf32>
  return %dx, %dt, %dl, %ds : tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x1xf32>
}

// -----

// The random-sign Hadamard rotation and its inverse.
// CHECK-LABEL: func.func @random_signs
// CHECK: qat.hadamard %{{.*}} block 64 signs %{{.*}} : tensor<4x128xbf16>
// CHECK: qat.hadamard %{{.*}} block 64 signs %{{.*}} inverse : tensor<4x128xbf16>
func.func @random_signs(%x: tensor<4x128xbf16>, %seed: i64) -> (tensor<4x128xbf16>, tensor<4x128xbf16>) {
  %h = qat.hadamard %x block 64 signs %seed : tensor<4x128xbf16>
  %i = qat.hadamard %x block 64 signs %seed inverse : tensor<4x128xbf16>
  return %h, %i : tensor<4x128xbf16>, tensor<4x128xbf16>
}
