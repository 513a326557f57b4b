//===- Executor.cpp - Calling compiled qat code in a JIT --------*- C++ -*-===//
//
// Marshalling of host arrays into memref descriptors for the packed
// interface, and of returned descriptors back into host arrays.
//
//===----------------------------------------------------------------------===//

#include "qat/Runner/Executor.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/TargetSelect.h"

#include <algorithm>
#include <chrono>
#include <cstring>

using namespace mlir;
using namespace mlir::qat;
using llvm::createStringError;
using llvm::inconvertibleErrorCode;

static llvm::Error makeError(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message);
}

/// Where memref lowering points the allocated pointer of a memref.get_global
/// (see MemRefToLLVM): such a buffer is not the caller's to free.
static void *const kGlobalSentinel = reinterpret_cast<void *>(0xdeadbeef);

namespace {
/// Size and alignment of one LLVM-level value on the targets qat runs on:
/// descriptors are structs of 8-byte fields, scalars naturally aligned.
struct FieldLayout {
  size_t size, align;
};
} // namespace

static FieldLayout getFieldLayout(const BoundaryValue &value) {
  if (value.isScalar)
    return {getDTypeSize(value.dtype), getDTypeSize(value.dtype)};
  return {8 * (3 + 2 * static_cast<size_t>(value.getRank())), 8};
}

/// Offsets of the results in the returned value: one result is returned as
/// itself, several as a literal struct with natural alignment.
static SmallVector<size_t> getResultOffsets(ArrayRef<BoundaryValue> results,
                                            size_t &totalSize) {
  SmallVector<size_t> offsets;
  size_t offset = 0, maxAlign = 1;
  for (const BoundaryValue &result : results) {
    FieldLayout layout = getFieldLayout(result);
    offset = llvm::alignTo(offset, layout.align);
    offsets.push_back(offset);
    offset += layout.size;
    maxAlign = std::max(maxAlign, layout.align);
  }
  totalSize = llvm::alignTo(offset, maxAlign);
  return offsets;
}

JITFunction::JITFunction(std::unique_ptr<ExecutionEngine> engine,
                         const EntrySignature &signature)
    : engine(std::move(engine)), signature(signature) {}

JITFunction::~JITFunction() = default;

llvm::Expected<std::unique_ptr<JITFunction>>
JITFunction::create(ModuleOp module, const EntrySignature &signature,
                    unsigned optLevel, ArrayRef<std::string> sharedLibs) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();

  // QAT_MLIR_LIBRARY_DIR is where the build found MLIR; a library missing
  // there only matters to modules that call into it, and those fail to link
  // with the symbol's name.
  SmallVector<std::string> libraries;
  for (StringRef name :
       {"libmlir_c_runner_utils.so", "libmlir_runner_utils.so"}) {
    SmallString<256> path(QAT_MLIR_LIBRARY_DIR);
    llvm::sys::path::append(path, name);
    if (llvm::sys::fs::exists(path))
      libraries.push_back(path.str().str());
  }
  for (const std::string &library : sharedLibs) {
    if (!llvm::sys::fs::exists(library))
      return makeError("--shared-libs: '" + library + "' does not exist");
    libraries.push_back(library);
  }
  SmallVector<StringRef> libraryRefs(libraries.begin(), libraries.end());

  // The optimizer gets the host's TargetMachine too, so that its cost
  // models (vectorization, unrolling) are those of the CPU that runs.
  auto builderOrErr = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builderOrErr)
    return makeError("cannot target the host CPU: " +
                     llvm::toString(builderOrErr.takeError()));
  auto codeGenOptLevel = static_cast<llvm::CodeGenOptLevel>(optLevel);
  builderOrErr->setCodeGenOptLevel(codeGenOptLevel);
  auto machineOrErr = builderOrErr->createTargetMachine();
  if (!machineOrErr)
    return makeError("cannot target the host CPU: " +
                     llvm::toString(machineOrErr.takeError()));
  std::unique_ptr<llvm::TargetMachine> machine = std::move(*machineOrErr);

  ExecutionEngineOptions options;
  options.sharedLibPaths = libraryRefs;
  auto transformer =
      makeOptimizingTransformer(optLevel, /*sizeLevel=*/0, machine.get());
  options.transformer = transformer;
  options.jitCodeGenOptLevel = codeGenOptLevel;
  auto engineOrErr =
      ExecutionEngine::create(module, options, std::move(machine));
  if (!engineOrErr)
    return makeError("JIT compilation failed: " +
                     llvm::toString(engineOrErr.takeError()));
  std::unique_ptr<JITFunction> function(
      new JITFunction(std::move(*engineOrErr), signature));
  // Resolving the entry links the object, so unresolved symbols (a libm
  // function missing from the process) are reported here, not at the call.
  auto packedOrErr = function->engine->lookupPacked(signature.name);
  if (!packedOrErr)
    return makeError("JIT linking of '" + signature.name +
                     "' failed: " + llvm::toString(packedOrErr.takeError()));
  function->packed = *packedOrErr;
  function->engine->initialize();
  return function;
}

