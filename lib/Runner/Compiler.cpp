//===- Compiler.cpp - Lowering a module for execution -----------*- C++ -*-===//
//
// The qat-to-cpu pipeline as qat-run drives it, the checks after it, and
// object file emission through an LLVM TargetMachine.
//
//===----------------------------------------------------------------------===//

#include "qat/Runner/Compiler.h"

#include "qat/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
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

/// Reports the outermost operation outside the LLVM dialect at its location;
/// `why` completes "'op' is not in the LLVM dialect", `summary` is the error.
static llvm::Error checkOnlyLLVMDialect(ModuleOp module, const Twine &why,
                                        const Twine &summary) {
  Operation *leftover = nullptr;
  module.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (op == module.getOperation() || isa<LLVM::LLVMDialect>(op->getDialect()))
      return WalkResult::advance();
    leftover = op;
    return WalkResult::interrupt();
  });
  if (!leftover)
    return llvm::Error::success();
  leftover->emitError() << "'" << leftover->getName()
                        << "' is not in the LLVM dialect" << why;
  return makeError(summary + " (see the diagnostic above)");
}

llvm::Error mlir::qat::lowerToLLVMDialect(
    ModuleOp module, const EntrySignature &signature,
    llvm::function_ref<LogicalResult(PassManager &)> configure) {
  Operation *entry = SymbolTable::lookupSymbolIn(module, signature.name);
  MLIRContext *context = module.getContext();
  if (auto func = dyn_cast_or_null<func::FuncOp>(entry)) {
    func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                  UnitAttr::get(context));
    func->setAttr(kSignatureAttrName, TypeAttr::get(signature.type));

    PassManager pm(context, module.getOperationName());
    if (configure && failed(configure(pm)))
      return makeError("invalid pass manager options");
    buildQATToCPUPipeline(pm, QATToCPUPipelineOptions());
    if (failed(pm.run(module)))
      return makeError("the qat-to-cpu pipeline failed (see the diagnostics "
                       "above)");
    if (llvm::Error error = checkOnlyLLVMDialect(
            module, " after qat-to-cpu",
            "qat-to-cpu left operations outside the LLVM dialect"))
      return error;
  } else if (llvm::Error error = checkOnlyLLVMDialect(
                 module,
                 ", but the entry '" + signature.name +
                     "' is an llvm.func, so qat-run does not lower the module",
                 "the module mixes the LLVM dialect with other dialects; "
                 "give qat-run the module before lowering, or lower all of "
                 "it")) {
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
  out.os().flush();
  if (out.os().has_error())
    return makeError("cannot write '" + path +
                     "': " + out.os().error().message());
  out.keep();
  return llvm::Error::success();
}
