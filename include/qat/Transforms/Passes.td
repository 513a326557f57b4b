//===- Passes.td - Passes of the qat pipelines -------------*- tablegen -*-===//
//
// Passes that are not tied to the qat dialect but that the qat pipelines
// need between upstream stages.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_TRANSFORMS_PASSES_TD
#define QAT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def GPUDeviceBuffers : Pass<"qat-gpu-device-buffers", "func::FuncOp"> {
  let summary = "Place the buffers of host code in GPU memory";
  let description = [{
    After bufferization, the temporaries and results of a function that runs
    its work in `gpu.launch` kernels are still `memref.alloc` (host memory).
    This pass turns host-side `memref.alloc`/`memref.dealloc`/`memref.copy`
    into `gpu.alloc`/`gpu.dealloc`/`gpu.memcpy`, so that kernels read and
    write device memory and the function's arguments and results are device
    buffers.

    Host code must not touch element data any more: an operation outside a
    kernel that loads, stores or computes on a buffer (a linalg op that no
    GPU strategy mapped, for example) is reported as an error naming it,
    instead of becoming a host access to device memory at run time.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

#endif // QAT_TRANSFORMS_PASSES_TD
