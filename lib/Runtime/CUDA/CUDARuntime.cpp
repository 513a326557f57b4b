//===- CUDARuntime.cpp - The qat CUDA runtime over the driver API -*- C++
//-*-===//
//
// Implements the mgpu* entry points that host code lowered by gpu-to-llvm
// calls, and the qat_cuda_* helpers of include/qat/Runtime/CUDARuntime.h.
// Depends on the CUDA driver API only, so that it builds on machines without
// LLVM/MLIR next to the objects qat compiled elsewhere.
//
//===----------------------------------------------------------------------===//

#include "qat/Runtime/CUDARuntime.h"

#include <cuda.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

/// A kernel the compiled code looked up: its name, so that a failed launch
/// says which kernel failed, and whether its module was marked by
/// qat-gpu-dependent-launch (launched with programmatic stream
/// serialization, unless disabled).
struct Kernel {
  std::string name;
  bool dependentLaunch = false;
};

/// Compiled code looks its kernels up by (module, name) before every launch;
/// the name is a constant of the compiled code, so its address is the key
/// (the string is compared too, for hosts that pass another buffer).
struct LookupKey {
  CUmodule module;
  const char *name;
  bool operator==(const LookupKey &other) const {
    return module == other.module && name == other.name;
  }
};
struct LookupKeyHash {
  size_t operator()(const LookupKey &key) const {
    return std::hash<const void *>()(key.module) * 31 ^
           std::hash<const void *>()(key.name);
  }
};

/// Device memory of the asynchronous mode that compiled code and its host
/// freed, kept by size for the next allocation on the same stream: a call
/// allocates its results and temporaries again and again with the same
/// sizes, and a hit here costs no driver call. Reuse on the stream that
/// freed the block is ordered after every use before the free, as in the
/// pool itself. Blocks go back to the pool when the stream changes or the
/// cache holds more than `limit` bytes.
struct BlockCache {
  std::unordered_map<size_t, std::vector<CUdeviceptr>> free;
  /// Sizes of the blocks handed out by the asynchronous mode.
  std::unordered_map<CUdeviceptr, size_t> live;
  size_t cachedBytes = 0;
  static constexpr size_t limit = size_t(256) << 20;
};

/// Process-wide state: one context (the device's primary context) and one
/// stream. Compiled code creates and destroys a stream around every call;
/// handing out the same stream keeps calls ordered and costs nothing.
struct Runtime {
  /// Guards the maps below and initialization; the hot paths take it only
  /// briefly (an uncontended lock is tens of nanoseconds).
  std::mutex mutex;
  std::atomic<bool> initialized{false};
  CUdevice device = 0;
  /// Its streaming multiprocessors (mgpuMultiprocessorCount); 0: not asked.
  std::atomic<int> multiprocessors{0};
  CUcontext context = nullptr;
  CUstream stream = nullptr;
  /// Set by qat_cuda_set_stream: compiled code runs asynchronously on
  /// `external`, with stream-ordered memory from `pool`.
  bool useExternal = false;
  CUstream external = nullptr;
  CUmemoryPool pool = nullptr;
  BlockCache blocks;
  qat_cuda_error_mode mode = QAT_CUDA_ERRORS_EXIT;
  std::atomic<bool> errorPending{false};
  std::string firstError;
  std::unordered_map<LookupKey, CUfunction, LookupKeyHash> lookups;
  std::unordered_map<CUfunction, Kernel> kernels;
  /// Modules marked by qat-gpu-dependent-launch.
  std::vector<CUmodule> dependentLaunchModules;
  bool dependentLaunch = true;
  /// The last kernels launched since the last synchronization (and how
  /// many before them): a fault inside a kernel surfaces only when the host
  /// waits, and the error then names the kernels that may have caused it.
  std::vector<CUfunction> unsynchronized;
  size_t unsynchronizedBefore = 0;
  /// TMA descriptors in device memory (mgpuTensorMapEncodeTiledMemref), by
  /// content: a call with the buffers of an earlier one reuses its copy.
  /// They live in slabs of kTensorMapsPerSlab and stay until the process
  /// ends (one per distinct buffer, shape and box: 128 bytes each).
  std::map<std::array<uint64_t, 16>, CUdeviceptr> tensorMaps;
  CUdeviceptr tensorMapSlab = 0;
  size_t tensorMapSlabUsed = 0;
  /// What the descriptors of tensors without elements point to.
  CUdeviceptr emptyTensorStandIn = 0;
};

