/* A stand-in for the NVIDIA driver (libcuda.so.1) that runs nothing and
 * counts the calls the qat CUDA runtime makes, so that the runtime's host
 * path can be tested without a GPU: device memory is host memory, copies
 * are memcpy, launches only count, and the current context is a
 * thread-local as in the driver. mock_cuda_calls(name) and
 * mock_cuda_reset() read and clear the counts; mock_cuda_last_free_stream()
 * is the stream of the last cuMemFreeAsync.
 */

#include <cuda.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMES 64
static const char *names[MAX_NAMES];
static long counts[MAX_NAMES];
static CUstream lastFreeStream;
static __thread CUcontext current;
static char contextObject, streamObject, poolObject;

static void count(const char *name) {
  int i;
  for (i = 0; i < MAX_NAMES && names[i]; ++i)
    if (strcmp(names[i], name) == 0)
      break;
  if (i == MAX_NAMES)
    abort();
  names[i] = name;
  ++counts[i];
}

long mock_cuda_calls(const char *name) {
  long total = 0;
  for (int i = 0; i < MAX_NAMES && names[i]; ++i)
    if (!name || strcmp(names[i], name) == 0)
      total += counts[i];
  return total;
}

void mock_cuda_reset(void) { memset(counts, 0, sizeof(counts)); }

static int byName(const void *a, const void *b) {
  return strcmp(names[*(const int *)a], names[*(const int *)b]);
}

/* "title: name=count ..." for every function called since the last reset,
   by name. */
void mock_cuda_print(const char *title) {
  int order[MAX_NAMES], n = 0;
  for (int i = 0; i < MAX_NAMES && names[i]; ++i)
    if (counts[i])
      order[n++] = i;
  qsort(order, n, sizeof(int), byName);
  printf("%s:", title);
  for (int i = 0; i < n; ++i)
    printf(" %s=%ld", names[order[i]], counts[order[i]]);
  printf("\n");
}

void *mock_cuda_last_free_stream(void) { return lastFreeStream; }

#define COUNT() count(__func__)

