// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90 format=isa" | FileCheck %s

// The random-sign rotation on the GPU: the plain rotation and the quantizer
// after it in the row kernels, the sign map of the columns (SplitMix64 in
// 64-bit integers: mul.lo.s64) a kernel of its own. No qat op reaches the
// host code. (cases.py runs random-sign rotations on the GPU.)
// CHECK-NOT: qat.
// CHECK: gpu.binary
// CHECK-SAME: mul.lo.s64
// CHECK-NOT: qat.hadamard
func.func @rotate_then_quantize(%x: tensor<64x256xbf16>, %seed: i64) -> tensor<64x256xbf16> {
  %h = qat.hadamard %x block 128 signs %seed : tensor<64x256xbf16>
  %s = qat.scale %h as <centered, 4 bits, rms_gaussian, per_row> : tensor<64x256xbf16> -> tensor<64x1xf32>
  %f = qat.fake_quant %h, %s as <centered, 4 bits, rms_gaussian, per_row> with trust : tensor<64x256xbf16>, tensor<64x1xf32>
  return %f : tensor<64x256xbf16>
}
