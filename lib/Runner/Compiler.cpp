//===- Compiler.cpp - Lowering a module for execution -----------*- C++ -*-===//
//
// The qat-to-cpu and qat-to-nvptx pipelines as qat-run drives them, the
// checks after them, and object file emission through an LLVM TargetMachine.
//
//===----------------------------------------------------------------------===//

#include "qat/Runner/Compiler.h"
#include "qat/Runner/OutputFile.h"

#include "qat/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
using namespace mlir::qat;
using llvm::createStringError;
using llvm::inconvertibleErrorCode;

static llvm::Error makeError(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message);
}

static std::string typeToString(Type type) {
  std::string result;
  llvm::raw_string_ostream os(result);
  os << type;
  return result;
}

StringRef mlir::qat::getTargetName(Target target) {
  return target == Target::CUDA ? "cuda" : "cpu";
}

/// The GPU dialect ops that host code lowered by qat-to-nvptx keeps: the
/// kernels' binaries and their launches, which the translation to LLVM IR
/// turns into an embedded blob and calls of the runtime.
static bool isGPUHostOp(Operation *op) {
  return isa<gpu::BinaryOp, gpu::LaunchFuncOp>(op);
}

/// Reports the outermost operation outside the LLVM dialect (and, if
/// `allowGPU`, outside the GPU host ops) at its location; `why` completes
/// "'op' is not in the LLVM dialect", `summary` is the error.
static llvm::Error checkOnlyLLVMDialect(ModuleOp module, bool allowGPU,
                                        const Twine &why,
                                        const Twine &summary) {
  Operation *leftover = nullptr;
  module.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (op == module.getOperation() || isa<LLVM::LLVMDialect>(op->getDialect()))
      return WalkResult::advance();
    if (allowGPU && isGPUHostOp(op))
      return WalkResult::skip();
    leftover = op;
    return WalkResult::interrupt();
  });
  if (!leftover)
    return llvm::Error::success();
  leftover->emitError() << "'" << leftover->getName()
                        << "' is not in the LLVM dialect" << why;
  return makeError(summary + " (see the diagnostic above)");
}

/// Parses `text` into the options of a pipeline; the error lists what the
/// parser said.
template <typename OptionsT>
static llvm::Expected<std::unique_ptr<OptionsT>>
parsePipelineOptions(StringRef text, StringRef pipeline) {
  auto options = std::make_unique<OptionsT>();
  std::string message;
  llvm::raw_string_ostream os(message);
  if (failed(options->parseFromString(text, os)))
    return makeError("invalid options '" + text + "' for " + pipeline + ": " +
                     StringRef(message).trim());
  return std::move(options);
}

/// Lowers the module of the func.func `func` with the target's pipeline.
static llvm::Error
runPipeline(ModuleOp module, func::FuncOp func, const EntrySignature &signature,
            const LoweringOptions &options,
            llvm::function_ref<LogicalResult(PassManager &)> configure) {
  MLIRContext *context = module.getContext();
  func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                UnitAttr::get(context));
  func->setAttr(kSignatureAttrName, TypeAttr::get(signature.type));
  func->setAttr(kTargetAttrName,
                StringAttr::get(context, getTargetName(options.target)));

  PassManager pm(context, module.getOperationName());
  if (configure && failed(configure(pm)))
    return makeError("invalid pass manager options");
  bool cuda = options.target == Target::CUDA;
  StringRef pipeline = cuda ? "qat-to-nvptx" : "qat-to-cpu";
  if (cuda) {
    auto parsed = parsePipelineOptions<QATToNVPTXPipelineOptions>(
        options.pipelineOptions, pipeline);
    if (!parsed)
      return parsed.takeError();
    if (llvm::Error error = verifyQATToNVPTXPipelineOptions(**parsed))
      return error;
    buildQATToNVPTXPipeline(pm, **parsed);
  } else {
    auto parsed = parsePipelineOptions<QATToCPUPipelineOptions>(
        options.pipelineOptions, pipeline);
    if (!parsed)
      return parsed.takeError();
    buildQATToCPUPipeline(pm, **parsed);
  }
  if (failed(pm.run(module)))
    return makeError("the " + pipeline +
                     " pipeline failed (see the diagnostics above)");
  return checkOnlyLLVMDialect(module, cuda, " after " + pipeline,
                              pipeline +
                                  " left operations outside the LLVM dialect");
}

/// Checks that a module lowered elsewhere suits `target`.
static llvm::Error checkLoweredFor(ModuleOp module, Operation *entry,
                                   const EntrySignature &signature,
                                   Target target) {
  StringRef name = getTargetName(target);
  if (auto recorded = entry->getAttrOfType<StringAttr>(kTargetAttrName);
      recorded && recorded.getValue() != name)
    return makeError("function '" + signature.name +
                     "' was lowered for --target=" + recorded.getValue() +
                     "; run it with --target=" + recorded.getValue() +
                     ", or give qat-run the module before lowering");
  if (target == Target::CPU) {
    WalkResult gpu = module.walk([](Operation *op) {
      return isGPUHostOp(op) ? WalkResult::interrupt() : WalkResult::advance();
    });
    if (gpu.wasInterrupted())
      return makeError("the module launches GPU kernels (it was lowered by "
                       "qat-to-nvptx); run it with --target=cuda");
  }
  return checkOnlyLLVMDialect(
      module, target == Target::CUDA,
      ", but the entry '" + signature.name +
          "' is an llvm.func, so qat-run does not lower the module",
      "the module mixes the LLVM dialect with other dialects; give qat-run "
      "the module before lowering, or lower all of it");
}