/// Copies the memref described by a returned descriptor into a host array.
static llvm::Expected<HostTensor> readDescriptor(const char *field,
                                                 const BoundaryValue &result,
                                                 const std::string &what) {
  int64_t rank = result.getRank();
  char *aligned;
  int64_t offset;
  std::memcpy(&aligned, field + 8, sizeof(aligned));
  std::memcpy(&offset, field + 16, sizeof(offset));
  SmallVector<int64_t> sizes(rank), strides(rank);
  std::memcpy(sizes.data(), field + 24, 8 * rank);
  std::memcpy(strides.data(), field + 24 + 8 * rank, 8 * rank);

  bool valid = getNumElements(sizes).has_value();
  for (auto [expected, actual] : llvm::zip(result.shape, sizes))
    valid &= ShapedType::isDynamic(expected) || expected == actual;
  if (!valid)
    return makeError("the compiled code returned sizes " + formatShape(sizes) +
                     " for " + what +
                     "; the function does not have the signature qat-run "
                     "assumed");

  auto tensorOrErr = HostTensor::allocate(result.dtype, sizes);
  if (!tensorOrErr)
    return makeError(what + ": " + llvm::toString(tensorOrErr.takeError()));
  HostTensor &tensor = *tensorOrErr;
  int64_t n = tensor.getNumElements();
  if (n == 0)
    return std::move(tensor);
  if (!aligned)
    return makeError("the compiled code returned a null buffer for " + what);
  size_t elementSize = getDTypeSize(result.dtype);
  SmallVector<int64_t> index(rank, 0);
  for (int64_t linear = 0; linear < n; ++linear) {
    int64_t element = offset;
    for (int64_t d = 0; d < rank; ++d)
      element += index[d] * strides[d];
    std::memcpy(tensor.getData() + linear * elementSize,
                aligned + element * elementSize, elementSize);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < sizes[d])
        break;
      index[d] = 0;
    }
  }
  return std::move(tensor);
}

