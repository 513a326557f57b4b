//===- Passes.td - qat.matmul to tensor-core kernels -------*- tablegen -*-===//
//
// The pass that maps qat.matmul onto NVIDIA tensor cores.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_CONVERSION_QATMATMULTONVGPU_PASSES_TD
#define QAT_CONVERSION_QATMATMULTONVGPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertQATMatmulToNVGPU
    : Pass<"convert-qat-matmul-to-nvgpu", "::mlir::ModuleOp"> {
  let summary = "Lower qat.matmul to an integer tensor-core GPU kernel";
  let description = [{
    Replaces every `qat.matmul` by a launch of a GPU kernel that multiplies
    the integer codes on the tensor cores (`nvgpu.mma.sync`: s8 operands with
    mmaShape [16, 8, 32], or s4 operands with [16, 8, 64] read directly from
    `packed` bytes) with int32 accumulation, and applies the dequantizing
    epilogue (row sums for the 1/2 offsets of the centered grid, the steps of
    both operands, conversion to the result type) before writing each output
    element once.

    The rewrite stays at tensor level so that it composes with one-shot
    bufferization: operands become buffers through `bufferization.to_buffer`,
    the result is a `memref.alloc` written by a `gpu.launch_func` and
    returned through `bufferization.to_tensor ... restrict writable`. The
    kernel is a `gpu.func` in a `gpu.module` of its own, with its shared
    memory as a 128-byte aligned `memref.global`; ops with equal shapes,
    grids and types share one kernel. A later pipeline attaches the NVVM
    target, puts the host buffers in device memory and compiles the module.

    Shapes: M and N are arbitrary (tail tiles are guarded); K must give rows
    of a multiple of 16 bytes (K % 16 == 0 for i8 codes, K % 32 == 0 for
    packed 4-bit codes); the tail of the last 64-byte K tile is zero-filled.
    Unpacked codes must be stored as i8. Unsupported ops are reported and
    the pass fails.

    Example:

    ```mlir
    %y = qat.matmul %a, %b, %sa, %sb as #w4, #w4 packed
        : tensor<256x512xi8>, tensor<128x512xi8>, tensor<256x1xf32>,
          tensor<128x1xf32> -> tensor<256x128xbf16>
    ```
    becomes `bufferization.to_buffer` of the four operands, a
    `memref.alloc() : memref<256x128xbf16>`, a `gpu.launch_func` of
    `@qat_matmul_256x128x1024_centered_centered_s4_bf16::@qat_matmul_mma_sync`
    on 2 blocks of 256 threads, and a `bufferization.to_tensor`.
  }];
  let options = [
    Option<"strategy", "strategy", "::mlir::qat::MatmulGPUStrategy",
           "::mlir::qat::MatmulGPUStrategy::MmaSync",
           "Kernel strategy", [{::llvm::cl::values(
             clEnumValN(::mlir::qat::MatmulGPUStrategy::MmaSync, "mma-sync",
                        "warp-level mma.sync with cp.async pipelining "
                        "(sm_80 and later)"))}]>,
    Option<"stages", "stages", "unsigned", /*default=*/"3",
           "Shared-memory pipeline stages of the K loop (2 or 3, 16 KiB "
           "each)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

#endif // QAT_CONVERSION_QATMATMULTONVGPU_PASSES_TD
