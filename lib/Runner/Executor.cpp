//===- Executor.cpp - Calling compiled qat code in a JIT --------*- C++ -*-===//
//
// Marshalling of host arrays into memref descriptors for the packed
// interface, and of returned descriptors back into host arrays.
//
//===----------------------------------------------------------------------===//

#include "qat/Runner/Executor.h"

#include "qat/Runner/CUDADevice.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/DynamicLibrary.h"
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
                         const EntrySignature &signature, CUDADevice *device)
    : engine(std::move(engine)), signature(signature), device(device) {}

JITFunction::~JITFunction() = default;

llvm::Expected<std::unique_ptr<JITFunction>>
JITFunction::create(ModuleOp module, const EntrySignature &signature,
                    unsigned optLevel, ArrayRef<std::string> sharedLibs,
                    CUDADevice *device) {
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
    // The JIT only warns about a library it cannot load and then fails to
    // resolve its symbols; a load that fails is reported here. The library
    // stays loaded, as the JIT would keep it.
    std::string error;
    if (!llvm::sys::DynamicLibrary::getPermanentLibrary(library.c_str(), &error)
             .isValid())
      return makeError("--shared-libs: cannot load '" + library +
                       "' as a shared library: " + error);
    libraries.push_back(library);
  }
  if (device && !llvm::is_contained(libraries, device->getRuntimePath()))
    libraries.push_back(device->getRuntimePath().str());
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
      new JITFunction(std::move(*engineOrErr), signature, device));
  // Resolving the entry links the object, so unresolved symbols (a libm
  // function missing from the process) are reported here, not at the call.
  auto packedOrErr = function->engine->lookupPacked(signature.name);
  if (!packedOrErr)
    return makeError("JIT linking of '" + signature.name +
                     "' failed: " + llvm::toString(packedOrErr.takeError()));
  function->packed = *packedOrErr;
  // Runs the global constructors: on the GPU they load the kernels' module.
  function->engine->initialize();
  if (device)
    if (llvm::Error error =
            device->takeError("cannot load the kernels of '" + signature.name +
                              "' on " + device->getDescription()))
      return std::move(error);
  return function;
}

namespace {
/// A returned memref descriptor, decoded.
struct Descriptor {
  void *allocated;
  char *aligned;
  int64_t offset;
  SmallVector<int64_t> sizes, strides;
};
} // namespace

/// Decodes the descriptor at `field` and checks its sizes against the
/// signature.
static llvm::Expected<Descriptor> parseDescriptor(const char *field,
                                                  const BoundaryValue &result,
                                                  const std::string &what) {
  int64_t rank = result.getRank();
  Descriptor d;
  std::memcpy(&d.allocated, field, sizeof(d.allocated));
  std::memcpy(&d.aligned, field + 8, sizeof(d.aligned));
  std::memcpy(&d.offset, field + 16, sizeof(d.offset));
  d.sizes.resize(rank);
  d.strides.resize(rank);
  std::memcpy(d.sizes.data(), field + 24, 8 * rank);
  std::memcpy(d.strides.data(), field + 24 + 8 * rank, 8 * rank);

  bool valid = getNumElements(d.sizes).has_value();
  for (auto [expected, actual] : llvm::zip(result.shape, d.sizes))
    valid &= ShapedType::isDynamic(expected) || expected == actual;
  if (!valid)
    return makeError("the compiled code returned sizes " +
                     formatShape(d.sizes) + " for " + what +
                     "; the function does not have the signature qat-run "
                     "assumed");
  return d;
}

/// Copies the elements of the memref at `aligned` + `offset` with `strides`
/// into the row-major `tensor`.
static void gatherElements(const char *aligned, int64_t offset,
                           ArrayRef<int64_t> strides, HostTensor &tensor) {
  int64_t rank = tensor.getRank(), n = tensor.getNumElements();
  ArrayRef<int64_t> sizes = tensor.getShape();
  size_t elementSize = getDTypeSize(tensor.getDType());
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
}

llvm::Expected<HostTensor> JITFunction::readResult(const char *field,
                                                   const BoundaryValue &result,
                                                   const std::string &what) {
  auto descriptorOrErr = parseDescriptor(field, result, what);
  if (!descriptorOrErr)
    return descriptorOrErr.takeError();
  Descriptor &d = *descriptorOrErr;
  auto tensorOrErr = HostTensor::allocate(result.dtype, d.sizes);
  if (!tensorOrErr)
    return makeError(what + ": " + llvm::toString(tensorOrErr.takeError()));
  HostTensor &tensor = *tensorOrErr;
  if (tensor.getNumElements() == 0)
    return std::move(tensor);
  if (!d.aligned)
    return makeError("the compiled code returned a null buffer for " + what);
  if (!device) {
    gatherElements(d.aligned, d.offset, d.strides, tensor);
    return std::move(tensor);
  }

  // On the device: download the span the elements occupy, then gather on
  // the host. Strides are those of a bufferized memref, never negative.
  int64_t last = 0;
  for (auto [size, stride] : llvm::zip(d.sizes, d.strides)) {
    if (stride < 0)
      return makeError("the compiled code returned a negative stride for " +
                       what);
    last += (size - 1) * stride;
  }
  size_t elementSize = getDTypeSize(result.dtype);
  std::vector<char> span((last + 1) * elementSize);
  if (llvm::Error error = device->copyToHost(
          span.data(), d.aligned + d.offset * elementSize, span.size(), what))
    return std::move(error);
  gatherElements(span.data(), 0, d.strides, tensor);
  return std::move(tensor);
}

