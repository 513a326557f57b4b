// RUN: qat-opt %s --split-input-file | qat-opt --split-input-file | FileCheck %s
// Generic form round trip: print generically, parse, print custom again.
// RUN: qat-opt %s --split-input-file --mlir-print-op-generic | qat-opt --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @hadamard
func.func @hadamard(%x: tensor<4x256xf32>, %y: tensor<2x3x64xbf16>) -> (tensor<4x256xf32>, tensor<2x3x64xbf16>) {
  // CHECK: qat.hadamard %{{.*}} block 128 : tensor<4x256xf32>
  %0 = qat.hadamard %x block 128 : tensor<4x256xf32>
  // CHECK: qat.hadamard %{{.*}} block 32 : tensor<2x3x64xbf16>
  %1 = qat.hadamard %y block 32 : tensor<2x3x64xbf16>
  return %0, %1 : tensor<4x256xf32>, tensor<2x3x64xbf16>
}

// -----

// CHECK-LABEL: func.func @scale
func.func @scale(%x: tensor<4x256xf32>) -> (tensor<4x1xf32>, tensor<1x1xf32>, tensor<4x8xf32>) {
  // CHECK: qat.scale %{{.*}} as <centered, 4 bits, rms_gaussian, per_row> : tensor<4x256xf32> -> tensor<4x1xf32>
  %0 = qat.scale %x as <centered, 4 bits, rms_gaussian, per_row> : tensor<4x256xf32> -> tensor<4x1xf32>
  // CHECK: qat.scale %{{.*}} as <signed, 8 bits, absmax, per_tensor> : tensor<4x256xf32> -> tensor<1x1xf32>
  %1 = qat.scale %x as <signed, 8 bits, absmax, per_tensor> : tensor<4x256xf32> -> tensor<1x1xf32>
  // CHECK: qat.scale %{{.*}} as <signed, 3 bits, rms_gaussian, per_group<32>> : tensor<4x256xf32> -> tensor<4x8xf32>
  %2 = qat.scale %x as <signed, 3 bits, rms_gaussian, per_group<32>> : tensor<4x256xf32> -> tensor<4x8xf32>
  return %0, %1, %2 : tensor<4x1xf32>, tensor<1x1xf32>, tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @rms
func.func @rms(%x: tensor<4x256xf32>, %y: tensor<2x3x64xbf16>, %z: tensor<5x48xf16>) -> (tensor<1x1xf32>, tensor<2x3x1xf32>, tensor<5x3xf32>) {
  // CHECK: qat.rms %{{.*}} as <centered, 4 bits, rms_gaussian, per_tensor> : tensor<4x256xf32> -> tensor<1x1xf32>
  %0 = qat.rms %x as <centered, 4 bits, rms_gaussian, per_tensor> : tensor<4x256xf32> -> tensor<1x1xf32>
  // CHECK: qat.rms %{{.*}} as <signed, 2 bits, absmax, per_row> : tensor<2x3x64xbf16> -> tensor<2x3x1xf32>
  %1 = qat.rms %y as <signed, 2 bits, absmax, per_row> : tensor<2x3x64xbf16> -> tensor<2x3x1xf32>
  // CHECK: qat.rms %{{.*}} as <centered, 3 bits, rms_gaussian, per_group<16>> : tensor<5x48xf16> -> tensor<5x3xf32>
  %2 = qat.rms %z as <centered, 3 bits, rms_gaussian, per_group<16>> : tensor<5x48xf16> -> tensor<5x3xf32>
  return %0, %1, %2 : tensor<1x1xf32>, tensor<2x3x1xf32>, tensor<5x3xf32>
}

// -----

// CHECK-LABEL: func.func @quantize_dequantize
func.func @quantize_dequantize(%x: tensor<4x256xf32>, %s: tensor<4x1xf32>, %g: tensor<4x4xf32>) -> (tensor<4x256xf32>, tensor<4x256xbf16>, tensor<4x256xf32>) {
  // CHECK: qat.quantize %{{.*}}, %{{.*}} as <centered, 4 bits, rms_gaussian, per_row> packed : tensor<4x256xf32>, tensor<4x1xf32> -> tensor<4x128xi8>
  %q = qat.quantize %x, %s as <centered, 4 bits, rms_gaussian, per_row> packed : tensor<4x256xf32>, tensor<4x1xf32> -> tensor<4x128xi8>
  // CHECK: qat.dequantize %{{.*}}, %{{.*}} as <centered, 4 bits, rms_gaussian, per_row> packed : tensor<4x128xi8>, tensor<4x1xf32> -> tensor<4x256xf32>
  %d = qat.dequantize %q, %s as <centered, 4 bits, rms_gaussian, per_row> packed : tensor<4x128xi8>, tensor<4x1xf32> -> tensor<4x256xf32>
  // CHECK: qat.quantize %{{.*}}, %{{.*}} as <signed, 8 bits, learned, per_row> : tensor<4x256xf32>, tensor<4x1xf32> -> tensor<4x256xi8>
  %q8 = qat.quantize %x, %s as <signed, 8 bits, learned, per_row> : tensor<4x256xf32>, tensor<4x1xf32> -> tensor<4x256xi8>
  // CHECK: qat.dequantize %{{.*}}, %{{.*}} as <signed, 8 bits, learned, per_row> : tensor<4x256xi8>, tensor<4x1xf32> -> tensor<4x256xbf16>
  %d8 = qat.dequantize %q8, %s as <signed, 8 bits, learned, per_row> : tensor<4x256xi8>, tensor<4x1xf32> -> tensor<4x256xbf16>
  // CHECK: qat.quantize %{{.*}}, %{{.*}} as <signed, 1 bits, absmax, per_group<64>> : tensor<4x256xf32>, tensor<4x4xf32> -> tensor<4x256xi2>
  %q1 = qat.quantize %x, %g as <signed, 1 bits, absmax, per_group<64>> : tensor<4x256xf32>, tensor<4x4xf32> -> tensor<4x256xi2>
  // CHECK: qat.dequantize %{{.*}}, %{{.*}} as <signed, 1 bits, absmax, per_group<64>> : tensor<4x256xi2>, tensor<4x4xf32> -> tensor<4x256xf32>
  %d1 = qat.dequantize %q1, %g as <signed, 1 bits, absmax, per_group<64>> : tensor<4x256xi2>, tensor<4x4xf32> -> tensor<4x256xf32>
  return %d, %d8, %d1 : tensor<4x256xf32>, tensor<4x256xbf16>, tensor<4x256xf32>
}

// -----

// CHECK-LABEL: func.func @fake_quant
func.func @fake_quant(%x: tensor<4x256xf32>, %s: tensor<4x1xf32>, %b: tensor<8x64xbf16>, %t: tensor<1x1xf32>) -> (tensor<4x256xf32>, tensor<4x256xf32>, tensor<8x64xbf16>, tensor<4x256xf32>, tensor<4x256xf32>) {
  // CHECK: qat.fake_quant %{{.*}}, %{{.*}} as <centered, 4 bits, rms_gaussian, per_row> with trust : tensor<4x256xf32>, tensor<4x1xf32>
  %0 = qat.fake_quant %x, %s as <centered, 4 bits, rms_gaussian, per_row> with trust : tensor<4x256xf32>, tensor<4x1xf32>
  // CHECK: qat.fake_quant %{{.*}}, %{{.*}} as <centered, 2 bits, rms_gaussian, per_row> with trust<0.25> : tensor<4x256xf32>, tensor<4x1xf32>
  %1 = qat.fake_quant %x, %s as <centered, 2 bits, rms_gaussian, per_row> with trust<0.25> : tensor<4x256xf32>, tensor<4x1xf32>
  // CHECK: qat.fake_quant %{{.*}}, %{{.*}} as <signed, 3 bits, learned, per_tensor> with fourier : tensor<8x64xbf16>, tensor<1x1xf32>
  %2 = qat.fake_quant %b, %t as <signed, 3 bits, learned, per_tensor> with fourier : tensor<8x64xbf16>, tensor<1x1xf32>
  // CHECK: qat.fake_quant %{{.*}}, %{{.*}} as <signed, 4 bits, learned, per_row> with fourier<[0.21, 0.01]> : tensor<4x256xf32>, tensor<4x1xf32>
  %3 = qat.fake_quant %x, %s as <signed, 4 bits, learned, per_row> with fourier<[0.21, 0.01]> : tensor<4x256xf32>, tensor<4x1xf32>
  // CHECK: qat.fake_quant %{{.*}}, %{{.*}} as <signed, 8 bits, absmax, per_row> with clip : tensor<4x256xf32>, tensor<4x1xf32>
  %4 = qat.fake_quant %x, %s as <signed, 8 bits, absmax, per_row> with clip : tensor<4x256xf32>, tensor<4x1xf32>
  return %0, %1, %2, %3, %4 : tensor<4x256xf32>, tensor<4x256xf32>, tensor<8x64xbf16>, tensor<4x256xf32>, tensor<4x256xf32>
}

// -----

// CHECK-LABEL: func.func @fake_quant_grad
func.func @fake_quant_grad(%dy: tensor<4x256xf32>, %x: tensor<4x256xf32>, %s: tensor<4x1xf32>) -> (tensor<4x256xf32>, tensor<4x256xf32>, tensor<4x1xf32>, tensor<4x256xf32>) {
  // CHECK: qat.fake_quant_grad %{{.*}}, %{{.*}}, %{{.*}} as <centered, 4 bits, rms_gaussian, per_row> with trust : tensor<4x256xf32>, tensor<4x1xf32>
  %0 = qat.fake_quant_grad %dy, %x, %s as <centered, 4 bits, rms_gaussian, per_row> with trust : tensor<4x256xf32>, tensor<4x1xf32>
  // CHECK: qat.fake_quant_grad %{{.*}}, %{{.*}}, %{{.*}} as <signed, 2 bits, learned, per_row> with fourier : tensor<4x256xf32>, tensor<4x1xf32> -> tensor<4x1xf32>
  %1, %ds = qat.fake_quant_grad %dy, %x, %s as <signed, 2 bits, learned, per_row> with fourier : tensor<4x256xf32>, tensor<4x1xf32> -> tensor<4x1xf32>
  // CHECK: qat.fake_quant_grad %{{.*}}, %{{.*}}, %{{.*}} as <centered, 1 bits, absmax, per_row> with clip : tensor<4x256xf32>, tensor<4x1xf32>
  %2 = qat.fake_quant_grad %dy, %x, %s as <centered, 1 bits, absmax, per_row> with clip : tensor<4x256xf32>, tensor<4x1xf32>
  return %0, %1, %ds, %2 : tensor<4x256xf32>, tensor<4x256xf32>, tensor<4x1xf32>, tensor<4x256xf32>
}

// -----

// The trust estimator's deviation from qat.rms in the forward; with learned
// steps the operand and the step gradient are both present.
// CHECK-LABEL: func.func @fake_quant_grad_std
func.func @fake_quant_grad_std(%dy: tensor<4x256xbf16>, %x: tensor<4x256xbf16>, %s: tensor<4x1xf32>, %g: tensor<4x8xf32>, %t: tensor<1x1xf32>) -> (tensor<4x256xbf16>, tensor<4x256xbf16>, tensor<4x256xbf16>, tensor<1x1xf32>) {
  // CHECK: %[[STD:.*]] = qat.rms
  %std = qat.rms %x as <centered, 4 bits, rms_gaussian, per_row> : tensor<4x256xbf16> -> tensor<4x1xf32>
  // CHECK: qat.fake_quant_grad %{{.*}}, %{{.*}}, %{{.*}} std %[[STD]] as <centered, 4 bits, rms_gaussian, per_row> with trust : tensor<4x256xbf16>, tensor<4x1xf32>, tensor<4x1xf32>
  %0 = qat.fake_quant_grad %dy, %x, %s std %std as <centered, 4 bits, rms_gaussian, per_row> with trust : tensor<4x256xbf16>, tensor<4x1xf32>, tensor<4x1xf32>
  // CHECK: qat.fake_quant_grad %{{.*}}, %{{.*}}, %{{.*}} std %{{.*}} as <signed, 2 bits, absmax, per_group<32>> with trust<0.25> : tensor<4x256xbf16>, tensor<4x8xf32>, tensor<4x8xf32>
  %1 = qat.fake_quant_grad %dy, %x, %g std %g as <signed, 2 bits, absmax, per_group<32>> with trust<0.25> : tensor<4x256xbf16>, tensor<4x8xf32>, tensor<4x8xf32>
  // CHECK: qat.fake_quant_grad %{{.*}}, %{{.*}}, %{{.*}} std %{{.*}} as <signed, 4 bits, learned, per_tensor> with trust : tensor<4x256xbf16>, tensor<1x1xf32>, tensor<1x1xf32> -> tensor<1x1xf32>
  %2, %ds = qat.fake_quant_grad %dy, %x, %t std %t as <signed, 4 bits, learned, per_tensor> with trust : tensor<4x256xbf16>, tensor<1x1xf32>, tensor<1x1xf32> -> tensor<1x1xf32>
  return %0, %1, %2, %ds : tensor<4x256xbf16>, tensor<4x256xbf16>, tensor<4x256xbf16>, tensor<1x1xf32>
}

// -----

// CHECK-LABEL: func.func @matmul
func.func @matmul(%a: tensor<64x128xi8>, %b: tensor<32x128xi8>, %sa: tensor<64x1xf32>, %sb: tensor<32x1xf32>, %t: tensor<1x1xf32>, %a8: tensor<64x128xi8>, %b8: tensor<32x128xi8>) -> (tensor<64x32xbf16>, tensor<64x32xf32>) {
  // CHECK: qat.matmul %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} as <centered, 4 bits, rms_gaussian, per_row>, <centered, 4 bits, rms_gaussian, per_row> packed : tensor<64x128xi8>, tensor<32x128xi8>, tensor<64x1xf32>, tensor<32x1xf32> -> tensor<64x32xbf16>
  %0 = qat.matmul %a, %b, %sa, %sb as <centered, 4 bits, rms_gaussian, per_row>, <centered, 4 bits, rms_gaussian, per_row> packed : tensor<64x128xi8>, tensor<32x128xi8>, tensor<64x1xf32>, tensor<32x1xf32> -> tensor<64x32xbf16>
  // CHECK: qat.matmul %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} as <signed, 8 bits, absmax, per_tensor>, <signed, 8 bits, learned, per_row> : tensor<64x128xi8>, tensor<32x128xi8>, tensor<1x1xf32>, tensor<32x1xf32> -> tensor<64x32xf32>
  %1 = qat.matmul %a8, %b8, %t, %sb as <signed, 8 bits, absmax, per_tensor>, <signed, 8 bits, learned, per_row> : tensor<64x128xi8>, tensor<32x128xi8>, tensor<1x1xf32>, tensor<32x1xf32> -> tensor<64x32xf32>
  return %0, %1 : tensor<64x32xbf16>, tensor<64x32xf32>
}

// -----

// Attributes stand alone too (aliases, function attributes).
// CHECK-LABEL: func.func @attributes
// clip<1.0> is clip; other factors print back as written.
// CHECK-SAME: qat.estimators = [#qat.ste, #qat.clip, #qat.clip, #qat.clip<1.5>, #qat.clip<0.75>, #qat.trust, #qat.trust<0.5>, #qat.fourier, #qat.fourier<[0.15, -0.05]>]
// CHECK-SAME: qat.quantizer = #qat.quantizer<signed, 2 bits, learned, per_group<16>>
func.func @attributes() attributes {
    qat.quantizer = #qat.quantizer<signed, 2 bits, learned, per_group<16>>,
    qat.estimators = [#qat.ste, #qat.clip, #qat.clip<1.0>, #qat.clip<1.5>, #qat.clip<0.75>, #qat.trust, #qat.trust<0.5>, #qat.fourier, #qat.fourier<[0.15, -0.05]>]} {
  return
}

// -----

// Rows (tokens) may be dynamic: one program for every batch and sequence
// length; the last dimension stays static.
// CHECK-LABEL: func.func @dynamic_rows
func.func @dynamic_rows(%x: tensor<?x?x256xf32>, %b: tensor<32x64xi8>, %sb: tensor<32x1xf32>) -> (tensor<?x?x128xi8>, tensor<?x32xf32>) {
  // CHECK: qat.hadamard %{{.*}} block 128 : tensor<?x?x256xf32>
  %xh = qat.hadamard %x block 128 : tensor<?x?x256xf32>
  // CHECK: qat.scale %{{.*}} as <centered, 4 bits, rms_gaussian, per_row> : tensor<?x?x256xf32> -> tensor<?x?x1xf32>
  %s = qat.scale %xh as <centered, 4 bits, rms_gaussian, per_row> : tensor<?x?x256xf32> -> tensor<?x?x1xf32>
  %q = qat.quantize %xh, %s as <centered, 4 bits, rms_gaussian, per_row> packed : tensor<?x?x256xf32>, tensor<?x?x1xf32> -> tensor<?x?x128xi8>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %flat = tensor.collapse_shape %q [[0, 1], [2]] : tensor<?x?x128xi8> into tensor<?x128xi8>
  %q2 = tensor.extract_slice %flat[0, 0] [%c1, 64] [1, 1] : tensor<?x128xi8> to tensor<?x64xi8>
  %sa = tensor.empty(%c1) : tensor<?x1xf32>
  // CHECK: qat.matmul {{.*}} : tensor<?x64xi8>, tensor<32x64xi8>, tensor<?x1xf32>, tensor<32x1xf32> -> tensor<?x32xf32>
  %y = qat.matmul %q2, %b, %sa, %sb as <centered, 4 bits, rms_gaussian, per_row>, <centered, 4 bits, rms_gaussian, per_row> packed : tensor<?x64xi8>, tensor<32x64xi8>, tensor<?x1xf32>, tensor<32x1xf32> -> tensor<?x32xf32>
  return %q, %y : tensor<?x?x128xi8>, tensor<?x32xf32>
}
