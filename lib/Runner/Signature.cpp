//===- Signature.cpp - The entry function qat-run calls ---------*- C++ -*-===//
//
// Entry lookup with messages that list the candidates, and the mapping from
// a tensor-level signature to what crosses the C boundary.
//
//===----------------------------------------------------------------------===//

#include "qat/Runner/Signature.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

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

/// Functions that the C interface lowering and the ExecutionEngine generate
/// around the user's functions; they are never what a user means to run.
static bool isGeneratedWrapper(StringRef name) {
  return name.starts_with("_mlir_");
}

static bool isRunnable(FunctionOpInterface func) {
  if (func.isExternal() || isGeneratedWrapper(func.getName()))
    return false;
  if (auto llvmFunc = dyn_cast<LLVM::LLVMFuncOp>(func.getOperation()))
    return llvmFunc.getLinkage() == LLVM::Linkage::External;
  return cast<SymbolOpInterface>(func.getOperation()).isPublic();
}

llvm::Expected<Operation *> mlir::qat::findEntryFunction(ModuleOp module,
                                                         StringRef requested) {
  SmallVector<FunctionOpInterface> candidates;
  for (auto func : module.getOps<FunctionOpInterface>())
    if (isRunnable(func))
      candidates.push_back(func);
  auto listCandidates = [&]() {
    if (candidates.empty())
      return std::string("the module defines no public function");
    return "public functions: " +
           llvm::join(llvm::map_range(candidates,
                                      [](FunctionOpInterface f) {
                                        return f.getName().str();
                                      }),
                      ", ");
  };

  if (!requested.empty()) {
    auto func = dyn_cast_or_null<FunctionOpInterface>(
        SymbolTable::lookupSymbolIn(module, requested));
    if (!func)
      return makeError("no function named '" + requested + "' in the module; " +
                       listCandidates());
    if (func.isExternal())
      return makeError("function '" + requested +
                       "' is only declared, it has no body; " +
                       listCandidates());
    if (isGeneratedWrapper(requested))
      return makeError("'" + requested +
                       "' is a generated wrapper; run the function it wraps "
                       "instead; " +
                       listCandidates());
    return func.getOperation();
  }

  if (auto main = dyn_cast_or_null<FunctionOpInterface>(
          SymbolTable::lookupSymbolIn(module, "main"));
      main && !main.isExternal())
    return main.getOperation();
  if (candidates.size() == 1)
    return candidates.front().getOperation();
  if (candidates.empty())
    return makeError("the module defines no public function to run");
  return makeError(
      "the module has no function 'main' and " + Twine(candidates.size()) +
      " public functions; choose one with --entry=NAME; " + listCandidates());
}

/// What qat-run passes for `type`, or an error that says what it accepts.
static llvm::Expected<BoundaryValue> classify(Type type, const Twine &what) {
  auto unsupported = [&](const Twine &why) {
    return makeError(what + " has type '" + typeToString(type) + "': " + why);
  };
  static constexpr StringLiteral kSupported =
      "qat-run passes tensors, memrefs and scalars of f32, f64, f16, bf16, "
      "i1, i8, i16, i32 and i64";

  BoundaryValue value;
  value.type = type;
  Type elementType = type;
  if (auto tensor = dyn_cast<RankedTensorType>(type)) {
    if (tensor.getEncoding())
      return unsupported("tensors with an encoding are not supported");
    elementType = tensor.getElementType();
    value.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  } else if (auto memref = dyn_cast<MemRefType>(type)) {
    if (!memref.getLayout().isIdentity())
      return unsupported("only memrefs with the identity layout are "
                         "supported (contiguous, row-major)");
    if (memref.getMemorySpace())
      return unsupported("only memrefs in the default memory space are "
                         "supported");
    elementType = memref.getElementType();
    value.shape.assign(memref.getShape().begin(), memref.getShape().end());
  } else if (isa<UnrankedTensorType, UnrankedMemRefType>(type)) {
    return unsupported("unranked types are not supported; give the rank");
  } else {
    value.isScalar = true;
  }
  std::optional<DType> dtype = getDType(elementType);
  if (!dtype)
    return unsupported(kSupported);
  value.dtype = *dtype;
  return value;
}