/// What one call passes: host copies of the inputs, or on the GPU one device
/// buffer per memref argument, freed with the call.
struct JITFunction::Arguments {
  SmallVector<HostTensor> host;
  SmallVector<void *> onDevice;
  CUDADevice *device = nullptr;

  ~Arguments() {
    if (device)
      for (void *buffer : onDevice)
        device->free(buffer);
  }
  void *getData(unsigned i) { return device ? onDevice[i] : host[i].getData(); }
};

llvm::Expected<std::unique_ptr<JITFunction::Arguments>>
JITFunction::makeArguments(ArrayRef<HostTensor> inputs) {
  auto arguments = std::make_unique<Arguments>();
  arguments->device = device;
  for (auto [i, input] : llvm::enumerate(inputs)) {
    if (device) {
      void *buffer = nullptr;
      if (!signature.args[i].isScalar) {
        auto bufferOrErr =
            device->allocate(input.getByteSize(), describeArg(signature, i));
        if (!bufferOrErr)
          return bufferOrErr.takeError();
        buffer = *bufferOrErr;
      }
      arguments->onDevice.push_back(buffer);
      continue;
    }
    auto copyOrErr = HostTensor::allocate(input.getDType(), input.getShape());
    if (!copyOrErr)
      return copyOrErr.takeError();
    arguments->host.push_back(std::move(*copyOrErr));
  }
  return std::move(arguments);
}

llvm::Error JITFunction::invoke(Arguments &arguments,
                                ArrayRef<HostTensor> inputs,
                                SmallVectorImpl<HostTensor> &results,
                                double &seconds) {
  // Fresh input data for every call: one-shot bufferization writes in place
  // into function arguments where that saves a copy.
  for (auto [i, input] : llvm::enumerate(inputs)) {
    if (!device) {
      std::memcpy(arguments.host[i].getData(), input.getData(),
                  input.getByteSize());
      continue;
    }
    if (!signature.args[i].isScalar && input.getByteSize() > 0)
      if (llvm::Error error = device->copyToDevice(
              arguments.onDevice[i], input.getData(), input.getByteSize(),
              describeArg(signature, i)))
        return error;
  }

  // One 8-byte slot per LLVM-level argument; scalars sit at the start of
  // theirs. Slots are filled before any address is taken so they stay put.
  SmallVector<uint64_t> slots;
  for (auto [i, arg, input] : llvm::enumerate(signature.args, inputs)) {
    if (arg.isScalar) {
      uint64_t slot = 0;
      std::memcpy(&slot, input.getData(), getDTypeSize(arg.dtype));
      slots.push_back(slot);
      continue;
    }
    auto data = reinterpret_cast<uint64_t>(arguments.getData(i));
    slots.append({data, data, 0});
    for (int64_t size : input.getShape())
      slots.push_back(size);
    int64_t stride = 1;
    SmallVector<uint64_t> strides(input.getRank());
    for (int64_t d = input.getRank() - 1; d >= 0; --d) {
      strides[d] = stride;
      stride *= input.getShape()[d];
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

  if (device) {
    // Compiled functions synchronize their stream before returning, so the
    // events bracket all of the call's GPU work.
    if (llvm::Error error = device->startTimer())
      return error;
    packed(packedArgs.data());
    if (llvm::Error error =
            device->takeError("CUDA error while running '" + signature.name +
                              "' on " + device->getDescription())) {
      llvm::consumeError(device->stopTimer().takeError());
      return error;
    }
    auto secondsOrErr = device->stopTimer();
    if (!secondsOrErr)
      return secondsOrErr.takeError();
    seconds = *secondsOrErr;
  } else {
    auto start = std::chrono::steady_clock::now();
    packed(packedArgs.data());
    auto end = std::chrono::steady_clock::now();
    seconds = std::chrono::duration<double>(end - start).count();
  }

  auto *returned = reinterpret_cast<const char *>(resultStorage.data());
  results.clear();
  llvm::Error error = llvm::Error::success();
  llvm::DenseSet<void *> notOwned = {nullptr, kGlobalSentinel};
  for (unsigned i = 0; i < inputs.size(); ++i)
    if (!signature.args[i].isScalar)
      notOwned.insert(arguments.getData(i));
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
    auto tensorOrErr = readResult(field, result, describeResult(signature, i));
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
  for (void *allocated : toFree) {
    if (device)
      device->free(allocated);
    else
      std::free(allocated);
  }
  if (device)
    return device->takeError("cannot free the results of '" + signature.name +
                             "'");
  return llvm::Error::success();
}

llvm::Expected<SmallVector<HostTensor>>
JITFunction::call(ArrayRef<HostTensor> inputs) {
  auto arguments = makeArguments(inputs);
  if (!arguments)
    return arguments.takeError();
  SmallVector<HostTensor> results;
  double seconds;
  if (llvm::Error error = invoke(**arguments, inputs, results, seconds))
    return std::move(error);
  return results;
}

llvm::Expected<Timing> JITFunction::time(ArrayRef<HostTensor> inputs,
                                         unsigned warmup, unsigned repeat,
                                         SmallVectorImpl<HostTensor> &results) {
  auto arguments = makeArguments(inputs);
  if (!arguments)
    return arguments.takeError();
  SmallVector<double> durations;
  for (unsigned i = 0; i < warmup + repeat; ++i) {
    double seconds;
    if (llvm::Error error = invoke(**arguments, inputs, results, seconds))
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
