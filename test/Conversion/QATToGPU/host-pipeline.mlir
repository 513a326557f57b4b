// RUN: qat-opt %s --pass-pipeline="builtin.module(func.func(convert-qat-to-gpu), qat-to-nvptx{format=isa})" \
// RUN: | FileCheck %s

// The row kernels compose with the rest of the GPU pipeline: buffer
// deallocation accepts their barriers and frees the temporaries of the
// whole-tensor reductions, buffers move to device memory, the kernels are
// outlined and compiled, and the host code calls the qat CUDA runtime.

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
#ptl = #qat.quantizer<signed, 3 bits, learned, per_tensor>

// CHECK-LABEL: llvm.func @step(
//   CHECK-NOT:   llvm.call @malloc
//       CHECK:   llvm.call @mgpuMemAlloc
//       CHECK:   gpu.launch_func {{.*}} @step_kernel::@step_kernel
//       CHECK:   gpu.launch_func {{.*}} @step_kernel_0::@step_kernel
//       CHECK:   gpu.launch_func {{.*}} @step_kernel_1::@step_kernel
//       CHECK:   llvm.call @mgpuMemFree
//   CHECK-NOT:   llvm.call @free
//       CHECK: gpu.binary @step_kernel
//  CHECK-SAME:   .entry step_kernel(
//  CHECK-SAME:   bar.sync
//       CHECK: gpu.binary @step_kernel_0
//       CHECK: gpu.binary @step_kernel_1
func.func @step(%x: tensor<8x8192xf32>, %dy: tensor<8x8192xf32>,
                %s: tensor<1x1xf32>)
    -> (tensor<8x4096xi8>, tensor<8x8192xf32>, tensor<1x1xf32>) {
  %xh = qat.hadamard %x block 8192 : tensor<8x8192xf32>
  %sx = qat.scale %xh as #q4 : tensor<8x8192xf32> -> tensor<8x1xf32>
  %q = qat.quantize %xh, %sx as #q4 packed
      : tensor<8x8192xf32>, tensor<8x1xf32> -> tensor<8x4096xi8>
  %dx, %ds = qat.fake_quant_grad %dy, %x, %s as #ptl with clip
      : tensor<8x8192xf32>, tensor<1x1xf32> -> tensor<1x1xf32>
  return %q, %dx, %ds : tensor<8x4096xi8>, tensor<8x8192xf32>, tensor<1x1xf32>
}
