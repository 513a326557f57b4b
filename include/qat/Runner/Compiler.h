//===- Compiler.h - Lowering a module for execution -------------*- C++ -*-===//
//
// What qat-run does between parsing and running: lowering to the LLVM
// dialect with qat-to-cpu or qat-to-nvptx, checking the entry's ABI, and
// writing an object file for ahead-of-time use.
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

/// The machine that runs a compiled function.
enum class Target { CPU, CUDA };

/// "cpu" or "cuda", as --target spells it.
StringRef getTargetName(Target target);

/// Name of the function attribute that records the target a function was
/// lowered for, so that a module lowered for one is not run on the other.
constexpr StringLiteral kTargetAttrName = "qat.target";

/// How to lower a module for `target`.
struct LoweringOptions {
  Target target = Target::CPU;
  /// Options of the target's pipeline (qat-to-cpu or qat-to-nvptx) in their
  /// textual form, e.g. "chip=sm_80 format=isa".
  std::string pipelineOptions;
};

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

/// The same for the target and pipeline options of `options`. For CUDA the
/// pipeline is qat-to-nvptx: the result is host code in the LLVM dialect
/// whose kernels are gpu.binary ops (the cubin or PTX) and whose launches
/// are gpu.launch_func ops, which the translation to LLVM IR turns into
/// calls of the qat CUDA runtime. The entry also gets its target as
/// qat.target; a lowered module whose qat.target is not `options.target` is
/// rejected, as is a lowered module with GPU kernels for the CPU.
llvm::Error lowerToLLVMDialect(
    ModuleOp module, const EntrySignature &signature,
    const LoweringOptions &options,
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
