/* The host side of a compiled GPU function's calls, on the mock driver
 * (mock_cuda.c): which driver calls each call makes once the runtime has
 * seen it, in the stream-ordered mode of qat_cuda_set_stream (PyTorch's)
 * and in the runtime's own synchronous mode; the DLPack views of the
 * results (qat_dlpack_results) and where their memory goes; the context
 * set once per thread. The kernels do not run: only the host path is
 * checked.
 */

#include "gpu_affine.h"
#include "qat/Runtime/CUDARuntime.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

long mock_cuda_calls(const char *name);
void mock_cuda_reset(void);
void mock_cuda_print(const char *title);
void *mock_cuda_last_free_stream(void);
/* The runtime's entry point of nvgpu.tma.create.descriptor (its CUtensorMap
   enums as ints). */
void *mgpuModuleGetFunction(void *module, const char *name);
void *mgpuTensorMapEncodeTiledMemref(int64_t rank, void *descriptor,
                                     int dataType, int interleave, int swizzle,
                                     int l2Promotion, int oobFill,
                                     int64_t *box);

/* dlpack.h 0.8, as lib/Runtime/CUDA/DLPack.cpp writes it. */
typedef struct {
  void *data;
  struct {
    int32_t type, id;
  } device;
  int32_t ndim;
  struct {
    uint8_t code, bits;
    uint16_t lanes;
  } dtype;
  int64_t *shape, *strides;
  uint64_t byteOffset;
  void *managerContext;
  void (*deleter)(void *self);
} DLManagedTensor;

static float x[2][3] = {{-1.0f, -0.5f, 0.0f}, {0.5f, 1.0f, 1.5f}};
static qat_memref_2d_f32 xd;

static void upload(void) {
  float *dx = qat_cuda_alloc(sizeof(x));
  qat_cuda_copy_to_device(dx, x, sizeof(x));
  xd = (qat_memref_2d_f32){dx, dx, 0, {2, 3}, {3, 1}};
}

static void call(const char *title, gpu_affine_results *r) {
  mock_cuda_reset();
  _mlir_ciface_gpu_affine(r, &xd, 2.0f);
  mock_cuda_print(title);
}

static void *thread(void *unused) {
  gpu_affine_results r;
  (void)unused;
  call("other thread, first call", &r);
  gpu_affine_free_results(&r);
  call("other thread, second call", &r);
  gpu_affine_free_results(&r);
  return NULL;
}

int main(void) {
  gpu_affine_results r;
  void *tensors[3], *first[3];
  int32_t layout[] = {2, 2, 32, 1, 2, 32, 0, 2, 32};
  qat_memref_1d_f32 alias;
  const void *arguments[2] = {&xd, &alias};
  DLManagedTensor *t;
  pthread_t other;
  int i;

  qat_cuda_set_error_mode(QAT_CUDA_ERRORS_RECORD);
  qat_cuda_set_stream((void *)0x1000);
  upload();
  call("first call", &r);
  gpu_affine_free_results(&r);
  call("second call", &r);

  /* Results as DLPack tensors; r1 posing as an argument returned as is. */
  alias = r.r1;
  qat_dlpack_plan plan = {.descriptors = &r,
                          .layout = layout,
                          .arguments = arguments,
                          .release = qat_cuda_free,
                          .tensors = tensors,
                          .count = 3,
                          .argumentCount = 2,
                          .deviceType = 2,
                          .deviceId = 0};
  if (qat_dlpack_results(&plan) != 0)
    return 1;
  t = tensors[0];
  printf("view 0: data %s, device %d:%d, rank %d, shape %lldx%lld, strides "
         "%lld,%lld, code %d bits %d lanes %d, offset %llu\n",
         t->data == r.r0.aligned ? "aligned" : "wrong", t->device.type,
         t->device.id, t->ndim, (long long)t->shape[0], (long long)t->shape[1],
         (long long)t->strides[0], (long long)t->strides[1], t->dtype.code,
         t->dtype.bits, t->dtype.lanes, (unsigned long long)t->byteOffset);
  t = tensors[2];
  printf("view 1: %s; view 2: rank %d, data %s\n",
         tensors[1] ? "wrapped" : "NULL (an argument)", t->ndim,
         t->data == r.r2.aligned ? "aligned" : "wrong");
  /* The host drops its tensors: memory back to the runtime's cache. */
  memcpy(first, tensors, sizeof(first));
  for (i = 0; i < 3; i += 2)
    ((DLManagedTensor *)tensors[i])->deleter(tensors[i]);
  qat_cuda_free(r.r1.allocated);
  call("after the views died", &r);
  plan.argumentCount = 1;
  qat_dlpack_results(&plan);
  printf("views recycled: %s\n",
         (tensors[0] == first[2] || tensors[0] == first[0]) ? "yes" : "no");
  for (i = 0; i < 3; ++i)
    ((DLManagedTensor *)tensors[i])->deleter(tensors[i]);

  /* Another thread: the context is set once there. */
  pthread_create(&other, NULL, thread, NULL);
  pthread_join(other, NULL);

  /* Another stream: the cached blocks go back to the pool, ordered on the
     stream that freed them. */
  mock_cuda_reset();
  qat_cuda_set_stream((void *)0x2000);
  mock_cuda_print("stream change");
  printf("freed on the old stream: %s\n",
         mock_cuda_last_free_stream() == (void *)0x1000 ? "yes" : "no");
  call("first call on the new stream", &r);
  gpu_affine_free_results(&r);

  /* The synchronous mode: plain allocations, freed after a wait. */
  qat_cuda_use_own_stream();
  qat_cuda_free(xd.allocated);
  upload();
  call("synchronous call", &r);
  gpu_affine_free_results(&r);
  qat_cuda_free(xd.allocated);
  printf("error: %s\n", qat_cuda_last_error() ? qat_cuda_last_error() : "none");

  /* A TMA descriptor of a tensor without rows (a dynamic M of 0): the
     driver takes none, the runtime encodes a stand-in. */
  {
    struct {
      void *allocated, *aligned;
      int64_t offset, sizes[2], strides[2];
    } empty = {NULL, NULL, 0, {0, 64}, {64, 1}};
    int64_t box[2] = {128, 64};
    /* bf16, no interleave, 128-byte swizzle, 256-byte L2 promotion, no
       NaN fill. */
    void *map = mgpuTensorMapEncodeTiledMemref(2, &empty, 9, 0, 3, 3, 0, box);
    printf("empty tensor: descriptor %s, error: %s\n", map ? "made" : "none",
           qat_cuda_last_error() ? qat_cuda_last_error() : "none");
  }
  /* A kernel of a module that failed to load (the module is null): the call
     fails every time instead of skipping its launches (recorded here rather
     than exiting, as Python hosts do). */
  qat_cuda_set_error_mode(QAT_CUDA_ERRORS_RECORD);
  {
    void *kernel = mgpuModuleGetFunction(NULL, "k");
    printf("kernel of no module: %s, error: %s\n", kernel ? "found" : "none",
           qat_cuda_last_error() ? qat_cuda_last_error() : "none");
  }
  qat_cuda_clear_error();
  return 0;
}
