// RUN: qat-opt %s --convert-qat-to-gpu \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" \
// RUN:   --gpu-kernel-outlining \
// RUN: | qat-opt --pass-pipeline="builtin.module(nvvm-attach-target{chip=sm_90 features=+ptx80}, gpu.module(convert-scf-to-cf, convert-gpu-to-nvvm, reconcile-unrealized-casts), gpu-module-to-binary{format=isa toolkit=/usr/local/cuda})" \
// RUN: | FileCheck %s

// The PTX of the fused kernels: 16-byte loads and stores, butterfly
// shuffles with fused +-1 updates, correctly rounded square root and
// reciprocal of the step, rounding by the 1.5 * 2^23 shift (no cvt.rni),
// the packed codes of a chunk stored as one word (2 bytes for f32 rows),
// and shared memory with barriers where a rotation crosses warps.

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
#lsq2 = #qat.quantizer<signed, 2 bits, learned, per_row>

// CHECK-LABEL: gpu.binary @quest_forward_kernel
//  CHECK-SAME: .visible .entry quest_forward_kernel(
//   CHECK-NOT: gpu.binary
//  CHECK-SAME: ld.global.v4.b32
//  CHECK-SAME: shfl.sync.bfly.b32
//  CHECK-SAME: fma.rn.f32
//  CHECK-SAME: sqrt.rn.f64
//  CHECK-SAME: div.rn.f32
//  CHECK-SAME: add.rn.f32 {{[^;]*}}, 0f4B400000;
//   CHECK-NOT: cvt.rni
//  CHECK-SAME: st.global.b16
//  CHECK-SAME: st.global.v4.b32
func.func @quest_forward(%x: tensor<64x256xf32>)
    -> (tensor<64x128xi8>, tensor<64x1xf32>, tensor<64x256xf32>) {
  %xh = qat.hadamard %x block 128 : tensor<64x256xf32>
  %s = qat.scale %xh as #q4 : tensor<64x256xf32> -> tensor<64x1xf32>
  %q = qat.quantize %xh, %s as #q4 packed
      : tensor<64x256xf32>, tensor<64x1xf32> -> tensor<64x128xi8>
  %y = qat.fake_quant %xh, %s as #q4 with trust
      : tensor<64x256xf32>, tensor<64x1xf32>
  return %q, %s, %y : tensor<64x128xi8>, tensor<64x1xf32>, tensor<64x256xf32>
}

// A 1024-block rotation over rows of 4096 (256 threads): stages within a
// warp are shuffles, the three between warps go through shared memory.
// CHECK-LABEL: gpu.binary @quest_backward_kernel
//  CHECK-SAME: .visible .entry quest_backward_kernel(
//   CHECK-NOT: gpu.binary
//  CHECK-SAME: ld.global.v4.b32
//  CHECK-SAME: shfl.sync.bfly.b32
//  CHECK-SAME: st.shared.v4.b32
//  CHECK-SAME: bar.sync
//  CHECK-SAME: ld.shared.v4.b32
//  CHECK-SAME: bar.sync
//  CHECK-SAME: st.global.v4.b32
func.func @quest_backward(%dy: tensor<16x4096xf32>, %xh: tensor<16x4096xf32>,
                          %s: tensor<16x1xf32>) -> tensor<16x4096xf32> {
  %dxh = qat.fake_quant_grad %dy, %xh, %s as #q4 with trust
      : tensor<16x4096xf32>, tensor<16x1xf32>
  %dx = qat.hadamard %dxh block 1024 : tensor<16x4096xf32>
  return %dx : tensor<16x4096xf32>
}

// bf16 in and out: 16-byte accesses of 8 elements, converted to f32 and
// back with round-to-nearest-even, two at a time. The Fourier cosine is
// inline arithmetic: no libdevice call, no local memory.
// CHECK-LABEL: gpu.binary @stableqat_backward_kernel
//  CHECK-SAME: .visible .entry stableqat_backward_kernel(
//   CHECK-NOT: gpu.binary
//   CHECK-NOT: .local
//  CHECK-SAME: ld.global.v4.b32
//  CHECK-SAME: cvt.f32.bf16
//  CHECK-SAME: fma.rn.f32
//  CHECK-SAME: cvt.rn.bf16x2.f32
//  CHECK-SAME: st.global.v4.b32
func.func @stableqat_backward(%dy: tensor<96x512xbf16>, %w: tensor<96x512xbf16>,
                              %s: tensor<96x1xbf16>)
    -> (tensor<96x512xbf16>, tensor<96x1xbf16>) {
  %dw, %ds = qat.fake_quant_grad %dy, %w, %s as #lsq2 with fourier<[0.21]>
      : tensor<96x512xbf16>, tensor<96x1xbf16> -> tensor<96x1xbf16>
  return %dw, %ds : tensor<96x512xbf16>, tensor<96x1xbf16>
}