constexpr size_t kTensorMapsPerSlab = 512;

Runtime &runtime() {
  // Never destroyed: hosts free results (DLPack deleters) and compiled code
  // unloads its modules while the process exits.
  static Runtime *instance = new Runtime;
  return *instance;
}

/// Reports a failure according to the error mode. Returns true if the
/// caller should stop (an error is pending).
bool fail(const char *format, ...) {
  char message[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(message, sizeof(message), format, args);
  va_end(args);
  Runtime &rt = runtime();
  if (rt.mode == QAT_CUDA_ERRORS_EXIT) {
    std::fprintf(stderr, "qat-cuda-runtime: error: %s\n", message);
    std::exit(1);
  }
  if (!rt.errorPending.exchange(true))
    rt.firstError = message;
  return true;
}

/// Checks a driver result; `what` names the call and its subject.
bool check(CUresult result, const char *call, const std::string &subject) {
  if (result == CUDA_SUCCESS)
    return false;
  const char *name = nullptr, *text = nullptr;
  char code[32];
  // The toolkit's stub libcuda (no driver installed) describes no error.
  if (result == CUDA_ERROR_STUB_LIBRARY) {
    name = "CUDA_ERROR_STUB_LIBRARY";
    text = "libcuda is the CUDA toolkit's stub: no NVIDIA driver is installed";
  }
  if (!name && (cuGetErrorName(result, &name) != CUDA_SUCCESS || !name)) {
    std::snprintf(code, sizeof(code), "CUDA error %d",
                  static_cast<int>(result));
    name = code;
  }
  if (!text && (cuGetErrorString(result, &text) != CUDA_SUCCESS || !text))
    text = "no description from the driver";
  return fail("%s%s%s failed: %s (%s)", call, subject.empty() ? "" : " for ",
              subject.c_str(), name, text);
}

/// The name compiled code looked `function` up by.
std::string kernelName(CUfunction function) {
  Runtime &rt = runtime();
  std::lock_guard<std::mutex> lock(rt.mutex);
  auto it = rt.kernels.find(function);
  return it == rt.kernels.end() ? "?" : it->second.name;
}

/// Waits for `stream`, or for `event` if given; on failure the error names
/// the kernels launched since the last wait (one of which faulted).
bool synchronize(CUstream stream, const char *what, CUevent event = nullptr) {
  Runtime &rt = runtime();
  CUresult result =
      event ? cuEventSynchronize(event) : cuStreamSynchronize(stream);
  std::vector<CUfunction> launched;
  size_t before = 0;
  {
    std::lock_guard<std::mutex> lock(rt.mutex);
    launched.swap(rt.unsynchronized);
    std::swap(before, rt.unsynchronizedBefore);
  }
  std::string subject = what;
  if (result != CUDA_SUCCESS && !launched.empty()) {
    subject += " (kernels launched since the last wait:";
    for (CUfunction kernel : launched)
      subject += " '" + kernelName(kernel) + "'";
    if (before)
      subject += ", after " + std::to_string(before) + " others";
    subject += "; CUDA_LAUNCH_BLOCKING=1 names the one that failed)";
  }
  return check(result, event ? "cuEventSynchronize" : "cuStreamSynchronize",
               subject);
}

/// True while an earlier error is pending in record mode: later work is
/// skipped, because its inputs may be garbage.
bool pending() {
  return runtime().errorPending.load(std::memory_order_acquire);
}

bool ensureInitialized(int ordinal = -1) {
  Runtime &rt = runtime();
  if (rt.initialized.load(std::memory_order_acquire))
    return true;
  std::lock_guard<std::mutex> lock(rt.mutex);
  if (rt.initialized.load(std::memory_order_relaxed))
    return true;
  if (ordinal < 0) {
    const char *env = std::getenv("QAT_CUDA_DEVICE");
    ordinal = env ? std::atoi(env) : 0;
  }
  if (check(cuInit(0), "cuInit", ""))
    return false;
  int count = 0;
  if (check(cuDeviceGetCount(&count), "cuDeviceGetCount", ""))
    return false;
  if (ordinal >= count) {
    fail("device %d requested but %d CUDA device(s) present", ordinal, count);
    return false;
  }
  if (check(cuDeviceGet(&rt.device, ordinal), "cuDeviceGet", "") ||
      check(cuDevicePrimaryCtxRetain(&rt.context, rt.device),
            "cuDevicePrimaryCtxRetain", "") ||
      check(cuCtxSetCurrent(rt.context), "cuCtxSetCurrent", "") ||
      check(cuStreamCreate(&rt.stream, CU_STREAM_NON_BLOCKING),
            "cuStreamCreate", ""))
    return false;
  if (const char *env = std::getenv("QAT_CUDA_DEPENDENT_LAUNCH"))
    rt.dependentLaunch = std::string(env) != "0";
  rt.initialized.store(true, std::memory_order_release);
  return true;
}

/// Makes the runtime's context current on the calling thread. Every entry
/// point calls it; the context is set only where another one is current
/// (cuCtxGetCurrent reads a thread-local, cuCtxSetCurrent costs more).
bool enter() {
  if (!ensureInitialized())
    return false;
  if (pending())
    return false;
  CUcontext current = nullptr;
  if (cuCtxGetCurrent(&current) == CUDA_SUCCESS && current == runtime().context)
    return true;
  return !check(cuCtxSetCurrent(runtime().context), "cuCtxSetCurrent", "");
}

/// The stream compiled code and the helpers run on.
CUstream activeStream() {
  Runtime &rt = runtime();
  return rt.useExternal ? rt.external : rt.stream;
}

/// The pool of the asynchronous mode, created on first use. Freed memory
/// stays in it (no release threshold), as in PyTorch's caching allocator:
/// allocations of a training step reuse the memory of the step before.
bool ensurePool() {
  Runtime &rt = runtime();
  if (rt.pool)
    return true;
  CUmemPoolProps props = {};
  props.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
  props.handleTypes = CU_MEM_HANDLE_TYPE_NONE;
  props.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  props.location.id = rt.device;
  cuuint64_t keepAll = ~cuuint64_t(0);
  return !check(cuMemPoolCreate(&rt.pool, &props), "cuMemPoolCreate", "") &&
         !check(cuMemPoolSetAttribute(
                    rt.pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keepAll),
                "cuMemPoolSetAttribute", "the release threshold");
}

/// Remembers `module` if qat-gpu-dependent-launch marked it (its kernels
/// wait for their predecessor before touching memory).
CUmodule noteDependentLaunch(CUmodule module) {
  CUdeviceptr marker = 0;
  size_t bytes = 0;
  // An unmarked module has no such global: not an error.
  if (module &&
      cuModuleGetGlobal(&marker, &bytes, module,
                        QAT_CUDA_DEPENDENT_LAUNCH_MARKER) == CUDA_SUCCESS) {
    std::lock_guard<std::mutex> lock(runtime().mutex);
    runtime().dependentLaunchModules.push_back(module);
  }
  return module;
}

/// Sizes are rounded up so that calls whose dynamic sizes differ a little
/// still find each other's blocks.
size_t cachedSize(size_t bytes) {
  constexpr size_t granule = 512;
  return (bytes ? bytes + granule - 1 : granule) / granule * granule;
}

/// A block of at least `bytes` on the external stream, from the cache or
/// the pool; 0 after an error. The caller has entered.
CUdeviceptr allocateOrdered(size_t bytes) {
  Runtime &rt = runtime();
  size_t size = cachedSize(bytes);
  {
    std::lock_guard<std::mutex> lock(rt.mutex);
    auto bin = rt.blocks.free.find(size);
    if (bin != rt.blocks.free.end() && !bin->second.empty()) {
      CUdeviceptr ptr = bin->second.back();
      bin->second.pop_back();
      rt.blocks.cachedBytes -= size;
      rt.blocks.live.emplace(ptr, size);
      return ptr;
    }
  }
  CUdeviceptr ptr = 0;
  if (check(cuMemAllocFromPoolAsync(&ptr, size, rt.pool, rt.external),
            "cuMemAllocFromPoolAsync", std::to_string(bytes) + " bytes"))
    return 0;
  std::lock_guard<std::mutex> lock(rt.mutex);
  rt.blocks.live.emplace(ptr, size);
  return ptr;
}

/// Gives a block of the asynchronous mode back: to the cache while the host
/// runs on the stream it was freed on, else to the pool (ordered on the last
/// external stream, which its last use was queued on). False if `ptr` is not
/// such a block.
bool freeOrdered(CUdeviceptr ptr) {
  Runtime &rt = runtime();
  std::unique_lock<std::mutex> lock(rt.mutex);
  auto it = rt.blocks.live.find(ptr);
  if (it == rt.blocks.live.end())
    return false;
  size_t size = it->second;
  rt.blocks.live.erase(it);
  if (rt.useExternal && rt.blocks.cachedBytes + size <= BlockCache::limit) {
    rt.blocks.free[size].push_back(ptr);
    rt.blocks.cachedBytes += size;
    return true;
  }
  CUstream stream = rt.external;
  lock.unlock();
  check(cuMemFreeAsync(ptr, stream), "cuMemFreeAsync", "");
  return true;
}

/// Hands the cached blocks back to the pool, ordered on the stream that
/// freed them (the external stream, about to change).
void releaseCache() {
  Runtime &rt = runtime();
  std::vector<CUdeviceptr> blocks;
  {
    std::lock_guard<std::mutex> lock(rt.mutex);
    for (auto &bin : rt.blocks.free)
      blocks.insert(blocks.end(), bin.second.begin(), bin.second.end());
    rt.blocks.free.clear();
    rt.blocks.cachedBytes = 0;
  }
  for (CUdeviceptr ptr : blocks)
    check(cuMemFreeAsync(ptr, rt.external), "cuMemFreeAsync", "");
}

} // namespace