llvm::Error mlir::qat::lowerToLLVMDialect(
    ModuleOp module, const EntrySignature &signature,
    llvm::function_ref<LogicalResult(PassManager &)> configure) {
  return lowerToLLVMDialect(module, signature, LoweringOptions(), configure);
}

llvm::Error mlir::qat::lowerToLLVMDialect(
    ModuleOp module, const EntrySignature &signature,
    const LoweringOptions &options,
    llvm::function_ref<LogicalResult(PassManager &)> configure) {
  Operation *entry = SymbolTable::lookupSymbolIn(module, signature.name);
  MLIRContext *context = module.getContext();
  if (auto func = dyn_cast_or_null<func::FuncOp>(entry)) {
    if (llvm::Error error =
            runPipeline(module, func, signature, options, configure))
      return error;
  } else if (llvm::Error error =
                 checkLoweredFor(module, entry, signature, options.target)) {
    return error;
  }

  auto lowered = dyn_cast_or_null<LLVM::LLVMFuncOp>(
      SymbolTable::lookupSymbolIn(module, signature.name));
  if (!lowered)
    return makeError("no llvm.func '" + signature.name + "' after lowering");
  Type expected = getLoweredFunctionType(context, signature);
  if (lowered.getFunctionType() != expected)
    return makeError("function '" + signature.name + "' has the LLVM type '" +
                     typeToString(lowered.getFunctionType()) +
                     "', but its signature '" + typeToString(signature.type) +
                     "' lowers to '" + typeToString(expected) +
                     "'; the signature does not describe this function");
  return llvm::Error::success();
}

static void initializeTargets() {
  // Every target in libLLVM, so that --object-triple can cross-compile.
  llvm::InitializeAllTargetInfos();
  llvm::InitializeAllTargets();
  llvm::InitializeAllTargetMCs();
  llvm::InitializeAllAsmPrinters();
}

llvm::Error
mlir::qat::emitObjectFile(ModuleOp module, StringRef path,
                          const ObjectOptions &options,
                          SmallVectorImpl<std::string> *undefinedSymbols) {
  initializeTargets();
  llvm::Triple triple(options.triple.empty() ? llvm::sys::getProcessTriple()
                                             : options.triple);
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return makeError("no target for triple '" + triple.str() + "': " + error);

  std::string cpu = options.cpu, features;
  // LLVM only warns about an unknown CPU and then compiles for a default
  // one (or aborts later); the name is checked first.
  if (cpu != "native" && cpu != "generic") {
    std::unique_ptr<llvm::MCSubtargetInfo> info(
        target->createMCSubtargetInfo(triple, "", ""));
    if (info && !info->isCPUStringValid(cpu)) {
      SmallVector<StringRef> cpus;
      for (const llvm::SubtargetSubTypeKV &kv :
           info->getAllProcessorDescriptions())
        cpus.push_back(kv.Key);
      return makeError(
          "--object-cpu=" + cpu + " is not a CPU of " + triple.str() +
          "; expected generic, native or one of: " + llvm::join(cpus, ", "));
    }
  }
  if (cpu == "native") {
    cpu = llvm::sys::getHostCPUName().str();
    SmallVector<std::string> flags;
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      flags.push_back((feature.second ? "+" : "-") + feature.first().str());
    features = llvm::join(flags, ",");
  }
  // PIC, because the default C compilers make position-independent
  // executables and refuse absolute relocations.
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpu, features, llvm::TargetOptions(), llvm::Reloc::PIC_,
      std::nullopt, static_cast<llvm::CodeGenOptLevel>(options.optLevel)));
  if (!machine)
    return makeError("cannot create a target machine for '" + triple.str() +
                     "' and CPU '" + cpu + "'");

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext);
  if (!llvmModule)
    return makeError("translation to LLVM IR failed (see the diagnostics "
                     "above)");
  llvmModule->setTargetTriple(machine->getTargetTriple());
  llvmModule->setDataLayout(machine->createDataLayout());
  auto optimize = makeOptimizingTransformer(options.optLevel, /*sizeLevel=*/0,
                                            machine.get());
  if (llvm::Error error = optimize(llvmModule.get()))
    return makeError("LLVM optimization failed: " +
                     llvm::toString(std::move(error)));

  // Into memory first, to list the object's undefined symbols from it.
  SmallString<0> object;
  llvm::raw_svector_ostream objectStream(object);
  llvm::legacy::PassManager codegen;
  if (machine->addPassesToEmitFile(codegen, objectStream, nullptr,
                                   llvm::CodeGenFileType::ObjectFile))
    return makeError("the target '" + triple.str() +
                     "' cannot emit object files");
  codegen.run(*llvmModule);

  if (undefinedSymbols) {
    auto fileOrErr = llvm::object::ObjectFile::createObjectFile(
        llvm::MemoryBufferRef(object, path));
    if (!fileOrErr)
      return makeError("cannot read back the object: " +
                       llvm::toString(fileOrErr.takeError()));
    for (const llvm::object::SymbolRef &symbol : (*fileOrErr)->symbols()) {
      auto flags = symbol.getFlags();
      auto name = symbol.getName();
      if (!flags || !name) {
        llvm::consumeError(flags.takeError());
        llvm::consumeError(name.takeError());
        continue;
      }
      if ((*flags & llvm::object::SymbolRef::SF_Undefined) && !name->empty())
        undefinedSymbols->push_back(name->str());
    }
  }

  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return makeError("cannot write '" + path + "': " + ec.message());
  out.os() << object;
  return finishOutputFile(out, path);
}