CUresult cuInit(unsigned int flags) {
  (void)flags;
  COUNT();
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetCount(int *n) {
  COUNT();
  *n = 1;
  return CUDA_SUCCESS;
}
CUresult cuDeviceGet(CUdevice *d, int ordinal) {
  COUNT();
  *d = ordinal;
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetName(char *name, int len, CUdevice d) {
  (void)d;
  COUNT();
  strncpy(name, "mock", len);
  return CUDA_SUCCESS;
}
/* A Hopper: compute capability 9.0. */
CUresult cuDeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice d) {
  (void)d;
  COUNT();
  *v = a == CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR ? 0 : 9;
  return CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice d) {
  (void)d;
  COUNT();
  *c = (CUcontext)&contextObject;
  return CUDA_SUCCESS;
}
CUresult cuCtxSetCurrent(CUcontext c) {
  COUNT();
  current = c;
  return CUDA_SUCCESS;
}
CUresult cuCtxGetCurrent(CUcontext *c) {
  COUNT();
  *c = current;
  return CUDA_SUCCESS;
}
CUresult cuStreamCreate(CUstream *s, unsigned int flags) {
  (void)flags;
  COUNT();
  *s = (CUstream)&streamObject;
  return CUDA_SUCCESS;
}
CUresult cuStreamSynchronize(CUstream s) {
  (void)s;
  COUNT();
  return CUDA_SUCCESS;
}
CUresult cuStreamWaitEvent(CUstream s, CUevent e, unsigned int f) {
  (void)s, (void)e, (void)f;
  COUNT();
  return CUDA_SUCCESS;
}
CUresult cuGetErrorName(CUresult r, const char **s) {
  (void)r;
  *s = "CUDA_ERROR_MOCK";
  return CUDA_SUCCESS;
}
CUresult cuGetErrorString(CUresult r, const char **s) {
  (void)r;
  *s = "the mock driver";
  return CUDA_SUCCESS;
}
CUresult cuEventCreate(CUevent *e, unsigned int f) {
  (void)f;
  COUNT();
  *e = (CUevent)malloc(1);
  return CUDA_SUCCESS;
}
CUresult cuEventDestroy(CUevent e) {
  COUNT();
  free(e);
  return CUDA_SUCCESS;
}
CUresult cuEventRecord(CUevent e, CUstream s) {
  (void)e, (void)s;
  COUNT();
  return CUDA_SUCCESS;
}
CUresult cuEventSynchronize(CUevent e) {
  (void)e;
  COUNT();
  return CUDA_SUCCESS;
}
CUresult cuEventElapsedTime(float *ms, CUevent a, CUevent b) {
  (void)a, (void)b;
  COUNT();
  *ms = 0;
  return CUDA_SUCCESS;
}
CUresult cuMemPoolCreate(CUmemoryPool *p, const CUmemPoolProps *props) {
  (void)props;
  COUNT();
  *p = (CUmemoryPool)&poolObject;
  return CUDA_SUCCESS;
}
CUresult cuMemPoolSetAttribute(CUmemoryPool p, CUmemPool_attribute a, void *v) {
  (void)p, (void)a, (void)v;
  COUNT();
  return CUDA_SUCCESS;
}
CUresult cuMemAlloc(CUdeviceptr *p, size_t bytes) {
  COUNT();
  *p = (CUdeviceptr)malloc(bytes);
  return CUDA_SUCCESS;
}
CUresult cuMemFree(CUdeviceptr p) {
  COUNT();
  free((void *)p);
  return CUDA_SUCCESS;
}
CUresult cuMemAllocFromPoolAsync(CUdeviceptr *p, size_t bytes,
                                 CUmemoryPool pool, CUstream s) {
  (void)pool, (void)s;
  COUNT();
  *p = (CUdeviceptr)malloc(bytes);
  return CUDA_SUCCESS;
}
CUresult cuMemFreeAsync(CUdeviceptr p, CUstream s) {
  COUNT();
  lastFreeStream = s;
  free((void *)p);
  return CUDA_SUCCESS;
}
CUresult cuMemcpyHtoDAsync(CUdeviceptr d, const void *h, size_t n, CUstream s) {
  (void)s;
  COUNT();
  memcpy((void *)d, h, n);
  return CUDA_SUCCESS;
}
CUresult cuMemcpyHtoD(CUdeviceptr d, const void *h, size_t n) {
  COUNT();
  memcpy((void *)d, h, n);
  return CUDA_SUCCESS;
}
/* The runtime's TMA descriptors (wgmma kernels): the address is all a
   caller of this mock could look at. As the driver, it rejects a dimension
   of no elements. */
CUresult cuTensorMapEncodeTiled(
    CUtensorMap *map, CUtensorMapDataType type, cuuint32_t rank, void *address,
    const cuuint64_t *dims, const cuuint64_t *strides, const cuuint32_t *box,
    const cuuint32_t *elementStrides, CUtensorMapInterleave interleave,
    CUtensorMapSwizzle swizzle, CUtensorMapL2promotion promotion,
    CUtensorMapFloatOOBfill fill) {
  (void)type, (void)strides, (void)box;
  (void)elementStrides, (void)interleave, (void)swizzle, (void)promotion;
  (void)fill;
  COUNT();
  for (cuuint32_t i = 0; i < rank; ++i)
    if (dims[i] == 0)
      return CUDA_ERROR_INVALID_VALUE;
  memset(map, 0, sizeof *map);
  memcpy(map, &address, sizeof address);
  return CUDA_SUCCESS;
}
CUresult cuMemcpyDtoHAsync(void *h, CUdeviceptr d, size_t n, CUstream s) {
  (void)s;
  COUNT();
  memcpy(h, (void *)d, n);
  return CUDA_SUCCESS;
}
CUresult cuMemcpyAsync(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st) {
  (void)st;
  COUNT();
  memcpy((void *)d, (void *)s, n);
  return CUDA_SUCCESS;
}
CUresult cuMemsetD32Async(CUdeviceptr d, unsigned int v, size_t n, CUstream s) {
  (void)s;
  COUNT();
  for (size_t i = 0; i < n; ++i)
    ((unsigned int *)d)[i] = v;
  return CUDA_SUCCESS;
}
CUresult cuMemsetD16Async(CUdeviceptr d, unsigned short v, size_t n,
                          CUstream s) {
  (void)s;
  COUNT();
  for (size_t i = 0; i < n; ++i)
    ((unsigned short *)d)[i] = v;
  return CUDA_SUCCESS;
}
CUresult cuModuleLoadData(CUmodule *m, const void *image) {
  (void)image;
  COUNT();
  *m = (CUmodule)malloc(1);
  return CUDA_SUCCESS;
}
CUresult cuModuleLoadDataEx(CUmodule *m, const void *image, unsigned int n,
                            CUjit_option *o, void **v) {
  (void)n, (void)o, (void)v;
  return cuModuleLoadData(m, image);
}
CUresult cuModuleUnload(CUmodule m) {
  COUNT();
  free(m);
  return CUDA_SUCCESS;
}
CUresult cuModuleGetGlobal(CUdeviceptr *p, size_t *bytes, CUmodule m,
                           const char *name) {
  (void)p, (void)bytes, (void)m, (void)name;
  COUNT();
  return CUDA_ERROR_NOT_FOUND;
}
/* One function object per (module, name): the same handle for the same
   kernel, as the driver gives. */
CUresult cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name) {
  static struct {
    CUmodule module;
    char name[128];
  } functions[64];
  int i;
  COUNT();
  for (i = 0; i < 64 && functions[i].module; ++i)
    if (functions[i].module == m && strcmp(functions[i].name, name) == 0)
      break;
  if (i == 64)
    abort();
  functions[i].module = m;
  strncpy(functions[i].name, name, sizeof(functions[i].name) - 1);
  *f = (CUfunction)&functions[i];
  return CUDA_SUCCESS;
}
CUresult cuFuncSetAttribute(CUfunction f, CUfunction_attribute a, int v) {
  (void)f, (void)a, (void)v;
  COUNT();
  return CUDA_SUCCESS;
}
CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned smem,
                        CUstream s, void **params, void **extra) {
  (void)f, (void)gx, (void)gy, (void)gz, (void)bx, (void)by, (void)bz;
  (void)smem, (void)s, (void)params, (void)extra;
  COUNT();
  return CUDA_SUCCESS;
}
CUresult cuLaunchKernelEx(const CUlaunchConfig *c, CUfunction f, void **params,
                          void **extra) {
  (void)c, (void)f, (void)params, (void)extra;
  COUNT();
  return CUDA_SUCCESS;
}