//===----------------------------------------------------------------------===//
// qat_cuda_* helpers for programs that drive compiled code
//===----------------------------------------------------------------------===//

extern "C" {

void qat_cuda_set_error_mode(qat_cuda_error_mode mode) {
  runtime().mode = mode;
}

const char *qat_cuda_last_error(void) {
  return pending() ? runtime().firstError.c_str() : nullptr;
}

void qat_cuda_clear_error(void) {
  runtime().firstError.clear();
  runtime().errorPending.store(false, std::memory_order_release);
}

int qat_cuda_init(int ordinal) { return ensureInitialized(ordinal) ? 0 : 1; }

int qat_cuda_device_info(char *name, size_t nameSize, int *major, int *minor) {
  if (!enter())
    return 1;
  CUdevice device = runtime().device;
  if (check(cuDeviceGetName(name, static_cast<int>(nameSize), device),
            "cuDeviceGetName", "") ||
      check(cuDeviceGetAttribute(
                major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device),
            "cuDeviceGetAttribute", "") ||
      check(cuDeviceGetAttribute(
                minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device),
            "cuDeviceGetAttribute", ""))
    return 1;
  return 0;
}

void *qat_cuda_alloc(size_t bytes) {
  if (!enter())
    return nullptr;
  Runtime &rt = runtime();
  if (rt.useExternal)
    return reinterpret_cast<void *>(allocateOrdered(bytes));
  CUdeviceptr ptr = 0;
  if (check(cuMemAlloc(&ptr, bytes ? bytes : 1), "cuMemAlloc",
            std::to_string(bytes) + " bytes"))
    return nullptr;
  return reinterpret_cast<void *>(ptr);
}

void qat_cuda_free(void *devicePtr) {
  if (!devicePtr || !enter())
    return;
  CUdeviceptr ptr = reinterpret_cast<CUdeviceptr>(devicePtr);
  if (!freeOrdered(ptr))
    check(cuMemFree(ptr), "cuMemFree", "");
}

void qat_cuda_set_stream(void *stream) {
  if (!enter() || !ensurePool())
    return;
  Runtime &rt = runtime();
  if (rt.useExternal && rt.external == static_cast<CUstream>(stream))
    return;
  releaseCache();
  rt.external = static_cast<CUstream>(stream);
  rt.useExternal = true;
}

void qat_cuda_use_own_stream(void) {
  Runtime &rt = runtime();
  if (rt.useExternal && enter())
    releaseCache();
  rt.useExternal = false;
}

void qat_cuda_copy_to_device(void *devicePtr, const void *hostPtr,
                             size_t bytes) {
  if (!enter())
    return;
  CUstream stream = activeStream();
  if (!check(cuMemcpyHtoDAsync(reinterpret_cast<CUdeviceptr>(devicePtr),
                               hostPtr, bytes, stream),
             "cuMemcpyHtoDAsync", ""))
    synchronize(stream, "a copy to the device");
}

void qat_cuda_copy_to_host(void *hostPtr, const void *devicePtr, size_t bytes) {
  if (!enter())
    return;
  CUstream stream = activeStream();
  if (!check(cuMemcpyDtoHAsync(hostPtr,
                               reinterpret_cast<CUdeviceptr>(devicePtr), bytes,
                               stream),
             "cuMemcpyDtoHAsync", ""))
    synchronize(stream, "a copy to the host");
}

void qat_cuda_synchronize(void) {
  if (!enter())
    return;
  // Errors of asynchronous work (a faulting kernel) surface here.
  synchronize(activeStream(), "the work queued so far");
}

struct qat_cuda_timer {
  CUevent start = nullptr, stop = nullptr;
};

qat_cuda_timer *qat_cuda_timer_start(void) {
  if (!enter())
    return nullptr;
  auto *timer = new qat_cuda_timer;
  if (check(cuEventCreate(&timer->start, CU_EVENT_DEFAULT), "cuEventCreate",
            "") ||
      check(cuEventCreate(&timer->stop, CU_EVENT_DEFAULT), "cuEventCreate",
            "") ||
      check(cuEventRecord(timer->start, activeStream()), "cuEventRecord", "")) {
    delete timer;
    return nullptr;
  }
  return timer;
}

float qat_cuda_timer_stop(qat_cuda_timer *timer) {
  float ms = -1;
  if (!timer)
    return ms;
  if (enter() &&
      !check(cuEventRecord(timer->stop, activeStream()), "cuEventRecord", "") &&
      !synchronize(nullptr, "the timed work", timer->stop))
    check(cuEventElapsedTime(&ms, timer->start, timer->stop),
          "cuEventElapsedTime", "");
  cuEventDestroy(timer->start);
  cuEventDestroy(timer->stop);
  delete timer;
  return ms;
}

//===----------------------------------------------------------------------===//
// mgpu* entry points called by host code lowered with gpu-to-llvm
//===----------------------------------------------------------------------===//

CUmodule mgpuModuleLoad(void *data, size_t /*size*/) {
  if (!enter())
    return nullptr;
  CUmodule module = nullptr;
  check(cuModuleLoadData(&module, data), "cuModuleLoadData",
        "the embedded GPU binary (built for another chip or toolkit?)");
  return noteDependentLaunch(module);
}

/// Modules compiled with format=isa embed PTX, which the driver compiles
/// for the device when loading; its log says why PTX is rejected.
CUmodule mgpuModuleLoadJIT(void *data, int optLevel) {
  if (!enter())
    return nullptr;
  CUmodule module = nullptr;
  char log[512] = "";
  CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                            CU_JIT_OPTIMIZATION_LEVEL};
  void *values[] = {log, reinterpret_cast<void *>(sizeof(log)),
                    reinterpret_cast<void *>(static_cast<intptr_t>(optLevel))};
  check(cuModuleLoadDataEx(&module, data, 3, options, values),
        "cuModuleLoadDataEx",
        std::string("the embedded PTX (compiled by the driver") +
            (log[0] ? std::string(": ") + log : std::string()) + ")");
  return noteDependentLaunch(module);
}

