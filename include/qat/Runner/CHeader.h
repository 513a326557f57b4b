//===- CHeader.h - C header for an ahead-of-time compiled entry -*- C++ -*-===//
//
// The header that goes with an object file written by qat-run, so that C and
// C++ programs on machines without LLVM can call the compiled function.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_RUNNER_CHEADER_H
#define QAT_RUNNER_CHEADER_H

#include "qat/Runner/Compiler.h"
#include "qat/Runner/Signature.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::qat {

/// Prints a C header declaring `_mlir_ciface_<name>` for `signature`: one
/// memref descriptor typedef per rank and element type used, a struct of the
/// results when there are several, the prototype, a helper that frees the
/// returned buffers, and a comment stating the shapes, the layout and who
/// owns what. `sourceName` and `objectName` (the object file, if known) are
/// named in the comment. Fails if the name is not a C identifier or a value
/// cannot cross the C ABI portably (a bf16 or f16 scalar passed by value).
/// For Target::CUDA the buffers are device memory: the comment says so and
/// how to link with the qat CUDA runtime, and the helper frees with
/// qat_cuda_free.
llvm::Error printCHeader(llvm::raw_ostream &os, const EntrySignature &signature,
                         StringRef sourceName, StringRef objectName = "",
                         Target target = Target::CPU);

/// printCHeader into the file `path`.
llvm::Error writeCHeader(StringRef path, const EntrySignature &signature,
                         StringRef sourceName, StringRef objectName = "",
                         Target target = Target::CPU);

} // namespace mlir::qat

#endif // QAT_RUNNER_CHEADER_H
