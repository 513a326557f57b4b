// RUN: qat-opt %s --convert-qat-to-gpu \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" \
// RUN:   --gpu-kernel-outlining -o %t.mlir
// RUN: qat-opt %t.mlir --pass-pipeline="builtin.module(nvvm-attach-target{chip=sm_80 features=+ptx80}, gpu.module(convert-scf-to-cf, convert-gpu-to-nvvm, reconcile-unrealized-casts), gpu-module-to-binary{format=bin toolkit=/usr/local/cuda})" \
// RUN: | FileCheck %s --check-prefix=SM80
// RUN: qat-opt %t.mlir --pass-pipeline="builtin.module(nvvm-attach-target{chip=sm_90 features=+ptx80}, gpu.module(convert-scf-to-cf, convert-gpu-to-nvvm, reconcile-unrealized-casts), gpu-module-to-binary{format=bin toolkit=/usr/local/cuda})" \
// RUN: | FileCheck %s --check-prefix=SM90

// ptxas (CUDA toolkit) assembles every kind of row kernel for sm_80 and
// sm_90: a failure to assemble fails the pass, and the cubin is an ELF file.

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
#lsq2 = #qat.quantizer<signed, 2 bits, learned, per_group<64>>
#g96 = #qat.quantizer<signed, 8 bits, absmax, per_group<96>>
#pt = #qat.quantizer<signed, 4 bits, absmax, per_tensor>
#ptl = #qat.quantizer<signed, 3 bits, learned, per_tensor>

// SM80-LABEL: gpu.binary @forward_kernel
//  SM80-SAME:   chip = "sm_80"
//  SM80-SAME:   bin = "\7FELF
// SM90-LABEL: gpu.binary @forward_kernel
//  SM90-SAME:   chip = "sm_90"
//  SM90-SAME:   bin = "\7FELF
func.func @forward(%x: tensor<64x4096xbf16>)
    -> (tensor<64x2048xi8>, tensor<64x1xbf16>, tensor<64x4096xbf16>) {
  %xh = qat.hadamard %x block 2048 : tensor<64x4096xbf16>
  %s = qat.scale %xh as #q4 : tensor<64x4096xbf16> -> tensor<64x1xbf16>
  %q = qat.quantize %xh, %s as #q4 packed
      : tensor<64x4096xbf16>, tensor<64x1xbf16> -> tensor<64x2048xi8>
  %y = qat.fake_quant %xh, %s as #q4 with trust
      : tensor<64x4096xbf16>, tensor<64x1xbf16>
  return %q, %s, %y : tensor<64x2048xi8>, tensor<64x1xbf16>, tensor<64x4096xbf16>
}

// SM80-LABEL: gpu.binary @backward_kernel
//  SM80-SAME:   bin = "\7FELF
// SM90-LABEL: gpu.binary @backward_kernel
//  SM90-SAME:   bin = "\7FELF
func.func @backward(%dy: tensor<32x768xf32>, %w: tensor<32x768xf32>,
                    %s: tensor<32x12xf32>, %codes: tensor<32x768xi8>,
                    %s96: tensor<32x8xf32>)
    -> (tensor<32x768xf32>, tensor<32x12xf32>, tensor<32x768xf32>) {
  %dw, %ds = qat.fake_quant_grad %dy, %w, %s as #lsq2 with fourier<[0.2, 0.01]>
      : tensor<32x768xf32>, tensor<32x12xf32> -> tensor<32x12xf32>
  %v = qat.dequantize %codes, %s96 as #g96
      : tensor<32x768xi8>, tensor<32x8xf32> -> tensor<32x768xf32>
  return %dw, %ds, %v : tensor<32x768xf32>, tensor<32x12xf32>, tensor<32x768xf32>
}

// Whole-tensor reductions, then the row kernels that use their results.
// SM80-COUNT-5: gpu.binary @per_tensor_kernel{{.*}}bin = "\7FELF
// SM90-COUNT-5: gpu.binary @per_tensor_kernel{{.*}}bin = "\7FELF
func.func @per_tensor(%x: tensor<512x1024xf16>, %dy: tensor<512x1024xf16>,
                      %s: tensor<1x1xf32>)
    -> (tensor<512x1024xi8>, tensor<512x1024xf16>, tensor<1x1xf32>) {
  %sx = qat.scale %x as #pt : tensor<512x1024xf16> -> tensor<1x1xf32>
  %q = qat.quantize %x, %sx as #pt
      : tensor<512x1024xf16>, tensor<1x1xf32> -> tensor<512x1024xi8>
  %dx, %ds = qat.fake_quant_grad %dy, %x, %s as #ptl with fourier
      : tensor<512x1024xf16>, tensor<1x1xf32> -> tensor<1x1xf32>
  return %q, %dx, %ds : tensor<512x1024xi8>, tensor<512x1024xf16>, tensor<1x1xf32>
}

// QuEST's forward at block 128 (quad layout, the exchange through shared
// memory with warp barriers).
// SM80-LABEL: gpu.binary @quest_exchange_kernel
//  SM80-SAME:   bin = "\7FELF
// SM90-LABEL: gpu.binary @quest_exchange_kernel
//  SM90-SAME:   bin = "\7FELF
func.func @quest_exchange(%x: tensor<64x4096xbf16>)
    -> (tensor<64x2048xi8>, tensor<64x1xf32>) {
  %xh = qat.hadamard %x block 128 : tensor<64x4096xbf16>
  %s = qat.scale %xh as <centered, 4 bits, rms_gaussian, per_row>
      : tensor<64x4096xbf16> -> tensor<64x1xf32>
  %q = qat.quantize %xh, %s as <centered, 4 bits, rms_gaussian, per_row> packed
      : tensor<64x4096xbf16>, tensor<64x1xf32> -> tensor<64x2048xi8>
  return %q, %s : tensor<64x2048xi8>, tensor<64x1xf32>
}