void mgpuModuleUnload(CUmodule module) {
  Runtime &rt = runtime();
  if (!module || !rt.initialized)
    return;
  {
    // A later module may get the same handle.
    std::lock_guard<std::mutex> lock(rt.mutex);
    for (auto it = rt.lookups.begin(); it != rt.lookups.end();)
      it = it->first.module == module ? rt.lookups.erase(it) : std::next(it);
    auto &marked = rt.dependentLaunchModules;
    marked.erase(std::remove(marked.begin(), marked.end(), module),
                 marked.end());
  }
  // Compiled code unloads from a global destructor, when the driver may
  // already be shutting down; the process is ending, so a failure there
  // loses nothing.
  (void)cuModuleUnload(module);
}

CUfunction mgpuModuleGetFunction(CUmodule module, const char *name) {
  if (!enter())
    return nullptr;
  // The module failed to load when the library did (its error then went to
  // the first caller): every call must fail too, not skip its launches.
  if (!module) {
    fail("kernel '%s' is in a GPU binary that failed to load (the first error "
         "said why: cuModuleLoadData)",
         name);
    return nullptr;
  }
  Runtime &rt = runtime();
  LookupKey key{module, name};
  {
    std::lock_guard<std::mutex> lock(rt.mutex);
    auto it = rt.lookups.find(key);
    if (it != rt.lookups.end() &&
        rt.kernels[it->second].name.compare(name) == 0)
      return it->second;
  }
  CUfunction function = nullptr;
  if (check(cuModuleGetFunction(&function, module, name), "cuModuleGetFunction",
            std::string("kernel '") + name + "'"))
    return nullptr;
  std::lock_guard<std::mutex> lock(rt.mutex);
  Kernel &kernel = rt.kernels[function];
  kernel.name = name;
  kernel.dependentLaunch = false;
  for (CUmodule marked : rt.dependentLaunchModules)
    kernel.dependentLaunch |= marked == module;
  rt.lookups[key] = function;
  return function;
}

