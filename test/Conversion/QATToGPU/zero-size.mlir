// RUN: qat-opt %s --split-input-file --pass-pipeline='builtin.module(convert-qat-matmul-to-nvgpu,func.func(convert-qat-to-gpu))' | FileCheck %s
// RUN: qat-opt %s --split-input-file --qat-to-nvptx=format=isa | FileCheck %s --check-prefix=NVPTX

// Zero-size tensors never reach the kernel planners (which divide by row
// lengths and tile counts): such ops take the linalg route of the CPU
// pipeline, and what is empty launches nothing. A non-empty result of empty
// operands (the steps of rows of length 0, a matmul with K = 0) gets the
// CPU's value from the same linalg.

// CHECK-LABEL: func.func @no_rows
// CHECK-NOT: gpu.launch
// CHECK-NOT: qat.
// CHECK: return
// NVPTX-LABEL: llvm.func @no_rows
// NVPTX-NOT: mgpuLaunch
// NVPTX: llvm.return
func.func @no_rows(%x: tensor<0x256xf32>) -> (tensor<0x256xf32>, tensor<0x1xf32>) {
  %h = qat.hadamard %x block 128 : tensor<0x256xf32>
  %s = qat.scale %h as <centered, 4 bits, rms_gaussian, per_row>
      : tensor<0x256xf32> -> tensor<0x1xf32>
  %y = qat.fake_quant %h, %s as <centered, 4 bits, rms_gaussian, per_row>
      with trust : tensor<0x256xf32>, tensor<0x1xf32>
  return %y, %s : tensor<0x256xf32>, tensor<0x1xf32>
}

// -----

// Rows of no elements: the mean of squares divides by max(0, 1) = 1, so the
// step is an all-zero row's (docs/semantics.md), not 0/0.
// CHECK-LABEL: func.func @empty_rows
// CHECK-NOT: qat.scale
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: arith.divf %{{.*}}, %[[ONE]] : f32
// NVPTX-LABEL: llvm.func @empty_rows
// NVPTX: llvm.return
func.func @empty_rows(%x: tensor<4x0xf32>) -> tensor<4x1xf32> {
  %s = qat.scale %x as <centered, 4 bits, rms_gaussian, per_row>
      : tensor<4x0xf32> -> tensor<4x1xf32>
  return %s : tensor<4x1xf32>
}

// -----

// CHECK-LABEL: func.func @packed_codes_of_no_rows
// CHECK-NOT: gpu.launch
// CHECK-NOT: qat.
// CHECK: return
func.func @packed_codes_of_no_rows(%x: tensor<0x64xbf16>, %s: tensor<0x1xf32>)
    -> (tensor<0x32xi8>, tensor<0x64xbf16>) {
  %q = qat.quantize %x, %s as <centered, 4 bits, rms_gaussian, per_row> packed
      : tensor<0x64xbf16>, tensor<0x1xf32> -> tensor<0x32xi8>
  %d = qat.dequantize %q, %s as <centered, 4 bits, rms_gaussian, per_row> packed
      : tensor<0x32xi8>, tensor<0x1xf32> -> tensor<0x64xbf16>
  return %q, %d : tensor<0x32xi8>, tensor<0x64xbf16>
}

// -----

// CHECK-LABEL: func.func @matmul_no_rows
// CHECK-NOT: gpu.launch_func
// CHECK-NOT: qat.matmul
// CHECK: return
// NVPTX-LABEL: llvm.func @matmul_no_rows
// NVPTX-NOT: mgpuLaunch
// NVPTX: llvm.return
func.func @matmul_no_rows(%a: tensor<0x64xi8>, %b: tensor<32x64xi8>,
    %sa: tensor<0x1xf32>, %sb: tensor<32x1xf32>) -> tensor<0x32xf32> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 8 bits, absmax, per_row>, <signed, 8 bits, absmax, per_row>
      : tensor<0x64xi8>, tensor<32x64xi8>, tensor<0x1xf32>, tensor<32x1xf32>
      -> tensor<0x32xf32>
  return %y : tensor<0x32xf32>
}

// -----

// CHECK-LABEL: func.func @matmul_no_k
// CHECK-NOT: qat.matmul
// CHECK: linalg.matmul
// NVPTX-LABEL: llvm.func @matmul_no_k
// NVPTX: llvm.return
func.func @matmul_no_k(%a: tensor<16x0xi8>, %b: tensor<32x0xi8>,
    %sa: tensor<16x1xf32>, %sb: tensor<32x1xf32>) -> tensor<16x32xf32> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <centered, 4 bits, rms_gaussian, per_row>,
         <centered, 4 bits, rms_gaussian, per_row> packed
      : tensor<16x0xi8>, tensor<32x0xi8>, tensor<16x1xf32>, tensor<32x1xf32>
      -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}
