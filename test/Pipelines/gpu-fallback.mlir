// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90 format=isa" -o %t 2>&1 | FileCheck %s
// RUN: FileCheck %s --check-prefix=BINARY < %t

// What the fused row kernels do not cover is no GPU-only error: each such op
// is left (with a remark) for convert-qat-to-linalg and becomes kernels
// through the generic linalg -> gpu route, like the rest of a training step.

// CHECK: remark: rows of 65536 elements are too long for the fused GPU row kernels{{.*}}left for convert-qat-to-linalg
// BINARY-LABEL: llvm.func @row_too_long
func.func @row_too_long(%x: tensor<2x65536xf32>) -> tensor<2x65536xf32> {
  %y = qat.hadamard %x block 65536 : tensor<2x65536xf32>
  return %y : tensor<2x65536xf32>
}

// CHECK: remark: element type 'f64' is not supported by the GPU row kernels{{.*}}left for convert-qat-to-linalg
// BINARY-LABEL: llvm.func @f64
func.func @f64(%x: tensor<4x64xf64>) -> tensor<4x64xf64> {
  %y = qat.hadamard %x block 64 : tensor<4x64xf64>
  return %y : tensor<4x64xf64>
}

// CHECK: remark: code type 'i4' is not byte-addressable on the GPU{{.*}}left for convert-qat-to-linalg
// BINARY-LABEL: llvm.func @sub_byte_codes
func.func @sub_byte_codes(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>) -> tensor<4x64xi4> {
  %q = qat.quantize %x, %s as <signed, 4 bits, absmax, per_row>
      : tensor<4x64xf32>, tensor<4x1xf32> -> tensor<4x64xi4>
  return %q : tensor<4x64xi4>
}

// CHECK: remark: packed codes need quantization groups of an even length{{.*}}left for convert-qat-to-linalg
// BINARY-LABEL: llvm.func @packed_odd_groups
func.func @packed_odd_groups(%x: tensor<4x6xf32>, %s: tensor<4x2xf32>) -> tensor<4x3xi8> {
  %q = qat.quantize %x, %s as <signed, 4 bits, absmax, per_group<3>> packed
      : tensor<4x6xf32>, tensor<4x2xf32> -> tensor<4x3xi8>
  return %q : tensor<4x3xi8>
}

// BINARY-NOT: qat.
// BINARY: gpu.binary