CUstream mgpuStreamCreate() { return enter() ? activeStream() : nullptr; }

void mgpuStreamDestroy(CUstream) {}

void mgpuStreamSynchronize(CUstream stream) {
  // In the asynchronous mode the host orders its work after ours on the
  // same stream; waiting here would only stall it.
  if (runtime().useExternal)
    return;
  if (stream && enter())
    synchronize(stream, "the kernels of a compiled function");
}

void mgpuLaunchKernel(CUfunction function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, CUstream stream,
                      void **params, void **extra, size_t /*paramsCount*/) {
  // A grid of no CTAs (a dynamic dimension of size 0 at run time) has
  // nothing to compute; cuLaunchKernel would reject it.
  if (!function || gridX == 0 || gridY == 0 || gridZ == 0 || !enter())
    return;
  Runtime &rt = runtime();
  bool dependent = false;
  {
    std::lock_guard<std::mutex> lock(rt.mutex);
    auto it = rt.kernels.find(function);
    dependent = it != rt.kernels.end() && it->second.dependentLaunch;
  }
  // The kernel's name is built only for an error, not on every launch (a
  // string per launch of a call of a few microseconds).
  auto failed = [&](CUresult result, const char *call) {
    return result != CUDA_SUCCESS &&
           check(result, call, "kernel '" + kernelName(function) + "'");
  };
  if (smem > 48 * 1024 &&
      failed(cuFuncSetAttribute(function,
                                CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                smem),
             "cuFuncSetAttribute"))
    return;
  CUresult result;
  const char *call = "cuLaunchKernel";
  if (rt.dependentLaunch && dependent) {
    CUlaunchAttribute dependent = {};
    dependent.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    dependent.value.programmaticStreamSerializationAllowed = 1;
    CUlaunchConfig config = {};
    config.gridDimX = gridX;
    config.gridDimY = gridY;
    config.gridDimZ = gridZ;
    config.blockDimX = blockX;
    config.blockDimY = blockY;
    config.blockDimZ = blockZ;
    config.sharedMemBytes = smem;
    config.hStream = stream;
    config.attrs = &dependent;
    config.numAttrs = 1;
    result = cuLaunchKernelEx(&config, function, params, extra);
    call = "cuLaunchKernelEx (programmatic dependent launch)";
  } else {
    result = cuLaunchKernel(function, gridX, gridY, gridZ, blockX, blockY,
                            blockZ, smem, stream, params, extra);
  }
  if (failed(result, call))
    return;
  std::lock_guard<std::mutex> lock(rt.mutex);
  if (rt.unsynchronized.size() == 8) {
    rt.unsynchronized.erase(rt.unsynchronized.begin());
    ++rt.unsynchronizedBefore;
  }
  rt.unsynchronized.push_back(function);
}

