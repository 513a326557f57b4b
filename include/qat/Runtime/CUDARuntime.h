/*===- CUDARuntime.h - The qat CUDA runtime, public C ABI ---------*- C -*-===*\
|*                                                                            *|
|* Compiled qat host code calls the mgpu* entry points (the ABI that MLIR's   *|
|* gpu-to-llvm lowering emits: module loading, launches, streams, memory).   *|
|* Programs that drive compiled code call the qat_cuda_* functions below to  *|
|* allocate device buffers, copy data, time and check for errors. The        *|
|* runtime needs only the CUDA driver API: no LLVM/MLIR.                     *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef QAT_RUNTIME_CUDARUNTIME_H
#define QAT_RUNTIME_CUDARUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A global that qat-gpu-dependent-launch puts in a GPU module whose kernels
   all wait for their predecessor (griddepcontrol.wait) before touching
   memory: the runtime launches those kernels with programmatic stream
   serialization, so that each may start while the one before it finishes.
   QAT_CUDA_DEPENDENT_LAUNCH=0 in the environment turns that off. */
#define QAT_CUDA_DEPENDENT_LAUNCH_MARKER "qat_griddepcontrol"

/* What happens when a CUDA call fails. */
typedef enum {
  /* Print the error (call, kernel, CUDA error name and text) and exit(1).
     The default: a tool never continues on a failed launch. */
  QAT_CUDA_ERRORS_EXIT = 0,
  /* Record the first error and turn later work into no-ops until
     qat_cuda_clear_error(); for hosts such as Python that raise instead. */
  QAT_CUDA_ERRORS_RECORD = 1,
} qat_cuda_error_mode;

void qat_cuda_set_error_mode(qat_cuda_error_mode mode);
/* The first error recorded since the last clear, or NULL. */
const char *qat_cuda_last_error(void);
void qat_cuda_clear_error(void);

/* Initializes the driver and the primary context of device `ordinal`
   (0 unless QAT_CUDA_DEVICE says otherwise); implied by every other call. */
int qat_cuda_init(int ordinal);
/* Name and compute capability of the current device; 0 on success. */
int qat_cuda_device_info(char *name, size_t nameSize, int *major, int *minor);

void *qat_cuda_alloc(size_t bytes);
void qat_cuda_free(void *devicePtr);
void qat_cuda_copy_to_device(void *devicePtr, const void *hostPtr,
                             size_t bytes);
void qat_cuda_copy_to_host(void *hostPtr, const void *devicePtr, size_t bytes);
void qat_cuda_synchronize(void);

/* Queues compiled code on `stream`, a CUstream of the device's primary
   context (NULL is the legacy default stream, PyTorch's default), instead of
   the runtime's own stream, and makes it asynchronous, for hosts that order
   their own work on that stream: compiled functions return without waiting
   for the GPU, and device memory (results, temporaries, qat_cuda_alloc) is
   stream-ordered: a block freed on the stream is kept by size for the next
   allocation of that size, others come from a memory pool of the runtime
   (cuMemAllocFromPoolAsync/cuMemFreeAsync on the stream; the pool keeps
   freed memory for reuse), and the kept blocks go back to the pool when the
   stream changes. Free buffers in the mode that allocated them. */
void qat_cuda_set_stream(void *stream);
/* Back to the runtime's own stream and synchronous calls (the default). */
void qat_cuda_use_own_stream(void);

/* Results of a compiled function as DLPack tensors (dlpack.h's
   DLManagedTensor, the "dltensor" capsule of torch.from_dlpack), so that a
   host takes them over without a copy and without an object of its own per
   result. A plan describes one function's results once; the host calls
   qat_dlpack_results after each call of the function. */
typedef struct qat_dlpack_plan {
  /* The memref descriptors the function's C interface returned, one after
     another (its results struct). */
  const void *descriptors;
  /* Per result: rank, DLDataTypeCode, bits (3 int32 each). */
  const int32_t *layout;
  /* The call's argument descriptors: a result that is an argument returned
     as is gets NULL (the host has it already). */
  const void *const *arguments;
  /* Called on a result's allocated pointer when the host drops its tensor
     (qat_cuda_free for GPU results: stream-ordered, no wait). */
  void (*release)(void *);
  /* Receives a DLManagedTensor pointer per result. */
  void **tensors;
  int32_t count, argumentCount;
  /* DLDeviceType and device ordinal of the results. */
  int32_t deviceType, deviceId;
} qat_dlpack_plan;
/* Fills plan->tensors; the views are recycled once their deleter ran. 0, or
   1 if a rank is over 8. Needs no GPU (lib/Runtime/CUDA/DLPack.cpp). */
int qat_dlpack_results(const qat_dlpack_plan *plan);

/* Milliseconds elapsed between two marks on the stream that compiled code
   runs on. */
typedef struct qat_cuda_timer qat_cuda_timer;
qat_cuda_timer *qat_cuda_timer_start(void);
float qat_cuda_timer_stop(qat_cuda_timer *timer);

#ifdef __cplusplus
}
#endif

#endif /* QAT_RUNTIME_CUDARUNTIME_H */
