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
void qat_cuda_copy_to_host(void *hostPtr, const void *devicePtr,
                           size_t bytes);
void qat_cuda_synchronize(void);

/* Milliseconds elapsed on the runtime's stream between two marks. */
typedef struct qat_cuda_timer qat_cuda_timer;
qat_cuda_timer *qat_cuda_timer_start(void);
float qat_cuda_timer_stop(qat_cuda_timer *timer);

#ifdef __cplusplus
}
#endif

#endif /* QAT_RUNTIME_CUDARUNTIME_H */