void *mgpuMemAlloc(uint64_t bytes, CUstream /*stream*/, bool /*hostShared*/) {
  return qat_cuda_alloc(bytes);
}

void mgpuMemFree(void *ptr, CUstream /*stream*/) {
  if (runtime().useExternal) {
    // Stream-ordered: the memory is reused only after the kernels queued
    // before this point, so no wait.
    qat_cuda_free(ptr);
    return;
  }
  if (!ptr || !enter())
    return;
  // Compiled code frees temporaries right after queuing the kernels that
  // use them; let those finish first.
  synchronize(runtime().stream, "the work before a free");
  check(cuMemFree(reinterpret_cast<CUdeviceptr>(ptr)), "cuMemFree", "");
}

void mgpuMemcpy(void *dst, void *src, size_t bytes, CUstream stream) {
  if (enter())
    check(cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                        reinterpret_cast<CUdeviceptr>(src), bytes, stream),
          "cuMemcpyAsync", "");
}

void mgpuMemset32(void *dst, unsigned int value, size_t count,
                  CUstream stream) {
  if (enter())
    check(cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                           stream),
          "cuMemsetD32Async", "");
}

void mgpuMemset16(void *dst, unsigned short value, size_t count,
                  CUstream stream) {
  if (enter())
    check(cuMemsetD16Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                           stream),
          "cuMemsetD16Async", "");
}

