// RUN: qat-opt %s --split-input-file | qat-opt --split-input-file | FileCheck %s

// The float element grids (fp8 e4m3 and e5m2, fp4 e2m1) with per-tensor,
// per-row, MX and NVFP4 block steps parse, verify and print back.

// CHECK-LABEL: func.func @formats
func.func @formats(%x: tensor<4x64xf32>, %dy: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4x32xi8>, tensor<4x64xf32>, tensor<4x64xf32>) {
  // CHECK: qat.scale %{{.*}} as <e4m3, 8 bits, absmax, per_tensor>
  %s8 = qat.scale %x as <e4m3, 8 bits, absmax, per_tensor> : tensor<4x64xf32> -> tensor<1x1xf32>
  // CHECK: qat.quantize %{{.*}} as <e4m3, 8 bits, absmax, per_tensor> : tensor<4x64xf32>, tensor<1x1xf32> -> tensor<4x64xi8>
  %q8 = qat.quantize %x, %s8 as <e4m3, 8 bits, absmax, per_tensor> : tensor<4x64xf32>, tensor<1x1xf32> -> tensor<4x64xi8>
  // CHECK: qat.scale %{{.*}} as <e2m1, 4 bits, mx, per_group<32>>
  %s4 = qat.scale %x as <e2m1, 4 bits, mx, per_group<32>> : tensor<4x64xf32> -> tensor<4x2xf32>
  // CHECK: qat.quantize %{{.*}} as <e2m1, 4 bits, mx, per_group<32>> packed
  %q4 = qat.quantize %x, %s4 as <e2m1, 4 bits, mx, per_group<32>> packed : tensor<4x64xf32>, tensor<4x2xf32> -> tensor<4x32xi8>
  // CHECK: qat.scale %{{.*}} as <e5m2, 8 bits, rms_gaussian, per_row>
  %s5 = qat.scale %x as <e5m2, 8 bits, rms_gaussian, per_row> : tensor<4x64xf32> -> tensor<4x1xf32>
  // CHECK: qat.fake_quant %{{.*}} as <e5m2, 8 bits, rms_gaussian, per_row> with clip
  %f = qat.fake_quant %x, %s5 as <e5m2, 8 bits, rms_gaussian, per_row> with clip : tensor<4x64xf32>, tensor<4x1xf32>
  // CHECK: qat.fake_quant_grad %{{.*}} as <e2m1, 4 bits, mx, per_group<32>> with trust<0.25>
  %dx = qat.fake_quant_grad %dy, %x, %s4 as <e2m1, 4 bits, mx, per_group<32>> with trust<0.25> : tensor<4x64xf32>, tensor<4x2xf32>
  return %q8, %q4, %f, %dx : tensor<4x64xi8>, tensor<4x32xi8>, tensor<4x64xf32>, tensor<4x64xf32>
}

// -----

// CHECK-LABEL: func.func @nvfp4
func.func @nvfp4(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  // CHECK: qat.scale %{{.*}} as <e2m1, 4 bits, nvfp4, per_group<16>>
  %s = qat.scale %x as <e2m1, 4 bits, nvfp4, per_group<16>> : tensor<4x64xf32> -> tensor<4x4xf32>
  // CHECK: qat.fake_quant %{{.*}} as <e2m1, 4 bits, nvfp4, per_group<16>> with ste
  %f = qat.fake_quant %x, %s as <e2m1, 4 bits, nvfp4, per_group<16>> with ste : tensor<4x64xf32>, tensor<4x4xf32>
  return %f : tensor<4x64xf32>
}
