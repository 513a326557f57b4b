// Mistakes around --target=cuda are errors that say what is wrong; none of
// these needs a GPU.

// RUN: rm -rf %t && mkdir -p %t

// GPU options without the GPU target.
// RUN: not qat-run %s --gpu-chip=sm_80 --arg=iota 2>&1 | FileCheck %s --check-prefix=CHIP
// CHIP: qat-run: error: --gpu-chip and --gpu-features need --target=cuda

// Pipeline options are those of the target's pipeline.
// RUN: not qat-run %s --target=cuda --pipeline-options="bogus=1" --emit-lowered=%t/x.mlir 2>&1 | FileCheck %s --check-prefix=OPTIONS
// OPTIONS: qat-run: error: invalid options 'bogus=1' for qat-to-nvptx: {{.*}}bogus
// RUN: not qat-run %s --pipeline-options="format=isa" --arg=iota 2>&1 | FileCheck %s --check-prefix=CPUOPTIONS
// CPUOPTIONS: qat-run: error: invalid options 'format=isa' for qat-to-cpu: {{.*}}format
// --gpu-chip wins over a chip in --pipeline-options.
// RUN: qat-run %s --target=cuda --gpu-chip=sm_80 --pipeline-options="chip=sm_90 format=isa" --emit-lowered=%t/x.mlir
// RUN: FileCheck %s --check-prefix=OVERRIDE < %t/x.mlir
// OVERRIDE: gpu.binary @main_kernel {{.*}}chip = "sm_80"{{.*}}.target sm_80
// Work that cannot run on the GPU is reported by the pipeline.
// RUN: not qat-run %S/Inputs/cuda-scalar-result.mlir --target=cuda --emit-lowered=%t/x.mlir 2>&1 | FileCheck %s --check-prefix=HOST
// HOST: error: 'memref.load' op reads or writes buffer elements on the host, but buffers live in GPU memory
// HOST: qat-run: error: the qat-to-nvptx pipeline failed (see the diagnostics above)

// A module lowered for one target is not run on the other.
// RUN: qat-run %s --emit-lowered=%t/cpu.mlir
// RUN: not qat-run %t/cpu.mlir --target=cuda --emit-header=%t/h.h 2>&1 | FileCheck %s --check-prefix=LOWEREDCPU
// LOWEREDCPU: qat-run: error: function 'main' was lowered for --target=cpu; run it with --target=cpu, or give qat-run the module before lowering
// RUN: qat-run %s --target=cuda --emit-lowered=%t/gpu.mlir
// RUN: not qat-run %t/gpu.mlir --arg=iota 2>&1 | FileCheck %s --check-prefix=LOWEREDGPU
// LOWEREDGPU: qat-run: error: function 'main' was lowered for --target=cuda; run it with --target=cuda
// RUN: sed -e "s/, qat.target = \"cuda\"//" %t/gpu.mlir > %t/gpu-untagged.mlir
// RUN: not qat-run %t/gpu-untagged.mlir --arg=iota 2>&1 | FileCheck %s --check-prefix=UNTAGGED
// UNTAGGED: qat-run: error: the module launches GPU kernels (it was lowered by qat-to-nvptx); run it with --target=cuda

// The runtime library is named by --shared-libs, or found next to qat-run.
// RUN: touch %t/libqat_cuda_runtime.so
// RUN: not qat-run %s --target=cuda --shared-libs=%t/libqat_cuda_runtime.so --arg=iota 2>&1 | FileCheck %s --check-prefix=BADLIB
// BADLIB: qat-run: error: cannot load the qat CUDA runtime '{{.*}}libqat_cuda_runtime.so': {{.+}}

func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %y = linalg.add ins(%x, %x : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}