CUevent mgpuEventCreate() {
  CUevent event = nullptr;
  if (enter())
    check(cuEventCreate(&event, CU_EVENT_DISABLE_TIMING), "cuEventCreate", "");
  return event;
}

void mgpuEventDestroy(CUevent event) {
  if (event && enter())
    check(cuEventDestroy(event), "cuEventDestroy", "");
}

void mgpuEventSynchronize(CUevent event) {
  if (event && enter())
    check(cuEventSynchronize(event), "cuEventSynchronize", "");
}

void mgpuEventRecord(CUevent event, CUstream stream) {
  if (event && enter())
    check(cuEventRecord(event, stream), "cuEventRecord", "");
}

void mgpuStreamWaitEvent(CUstream stream, CUevent event) {
  if (stream && event && enter())
    check(cuStreamWaitEvent(stream, event, 0), "cuStreamWaitEvent", "");
}

/// The streaming multiprocessors of the device: persistent kernels (the
/// wgmma contraction kernel) launch one CTA per multiprocessor. 1 after an
/// error, which is pending then.
int32_t mgpuMultiprocessorCount() {
  if (!enter())
    return 1;
  Runtime &rt = runtime();
  if (int known = rt.multiprocessors.load(std::memory_order_relaxed))
    return known;
  int count = 0;
  if (check(cuDeviceGetAttribute(
                &count, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, rt.device),
            "cuDeviceGetAttribute", "the multiprocessor count") ||
      count < 1)
    return 1;
  rt.multiprocessors.store(count, std::memory_order_relaxed);
  return count;
}

