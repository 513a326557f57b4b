//===- Compiler.h - Lowering a module for execution -------------*- C++ -*-===//
//
// What qat-run does between parsing and running: lowering to the LLVM
// dialect with qat-to-cpu, checking the entry's ABI, and writing an object
// file for ahead-of-time use.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_RUNNER_COMPILER_H
#define QAT_RUNNER_COMPILER_H

#include "qat/Runner/Signature.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <string>

namespace mlir {
class PassManager;

namespace qat {

/// Lowers `module` to the LLVM dialect unless its entry already is an
/// llvm.func. The entry is first given the llvm.emit_c_interface attribute
/// (so that `_mlir_ciface_<name>` exists for C callers) and its tensor-level
/// signature as qat.signature (so that the lowered module can be run again).
/// `configure` may set up the pass manager (instrumentation, CL options).
/// Then checks that only LLVM dialect remains and that the entry has the
/// type the signature lowers to. Pass failures emit diagnostics through the
/// context before the error is returned.
llvm::Error lowerToLLVMDialect(
    ModuleOp module, const EntrySignature &signature,
    llvm::function_ref<LogicalResult(PassManager &)> configure = {});

/// Where and how to compile an object file.
struct ObjectOptions {
  /// LLVM optimization level, 0 to 3.
  unsigned optLevel = 2;
  /// Target triple; empty: the host's.
  std::string triple;
  /// CPU to tune and select instructions for: "generic" runs on any CPU of
  /// the triple's architecture; "native" is the host's CPU and features.
  std::string cpu = "generic";
};

/// Translates `module` (LLVM dialect) to LLVM IR, optimizes it and writes a
/// position-independent object file to `path`. `undefinedSymbols`, if given,
/// receives the symbols the object needs from elsewhere (malloc, libm
/// functions, compiler runtime helpers such as __truncsfbf2).
llvm::Error
emitObjectFile(ModuleOp module, StringRef path, const ObjectOptions &options,
               SmallVectorImpl<std::string> *undefinedSymbols = nullptr);

} // namespace qat
} // namespace mlir

#endif // QAT_RUNNER_COMPILER_H
