//===- Executor.h - Calling compiled qat code in a JIT ----------*- C++ -*-===//
//
// JIT compilation of an LLVM dialect module with mlir::ExecutionEngine and
// calls of its entry through the packed interface, which takes any signature
// as an array of pointers: one per LLVM-level argument (a memref contributes
// allocated pointer, aligned pointer, offset, sizes and strides) plus one to
// the result (a descriptor, a scalar, or a struct of those). Code lowered
// for the GPU takes and returns device buffers: the call uploads and
// downloads through the qat CUDA runtime.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_RUNNER_EXECUTOR_H
#define QAT_RUNNER_EXECUTOR_H

#include "qat/Runner/HostTensor.h"
#include "qat/Runner/Signature.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <memory>

namespace mlir {
class ExecutionEngine;

namespace qat {
class CUDADevice;

/// Median, minimum and maximum of the timed calls, in seconds.
struct Timing {
  double median = 0, min = 0, max = 0;
  unsigned runs = 0, warmup = 0;
};

/// The entry of a JIT-compiled module, callable on host arrays.
class JITFunction {
public:
  ~JITFunction();

  /// JIT-compiles `module` (LLVM dialect) for the host CPU, LLVM-optimized at
  /// `optLevel` (0 to 3). libm and the C library resolve from the process,
  /// MLIR's runner utilities (memrefCopy, which memref.copy of non-contiguous
  /// memrefs calls, and the printMemref* functions) from the libraries next
  /// to libMLIR, other symbols from `sharedLibs`.
  ///
  /// With `device`, `module` is host code lowered by qat-to-nvptx, whose
  /// arguments and results are device buffers: inputs are uploaded to the
  /// device before every call, results downloaded and freed after it, and
  /// `device`'s runtime library (already loaded) provides the mgpu*
  /// functions the host code calls. `device` must outlive the function.
  static llvm::Expected<std::unique_ptr<JITFunction>>
  create(ModuleOp module, const EntrySignature &signature, unsigned optLevel,
         ArrayRef<std::string> sharedLibs = {}, CUDADevice *device = nullptr);

  /// Calls the entry on copies of `inputs` (compiled code may write in place
  /// into its arguments) and returns the results as host arrays. Returned
  /// buffers are freed: the compiled code allocated them for the caller.
  /// On the GPU, a CUDA error of any step (an upload, a kernel launch or a
  /// fault inside a kernel, a download) is returned with the failing call,
  /// the kernel where known and the CUDA error.
  llvm::Expected<SmallVector<HostTensor>> call(ArrayRef<HostTensor> inputs);

  /// Calls the entry `warmup` times untimed, then `repeat` times timed (the
  /// call only, not the input copies or the result conversion; on the GPU
  /// with CUDA events around the call). `results` receives those of the
  /// last call.
  llvm::Expected<Timing> time(ArrayRef<HostTensor> inputs, unsigned warmup,
                              unsigned repeat,
                              SmallVectorImpl<HostTensor> &results);

private:
  /// The buffers one call passes to compiled code (host copies of the
  /// inputs, or device buffers).
  struct Arguments;

  JITFunction(std::unique_ptr<ExecutionEngine> engine,
              const EntrySignature &signature, CUDADevice *device);
  llvm::Expected<std::unique_ptr<Arguments>>
  makeArguments(ArrayRef<HostTensor> inputs);
  /// One call: copies inputs into `arguments`, invokes, decodes and frees
  /// the results. `seconds` receives the duration of the invocation alone.
  llvm::Error invoke(Arguments &arguments, ArrayRef<HostTensor> inputs,
                     SmallVectorImpl<HostTensor> &results, double &seconds);
  /// The contents of the memref that a returned descriptor describes.
  llvm::Expected<HostTensor> readResult(const char *descriptor,
                                        const BoundaryValue &result,
                                        const std::string &what);

  std::unique_ptr<ExecutionEngine> engine;
  EntrySignature signature;
  CUDADevice *device = nullptr;
  void (*packed)(void **) = nullptr;
};

} // namespace qat
} // namespace mlir

#endif // QAT_RUNNER_EXECUTOR_H
