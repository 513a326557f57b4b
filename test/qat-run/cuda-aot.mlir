// Ahead of time for the GPU: qat-run --target=cuda writes a host object with
// the kernels' binary embedded and a header that describes device buffers.
// Here (no GPU needed) the header, the object's symbols and a C program
// compiled against the headers; cuda-aot-run.test links and runs it where a
// GPU is.

// REQUIRES: c-compiler
// RUN: rm -rf %t && mkdir -p %t
// RUN: qat-run %s --target=cuda --gpu-chip=sm_80 --emit-object=%t/gpu_affine.o --emit-header=%t/gpu_affine.h 2>&1 | count 0
// RUN: qat-run %S/Inputs/cuda-aot-quant.mlir --target=cuda --pipeline-options="format=isa" --emit-object=%t/gpu_fake_quant.o --emit-header=%t/gpu_fake_quant.h 2>&1 | count 0
// RUN: FileCheck %s --check-prefix=HEADER < %t/gpu_affine.h
// RUN: llvm-nm %t/gpu_affine.o | FileCheck %s --check-prefix=SYMBOLS
// RUN: llvm-nm --undefined-only %t/gpu_affine.o | FileCheck %s --check-prefix=UNDEF
// RUN: llvm-objdump -s -j .rodata %t/gpu_affine.o | FileCheck %s --check-prefix=ELF
// RUN: llvm-strings %t/gpu_affine.o | FileCheck %s --check-prefix=CUBIN
// RUN: llvm-strings %t/gpu_fake_quant.o | FileCheck %s --check-prefix=PTX
// RUN: %cc -std=c99 -Wall -Wextra -Werror -pedantic -I%t -I%qat_src_root/include -c %S/Inputs/cuda-aot-driver.c -o %t/driver.o

// The lowered module keeps the kernels' binaries; qat-run runs it only on
// the GPU.
// RUN: qat-run %s --target=cuda --emit-lowered=%t/lowered.mlir
// RUN: FileCheck %s --check-prefix=LOWERED < %t/lowered.mlir
// RUN: not qat-run %t/lowered.mlir --arg=iota --arg=const:2 2>&1 | FileCheck %s --check-prefix=ONCPU

// HEADER: C interface of 'gpu_affine', compiled by qat-run from cuda-aot.mlir.
// HEADER: Compiled for the GPU (--target=cuda)
// HEADER: cc main.c gpu_affine.o -Lrt/lib -lqat_cuda_runtime
// HEADER: MLIR signature: (tensor<2x3xf32>, f32) -> (tensor<2x3xf32>, tensor<3xf32>, tensor<f32>)
// HEADER: arg0: tensor<2x3xf32> -> qat_memref_2d_f32 *, shape [2, 3]
// HEADER: arg1: f32 -> float, a scalar passed by value
// HEADER: r2: tensor<f32> -> qat_memref_0d_f32, shape []
// HEADER: Buffers are in device memory
// HEADER: Device pointers must be 16-byte aligned
// HEADER: Returned buffers belong to the caller: qat-to-nvptx returns every result in
// HEADER: void qat_cuda_free(void *devicePtr);
// HEADER: float *allocated; /* the allocation, in device memory: what is freed */
// HEADER: void _mlir_ciface_gpu_affine(gpu_affine_results *results, qat_memref_2d_f32 *arg0, float arg1);
// HEADER: static inline void gpu_affine_free_results(gpu_affine_results *results) {
// HEADER-NEXT: qat_cuda_free(results->r0.allocated);
// HEADER-NEXT: qat_cuda_free(results->r1.allocated);
// HEADER-NEXT: qat_cuda_free(results->r2.allocated);
// HEADER-NEXT: }

// SYMBOLS-DAG: T _mlir_ciface_gpu_affine
// SYMBOLS-DAG: r gpu_affine_kernel_binary
// SYMBOLS-DAG: r gpu_affine_kernel_0_binary

// The host code needs the runtime's mgpu* functions and nothing else.
// UNDEF-NOT: {{ U [^m]}}
// UNDEF-DAG: U mgpuLaunchKernel
// UNDEF-DAG: U mgpuMemAlloc
// UNDEF-DAG: U mgpuModuleLoad
// UNDEF-DAG: U mgpuStreamSynchronize
// UNDEF-NOT: {{ U [^m]}}

// A cubin (an ELF file) per kernel, or PTX with format=isa.
// ELF: Contents of section .rodata:
// ELF-NEXT: 0000 7f454c46
// CUBIN-DAG: .nv.info
// CUBIN-DAG: .text.gpu_affine_kernel
// PTX: .version 8.0
// PTX-NEXT: .target sm_90
// PTX: .entry gpu_fake_quant_kernel(

// LOWERED: llvm.func @gpu_affine({{.*}}qat.target = "cuda"
// LOWERED: gpu.binary @gpu_affine_kernel
// ONCPU: qat-run: error: function 'gpu_affine' was lowered for --target=cuda; run it with --target=cuda, or give qat-run the module before lowering

#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @gpu_affine(%x: tensor<2x3xf32>, %scale: f32)
    -> (tensor<2x3xf32>, tensor<3xf32>, tensor<f32>) {
  %e = tensor.empty() : tensor<2x3xf32>
  %t = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.mulf %v, %scale : f32
    %th = math.tanh %m : f32
    linalg.yield %th : f32
  } -> tensor<2x3xf32>
  %zero = arith.constant 0.0 : f32
  %ec = tensor.empty() : tensor<3xf32>
  %zc = linalg.fill ins(%zero : f32) outs(%ec : tensor<3xf32>) -> tensor<3xf32>
  %sums = linalg.reduce ins(%x : tensor<2x3xf32>) outs(%zc : tensor<3xf32>) dimensions = [0]
    (%in: f32, %acc: f32) {
      %a = arith.addf %in, %acc : f32
      linalg.yield %a : f32
    }
  %ninf = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<f32>
  %z0 = linalg.fill ins(%ninf : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %mx = linalg.reduce ins(%x : tensor<2x3xf32>) outs(%z0 : tensor<f32>) dimensions = [0, 1]
    (%in: f32, %acc: f32) {
      %a = arith.maximumf %in, %acc : f32
      linalg.yield %a : f32
    }
  return %t, %sums, %mx : tensor<2x3xf32>, tensor<3xf32>, tensor<f32>
}
