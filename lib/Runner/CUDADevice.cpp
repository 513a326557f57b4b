//===- CUDADevice.cpp - The CUDA runtime, loaded at run time ----*- C++ -*-===//
//
// Finding and loading libqat_cuda_runtime.so, binding its qat_cuda_* entry
// points, and turning the errors it records into llvm::Error.
//
//===----------------------------------------------------------------------===//

#include "qat/Runner/CUDADevice.h"

#include "qat/Runtime/CUDARuntime.h"

#include "llvm/Support/DynamicLibrary.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace mlir;
using namespace mlir::qat;

static llvm::Error makeError(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The qat_cuda_* functions, bound by name: decltype keeps their types those
/// of the header without linking the library.
struct CUDADevice::Functions {
#define QAT_CUDA_FUNCTIONS(X)                                                  \
  X(qat_cuda_set_error_mode)                                                   \
  X(qat_cuda_last_error)                                                       \
  X(qat_cuda_clear_error)                                                      \
  X(qat_cuda_init)                                                             \
  X(qat_cuda_device_info)                                                      \
  X(qat_cuda_alloc)                                                            \
  X(qat_cuda_free)                                                             \
  X(qat_cuda_copy_to_device)                                                   \
  X(qat_cuda_copy_to_host)                                                     \
  X(qat_cuda_synchronize)                                                      \
  X(qat_cuda_timer_start)                                                      \
  X(qat_cuda_timer_stop)
#define QAT_CUDA_DECLARE(name) decltype(&::name) name = nullptr;
  QAT_CUDA_FUNCTIONS(QAT_CUDA_DECLARE)
#undef QAT_CUDA_DECLARE
};

llvm::Expected<std::string>
mlir::qat::findCUDARuntime(StringRef toolPath,
                           ArrayRef<std::string> sharedLibs) {
  for (const std::string &library : sharedLibs)
    if (llvm::sys::path::filename(library) == kCUDARuntimeName)
      return library;
  SmallVector<std::string, 2> candidates;
  if (!toolPath.empty()) {
    SmallString<256> path(llvm::sys::path::parent_path(toolPath));
    llvm::sys::path::append(path, "..", "lib", kCUDARuntimeName);
    llvm::sys::path::remove_dots(path, /*remove_dot_dot=*/true);
    candidates.push_back(path.str().str());
  }
#ifdef QAT_CUDA_RUNTIME_PATH
  candidates.push_back(QAT_CUDA_RUNTIME_PATH);
#endif
  for (const std::string &candidate : candidates)
    if (llvm::sys::fs::exists(candidate))
      return candidate;
  std::string searched;
  for (const std::string &candidate : candidates)
    searched += "\n  " + candidate;
  return makeError(
      "the qat CUDA runtime (" + kCUDARuntimeName +
      ") was not found; build it (the build does where a CUDA toolkit is "
      "installed, or `cmake -S lib/Runtime/CUDA -B build-runtime` alone) and "
      "give its path with --shared-libs. Searched:" +
      searched);
}

CUDADevice::~CUDADevice() {
  if (timer)
    functions->qat_cuda_timer_stop(static_cast<qat_cuda_timer *>(timer));
}

llvm::Expected<std::unique_ptr<CUDADevice>>
CUDADevice::open(StringRef runtimePath) {
  std::string message;
  // RTLD_GLOBAL: the JIT-compiled host code resolves the mgpu* functions
  // from the process.
  llvm::sys::DynamicLibrary library =
      llvm::sys::DynamicLibrary::getPermanentLibrary(runtimePath.str().c_str(),
                                                     &message);
  if (!library.isValid()) {
    if (StringRef(message).contains("libcuda.so"))
      return makeError("libcuda.so.1 not found: the qat CUDA runtime needs the "
                       "NVIDIA driver, which this machine does not have (" +
                       message + ")");
    return makeError("cannot load the qat CUDA runtime '" + runtimePath +
                     "': " + message);
  }

  std::unique_ptr<CUDADevice> device(new CUDADevice);
  device->runtimePath = runtimePath.str();
  device->functions = std::make_unique<Functions>();
  Functions &f = *device->functions;
#define QAT_CUDA_BIND(name)                                                    \
  f.name =                                                                     \
      reinterpret_cast<decltype(f.name)>(library.getAddressOfSymbol(#name));   \
  if (!f.name)                                                                 \
    return makeError(                                                          \
        "'" + runtimePath +                                                    \
        "' is not the qat CUDA runtime: it does not define " #name);
  QAT_CUDA_FUNCTIONS(QAT_CUDA_BIND)
#undef QAT_CUDA_BIND

  f.qat_cuda_set_error_mode(QAT_CUDA_ERRORS_RECORD);
  // A negative ordinal lets QAT_CUDA_DEVICE choose, as in compiled code.
  char name[256] = "";
  int major = 0, minor = 0;
  if (f.qat_cuda_init(-1) != 0 ||
      f.qat_cuda_device_info(name, sizeof(name), &major, &minor) != 0) {
    const char *error = f.qat_cuda_last_error();
    return makeError(Twine("no CUDA device: ") +
                     (error ? error : "the runtime failed to initialize"));
  }
  // Code compiled here runs on this device only, so it may use the
  // architecture-specific instructions: on Hopper (9.0) that is sm_90a,
  // whose wgmma and TMA kernels plain sm_90 does not select.
  device->chip = "sm_" + std::to_string(major) + std::to_string(minor) +
                 (major == 9 && minor == 0 ? "a" : "");
  device->description = std::string(name) + " (" + device->chip + ")";
  return device;
}

llvm::Error CUDADevice::takeError(const Twine &what) {
  const char *error = functions->qat_cuda_last_error();
  if (!error)
    return llvm::Error::success();
  llvm::Error result = makeError(what + ": " + error);
  functions->qat_cuda_clear_error();
  return result;
}

llvm::Expected<void *> CUDADevice::allocate(size_t bytes, const Twine &what) {
  void *ptr = functions->qat_cuda_alloc(bytes);
  if (llvm::Error error = takeError("cannot allocate " + Twine(bytes) +
                                    " bytes of device memory for " + what))
    return std::move(error);
  return ptr;
}

void CUDADevice::free(void *devicePtr) { functions->qat_cuda_free(devicePtr); }

llvm::Error CUDADevice::copyToDevice(void *devicePtr, const void *hostPtr,
                                     size_t bytes, const Twine &what) {
  functions->qat_cuda_copy_to_device(devicePtr, hostPtr, bytes);
  return takeError("cannot copy " + what + " to the device");
}

llvm::Error CUDADevice::copyToHost(void *hostPtr, const void *devicePtr,
                                   size_t bytes, const Twine &what) {
  functions->qat_cuda_copy_to_host(hostPtr, devicePtr, bytes);
  return takeError("cannot copy " + what + " from the device");
}

llvm::Error CUDADevice::startTimer() {
  if (timer)
    functions->qat_cuda_timer_stop(static_cast<qat_cuda_timer *>(timer));
  timer = functions->qat_cuda_timer_start();
  return takeError("cannot start the CUDA event timer");
}

llvm::Expected<double> CUDADevice::stopTimer() {
  float ms =
      functions->qat_cuda_timer_stop(static_cast<qat_cuda_timer *>(timer));
  timer = nullptr;
  if (llvm::Error error = takeError("cannot read the CUDA event timer"))
    return std::move(error);
  return ms * 1e-3;
}