/// Parses the text of --signature, turning parser diagnostics into the error.
static llvm::Expected<FunctionType> parseSignature(MLIRContext *context,
                                                   StringRef text) {
  std::string diagnostics;
  Type type;
  {
    ScopedDiagnosticHandler handler(context, [&](Diagnostic &diag) {
      diagnostics += diag.str();
      return success();
    });
    type = parseType(text, context);
  }
  if (!type)
    return makeError("invalid --signature '" + text + "': " + diagnostics);
  auto functionType = dyn_cast<FunctionType>(type);
  if (!functionType)
    return makeError("invalid --signature '" + text +
                     "': expected a function type such as "
                     "'(tensor<4xf32>, f32) -> tensor<4xf32>'");
  return functionType;
}

llvm::Expected<EntrySignature>
mlir::qat::getEntrySignature(Operation *entry, StringRef signatureOverride) {
  auto func = cast<FunctionOpInterface>(entry);
  EntrySignature signature;
  signature.name = func.getName().str();

  if (auto funcOp = dyn_cast<func::FuncOp>(entry)) {
    if (!signatureOverride.empty())
      return makeError("--signature is only for functions already lowered to "
                       "the LLVM dialect; '" +
                       signature.name + "' is a func.func");
    signature.type = funcOp.getFunctionType();
  } else if (isa<LLVM::LLVMFuncOp>(entry)) {
    if (!signatureOverride.empty()) {
      auto typeOrErr = parseSignature(entry->getContext(), signatureOverride);
      if (!typeOrErr)
        return typeOrErr.takeError();
      signature.type = *typeOrErr;
    } else if (auto attr = entry->getAttrOfType<TypeAttr>(kSignatureAttrName);
               attr && isa<FunctionType>(attr.getValue())) {
      signature.type = cast<FunctionType>(attr.getValue());
    } else {
      return makeError(
          "function '" + signature.name +
          "' is in the LLVM dialect, where element types and shapes are "
          "lost, and has no " +
          kSignatureAttrName +
          " attribute; pass the signature it was lowered from, e.g. "
          "--signature='(tensor<4xf32>) -> tensor<4xf32>', or let qat-run "
          "lower the tensor-level module itself");
    }
  } else {
    return makeError("function '" + signature.name + "' is a '" +
                     entry->getName().getStringRef() +
                     "'; qat-run runs func.func and llvm.func");
  }

  for (auto [i, type] : llvm::enumerate(signature.type.getInputs())) {
    auto valueOrErr =
        classify(type, "argument " + Twine(i) + " of '" + signature.name + "'");
    if (!valueOrErr)
      return valueOrErr.takeError();
    signature.args.push_back(*valueOrErr);
  }
  for (auto [i, type] : llvm::enumerate(signature.type.getResults())) {
    auto valueOrErr =
        classify(type, "result " + Twine(i) + " of '" + signature.name + "'");
    if (!valueOrErr)
      return valueOrErr.takeError();
    signature.results.push_back(*valueOrErr);
  }
  return signature;
}

static Type getDescriptorType(MLIRContext *context, int64_t rank) {
  auto ptr = LLVM::LLVMPointerType::get(context);
  auto i64 = IntegerType::get(context, 64);
  SmallVector<Type> fields = {ptr, ptr, i64};
  if (rank > 0) {
    auto array = LLVM::LLVMArrayType::get(i64, rank);
    fields.append({array, array});
  }
  return LLVM::LLVMStructType::getLiteral(context, fields);
}

Type mlir::qat::getLoweredFunctionType(MLIRContext *context,
                                       const EntrySignature &signature) {
  auto ptr = LLVM::LLVMPointerType::get(context);
  auto i64 = IntegerType::get(context, 64);
  SmallVector<Type> args;
  for (const BoundaryValue &arg : signature.args) {
    if (arg.isScalar) {
      args.push_back(arg.type);
      continue;
    }
    args.append({ptr, ptr, i64});
    args.append(2 * arg.getRank(), i64);
  }
  SmallVector<Type> results;
  for (const BoundaryValue &result : signature.results)
    results.push_back(result.isScalar
                          ? result.type
                          : getDescriptorType(context, result.getRank()));
  Type resultType;
  if (results.empty())
    resultType = LLVM::LLVMVoidType::get(context);
  else if (results.size() == 1)
    resultType = results.front();
  else
    resultType = LLVM::LLVMStructType::getLiteral(context, results);
  return LLVM::LLVMFunctionType::get(resultType, args);
}

std::string mlir::qat::describeArg(const EntrySignature &signature,
                                   unsigned index) {
  return "argument " + std::to_string(index) + " (" +
         typeToString(signature.args[index].type) + ")";
}

std::string mlir::qat::describeResult(const EntrySignature &signature,
                                      unsigned index) {
  return "result " + std::to_string(index) + " (" +
         typeToString(signature.results[index].type) + ")";
}