llvm::Error JITFunction::invoke(MutableArrayRef<HostTensor> scratch,
                                ArrayRef<HostTensor> inputs,
                                SmallVectorImpl<HostTensor> &results,
                                double &seconds) {
  // Fresh input data for every call: one-shot bufferization writes in place
  // into function arguments where that saves a copy.
  for (auto [copy, input] : llvm::zip(scratch, inputs))
    std::memcpy(copy.getData(), input.getData(), input.getByteSize());

  // One 8-byte slot per LLVM-level argument; scalars sit at the start of
  // theirs. Slots are filled before any address is taken so they stay put.
  SmallVector<uint64_t> slots;
  for (auto [arg, copy] : llvm::zip(signature.args, scratch)) {
    if (arg.isScalar) {
      uint64_t slot = 0;
      std::memcpy(&slot, copy.getData(), getDTypeSize(arg.dtype));
      slots.push_back(slot);
      continue;
    }
    auto data = reinterpret_cast<uint64_t>(copy.getData());
    slots.append({data, data, 0});
    for (int64_t size : copy.getShape())
      slots.push_back(size);
    int64_t stride = 1;
    SmallVector<uint64_t> strides(copy.getRank());
    for (int64_t d = copy.getRank() - 1; d >= 0; --d) {
      strides[d] = stride;
      stride *= copy.getShape()[d];
    }
    slots.append(strides.begin(), strides.end());
  }
  size_t resultSize = 0;
  SmallVector<size_t> offsets = getResultOffsets(signature.results, resultSize);
  SmallVector<uint64_t> resultStorage(resultSize / 8 + 1, 0);

  SmallVector<void *> packedArgs;
  for (uint64_t &slot : slots)
    packedArgs.push_back(&slot);
  if (!signature.results.empty())
    packedArgs.push_back(resultStorage.data());

  auto start = std::chrono::steady_clock::now();
  packed(packedArgs.data());
  auto end = std::chrono::steady_clock::now();
  seconds = std::chrono::duration<double>(end - start).count();

  auto *returned = reinterpret_cast<const char *>(resultStorage.data());
  results.clear();
  llvm::Error error = llvm::Error::success();
  llvm::DenseSet<void *> notOwned = {nullptr, kGlobalSentinel};
  for (HostTensor &copy : scratch)
    notOwned.insert(copy.getData());
  SmallVector<void *> toFree;
  for (auto [i, result] : llvm::enumerate(signature.results)) {
    const char *field = returned + offsets[i];
    if (result.isScalar) {
      auto tensorOrErr = HostTensor::allocate(result.dtype, {});
      if (!tensorOrErr) {
        error = llvm::joinErrors(std::move(error), tensorOrErr.takeError());
        continue;
      }
      std::memcpy(tensorOrErr->getData(), field, getDTypeSize(result.dtype));
      results.push_back(std::move(*tensorOrErr));
      continue;
    }
    auto tensorOrErr =
        readDescriptor(field, result, describeResult(signature, i));
    if (!tensorOrErr) {
      error = llvm::joinErrors(std::move(error), tensorOrErr.takeError());
      continue;
    }
    results.push_back(std::move(*tensorOrErr));
    void *allocated;
    std::memcpy(&allocated, field, sizeof(allocated));
    // The deallocation pipeline makes every returned buffer a fresh
    // allocation, but hand-written LLVM dialect may return an argument, a
    // global or one buffer twice: free only what is the caller's, once.
    if (notOwned.insert(allocated).second)
      toFree.push_back(allocated);
  }
  if (error)
    return error;
  for (void *allocated : toFree)
    std::free(allocated);
  return llvm::Error::success();
}

static llvm::Expected<SmallVector<HostTensor>>
makeScratch(ArrayRef<HostTensor> inputs) {
  SmallVector<HostTensor> scratch;
  for (const HostTensor &input : inputs) {
    auto copyOrErr = HostTensor::allocate(input.getDType(), input.getShape());
    if (!copyOrErr)
      return copyOrErr.takeError();
    scratch.push_back(std::move(*copyOrErr));
  }
  return scratch;
}

llvm::Expected<SmallVector<HostTensor>>
JITFunction::call(ArrayRef<HostTensor> inputs) {
  auto scratch = makeScratch(inputs);
  if (!scratch)
    return scratch.takeError();
  SmallVector<HostTensor> results;
  double seconds;
  if (llvm::Error error = invoke(*scratch, inputs, results, seconds))
    return std::move(error);
  return results;
}

llvm::Expected<Timing> JITFunction::time(ArrayRef<HostTensor> inputs,
                                         unsigned warmup, unsigned repeat,
                                         SmallVectorImpl<HostTensor> &results) {
  auto scratch = makeScratch(inputs);
  if (!scratch)
    return scratch.takeError();
  SmallVector<double> durations;
  for (unsigned i = 0; i < warmup + repeat; ++i) {
    double seconds;
    if (llvm::Error error = invoke(*scratch, inputs, results, seconds))
      return std::move(error);
    if (i >= warmup)
      durations.push_back(seconds);
  }
  Timing timing;
  timing.runs = repeat;
  timing.warmup = warmup;
  if (durations.empty())
    return timing;
  llvm::sort(durations);
  size_t mid = durations.size() / 2;
  timing.median = durations.size() % 2
                      ? durations[mid]
                      : (durations[mid - 1] + durations[mid]) / 2;
  timing.min = durations.front();
  timing.max = durations.back();
  return timing;
}