/// Host side of nvgpu.tma.create.descriptor (its lowering in
/// convert-nvgpu-to-nvvm calls this; the signature is upstream's): encodes a
/// tiled TMA descriptor of the ranked memref `descriptor` of rank `rank`
/// with the box `box` (outermost dimension first) and returns a device copy
/// of it, which the kernel reads through a pointer. The memref must be
/// contiguous in its innermost dimension.
void *mgpuTensorMapEncodeTiledMemref(int64_t rank, void *descriptor,
                                     CUtensorMapDataType dataType,
                                     CUtensorMapInterleave interleave,
                                     CUtensorMapSwizzle swizzle,
                                     CUtensorMapL2promotion l2Promotion,
                                     CUtensorMapFloatOOBfill oobFill,
                                     int64_t *box) {
  if (!enter())
    return nullptr;
  // Bytes per element of CU_TENSOR_MAP_DATA_TYPE_UINT8 .. TFLOAT32_FTZ.
  static const int elementBytes[] = {1, 2, 4, 4, 8, 8, 2, 4, 8, 2, 4, 4, 4};
  if (rank < 1 || rank > 5 ||
      static_cast<size_t>(dataType) >= std::size(elementBytes)) {
    fail("mgpuTensorMapEncodeTiledMemref: rank %lld or data type %d not "
         "supported (rank 1 to 5, the CUtensorMapDataType of a numeric type)",
         static_cast<long long>(rank), static_cast<int>(dataType));
    return nullptr;
  }
  // A ranked memref descriptor: allocated and aligned pointers, offset,
  // sizes[rank], strides[rank].
  auto *fields = static_cast<char *>(descriptor);
  char *aligned = *reinterpret_cast<char **>(fields + sizeof(void *));
  const auto *offsetSizesStrides =
      reinterpret_cast<const int64_t *>(fields + 2 * sizeof(void *));
  int64_t offset = offsetSizesStrides[0];
  const int64_t *sizes = offsetSizesStrides + 1;
  const int64_t *strides = sizes + rank;
  int bytes = elementBytes[dataType];
  if (strides[rank - 1] != 1) {
    fail("mgpuTensorMapEncodeTiledMemref: the innermost stride is %lld, TMA "
         "needs contiguous rows",
         static_cast<long long>(strides[rank - 1]));
    return nullptr;
  }
  // The driver counts dimensions innermost first.
  cuuint64_t globalDim[5], globalStrides[4];
  cuuint32_t boxDim[5], elementStrides[5];
  for (int64_t i = 0; i < rank; ++i) {
    globalDim[i] = static_cast<cuuint64_t>(sizes[rank - 1 - i]);
    boxDim[i] = static_cast<cuuint32_t>(box[rank - 1 - i]);
    elementStrides[i] = 1;
  }
  for (int64_t i = 0; i + 1 < rank; ++i)
    globalStrides[i] = static_cast<cuuint64_t>(strides[rank - 2 - i]) * bytes;
  void *address = aligned + offset * bytes;
  // A tensor without elements (no rows at run time): the driver encodes no
  // descriptor of one, and the compiled kernels read none through it (no
  // CTA where M or N is empty, no K tile where K is). A tensor of one
  // element a dimension at memory of the runtime's own stands in.
  if (std::any_of(sizes, sizes + rank,
                  [](int64_t size) { return size == 0; })) {
    Runtime &rt = runtime();
    std::lock_guard<std::mutex> lock(rt.mutex);
    if (!rt.emptyTensorStandIn &&
        check(cuMemAlloc(&rt.emptyTensorStandIn, 256), "cuMemAlloc",
              "the stand-in of empty tensors"))
      return nullptr;
    address = reinterpret_cast<void *>(rt.emptyTensorStandIn);
    std::fill(globalDim, globalDim + rank, 1);
    std::fill(globalStrides, globalStrides + rank - 1, 16);
  }
  CUtensorMap map;
  std::string subject = "a TMA descriptor of a rank-" + std::to_string(rank) +
                        " tensor of " + std::to_string(sizes[0]) +
                        (rank > 1 ? " x ..." : "") + " elements";
  if (check(cuTensorMapEncodeTiled(
                &map, dataType, static_cast<cuuint32_t>(rank), address,
                globalDim, globalStrides, boxDim, elementStrides, interleave,
                swizzle, l2Promotion, oobFill),
            "cuTensorMapEncodeTiled", subject))
    return nullptr;

  Runtime &rt = runtime();
  std::array<uint64_t, 16> key;
  static_assert(sizeof(map) == sizeof(key), "a CUtensorMap is 128 bytes");
  std::memcpy(key.data(), &map, sizeof(map));
  std::lock_guard<std::mutex> lock(rt.mutex);
  auto it = rt.tensorMaps.find(key);
  if (it != rt.tensorMaps.end())
    return reinterpret_cast<void *>(it->second);
  if (!rt.tensorMapSlab || rt.tensorMapSlabUsed == kTensorMapsPerSlab) {
    if (check(cuMemAlloc(&rt.tensorMapSlab, kTensorMapsPerSlab * sizeof(map)),
              "cuMemAlloc", "TMA descriptors"))
      return nullptr;
    rt.tensorMapSlabUsed = 0;
  }
  CUdeviceptr copy = rt.tensorMapSlab + rt.tensorMapSlabUsed * sizeof(map);
  // Synchronous: the copy is complete before any kernel can read it, on
  // whichever stream.
  if (check(cuMemcpyHtoD(copy, &map, sizeof(map)), "cuMemcpyHtoD", subject))
    return nullptr;
  ++rt.tensorMapSlabUsed;
  rt.tensorMaps.emplace(key, copy);
  return reinterpret_cast<void *>(copy);
}

} // extern "C"
