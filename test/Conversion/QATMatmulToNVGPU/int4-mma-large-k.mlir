// RUN: qat-opt %s --split-input-file --convert-qat-matmul-to-nvgpu | FileCheck %s
// RUN: qat-opt %s --split-input-file --convert-qat-matmul-to-nvgpu="int4-mma=unpack" --verify-diagnostics

// int4-mma=unpack multiplies s8 values of magnitude up to 128, so its int32
// accumulator is exact up to K = 130944 (whole 128-code K tiles). Beyond,
// int4-mma=auto falls back to s4 mma, exact for every K the verifier
// accepts; int4-mma=unpack is an error.

// CHECK-LABEL: gpu.module @qat_matmul_16x16x130944_centered_centered_s4_f32
// CHECK: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 32]}
func.func @largest_unpacked(%a: tensor<16x65472xi8>, %b: tensor<16x65472xi8>,
    %s: tensor<16x1xf32>) -> tensor<16x16xf32> {
  %y = qat.matmul %a, %b, %s, %s
      as <centered, 4 bits, rms_gaussian, per_row>,
         <centered, 4 bits, rms_gaussian, per_row> packed
      : tensor<16x65472xi8>, tensor<16x65472xi8>, tensor<16x1xf32>,
        tensor<16x1xf32> -> tensor<16x16xf32>
  return %y : tensor<16x16xf32>
}

// -----

// CHECK-LABEL: gpu.module @qat_matmul_16x16x130976_centered_centered_s4_f32
// CHECK: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 64]}
func.func @too_large_for_unpacked(%a: tensor<16x65488xi8>,
    %b: tensor<16x65488xi8>, %s: tensor<16x1xf32>) -> tensor<16x16xf32> {
  // expected-error @+1 {{contraction size K = 130976 is too large for int4-mma=unpack: its int32 accumulator holds up to 256x the sum of products, exact up to K = 130944; use int4-mma=native}}
  %y = qat.matmul %a, %b, %s, %s
      as <centered, 4 bits, rms_gaussian, per_row>,
         <centered, 4 bits, rms_gaussian, per_row> packed
      : tensor<16x65488xi8>, tensor<16x65488xi8>, tensor<16x1xf32>,
        tensor<16x1xf32> -> tensor<16x16xf32>
  return %y : tensor<16x16xf32>
}
