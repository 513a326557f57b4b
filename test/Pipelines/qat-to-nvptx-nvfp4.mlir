// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90 format=isa" | FileCheck %s

// NVFP4 fake quantization on the GPU: the two-level qat.scale expands into
// the per-block and per-tensor absmax reductions and a map, the block
// scales are rounded to e4m3 and the elements to e2m1 in the kernels, and
// no qat op reaches the host code. (cases.py runs it on the GPU.)
// CHECK-NOT: qat.
// CHECK: gpu.binary
// CHECK-NOT: qat.scale
// CHECK-NOT: qat.fake_quant
func.func @nvfp4(%x: tensor<64x256xbf16>) -> tensor<64x256xbf16> {
  %s = qat.scale %x as <e2m1, 4 bits, nvfp4, per_group<16>> : tensor<64x256xbf16> -> tensor<64x16xf32>
  %f = qat.fake_quant %x, %s as <e2m1, 4 bits, nvfp4, per_group<16>> with ste : tensor<64x256xbf16>, tensor<64x16xf32>
  return %f : tensor<64x256xbf16>
}
