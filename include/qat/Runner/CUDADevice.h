//===- CUDADevice.h - The qat CUDA runtime, loaded at run time --*- C++ -*-===//
//
// qat-run drives code compiled for the GPU through the qat CUDA runtime
// (libqat_cuda_runtime.so, include/qat/Runtime/CUDARuntime.h). It loads the
// library with dlopen instead of linking it, so that qat-run itself needs
// neither the runtime nor the NVIDIA driver: only --target=cuda does, and it
// says so when they are missing.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_RUNNER_CUDADEVICE_H
#define QAT_RUNNER_CUDADEVICE_H

#include "mlir/Support/LLVM.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace mlir::qat {

/// The file name of the qat CUDA runtime.
constexpr StringLiteral kCUDARuntimeName = "libqat_cuda_runtime.so";

/// Where the qat CUDA runtime is: the entry of `sharedLibs` named
/// libqat_cuda_runtime.so if there is one, else the library next to the tool
/// (`<dir of toolPath>/../lib`, the layout of the build and install trees),
/// else where the build put it. Fails, saying where it looked, if none
/// exists.
llvm::Expected<std::string> findCUDARuntime(StringRef toolPath,
                                            ArrayRef<std::string> sharedLibs);

/// One CUDA device, driven through the qat CUDA runtime in its error-
/// recording mode: a failed CUDA call (an allocation, a copy, a launch of
/// compiled code) is recorded with the call, the kernel and the CUDA error,
/// later work is skipped, and the methods below return the recorded error.
class CUDADevice {
public:
  ~CUDADevice();

  /// Loads the runtime at `runtimePath` and initializes the device that
  /// QAT_CUDA_DEVICE names (default 0). Fails with "libcuda.so.1 not found"
  /// where the NVIDIA driver is missing and with "no CUDA device: ..." (the
  /// CUDA error of cuInit or of the device query) where it finds no device.
  static llvm::Expected<std::unique_ptr<CUDADevice>>
  open(StringRef runtimePath);

  /// The runtime library that was loaded.
  StringRef getRuntimePath() const { return runtimePath; }
  /// "NVIDIA H100 80GB HBM3 (sm_90)".
  StringRef getDescription() const { return description; }
  /// The chip, "sm_80" ("sm_90a" on Hopper): what --gpu-chip should be to
  /// run here.
  StringRef getChip() const { return chip; }

  /// Device memory for `bytes`; `what` names the buffer in errors.
  llvm::Expected<void *> allocate(size_t bytes, const Twine &what);
  /// Frees what allocate (or compiled code) allocated; null is ignored.
  void free(void *devicePtr);
  llvm::Error copyToDevice(void *devicePtr, const void *hostPtr, size_t bytes,
                           const Twine &what);
  llvm::Error copyToHost(void *hostPtr, const void *devicePtr, size_t bytes,
                         const Twine &what);

  /// Marks the start of a timed region on the runtime's stream.
  llvm::Error startTimer();
  /// Seconds between startTimer and now on the stream (CUDA events).
  llvm::Expected<double> stopTimer();

  /// The error recorded since the last check (from any call, compiled code
  /// included), prefixed by `what`; clears it.
  llvm::Error takeError(const Twine &what);

private:
  CUDADevice() = default;
  struct Functions;

  std::string runtimePath, description, chip;
  std::unique_ptr<Functions> functions;
  void *timer = nullptr;
};

} // namespace mlir::qat

#endif // QAT_RUNNER_CUDADEVICE_H
