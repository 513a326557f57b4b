//===- Executor.h - Calling compiled qat code in a JIT ----------*- C++ -*-===//
//
// JIT compilation of an LLVM dialect module with mlir::ExecutionEngine and
// calls of its entry through the packed interface, which takes any signature
// as an array of pointers: one per LLVM-level argument (a memref contributes
// allocated pointer, aligned pointer, offset, sizes and strides) plus one to
// the result (a descriptor, a scalar, or a struct of those).
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
  static llvm::Expected<std::unique_ptr<JITFunction>>
  create(ModuleOp module, const EntrySignature &signature, unsigned optLevel,
         ArrayRef<std::string> sharedLibs = {});

  /// Calls the entry on copies of `inputs` (compiled code may write in place
  /// into its arguments) and returns the results as host arrays. Returned
  /// buffers are freed: the compiled code malloc'ed them for the caller.
  llvm::Expected<SmallVector<HostTensor>> call(ArrayRef<HostTensor> inputs);

  /// Calls the entry `warmup` times untimed, then `repeat` times timed (the
  /// call only, not the input copies or the result conversion). `results`
  /// receives those of the last call.
  llvm::Expected<Timing> time(ArrayRef<HostTensor> inputs, unsigned warmup,
                              unsigned repeat,
                              SmallVectorImpl<HostTensor> &results);

private:
  JITFunction(std::unique_ptr<ExecutionEngine> engine,
              const EntrySignature &signature);
  /// One call: copies inputs into scratch, invokes, decodes and frees the
  /// results. `seconds` receives the duration of the invocation alone.
  llvm::Error invoke(MutableArrayRef<HostTensor> scratch,
                     ArrayRef<HostTensor> inputs,
                     SmallVectorImpl<HostTensor> &results, double &seconds);

  std::unique_ptr<ExecutionEngine> engine;
  EntrySignature signature;
  void (*packed)(void **) = nullptr;
};

} // namespace qat
} // namespace mlir

#endif // QAT_RUNNER_EXECUTOR_H
