/* A C program that calls functions compiled for the GPU ahead of time by
 * qat-run --target=cuda, through the generated headers, the objects and the
 * qat CUDA runtime only (no LLVM, no MLIR). It checks the results against
 * values it computes itself on the host.
 *
 *   driver        run the checks, print the results, "all checks passed"
 *   driver fault  pass a bad address as a device buffer: the kernel faults
 *                 and the runtime must stop with the CUDA error
 */

#include "gpu_affine.h"
#include "gpu_fake_quant.h"
#include "qat/Runtime/CUDARuntime.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check(int ok, const char *what) {
  if (!ok)
    printf("FAILED: %s\n", what);
  return ok;
}

static void *upload(const void *host, size_t bytes) {
  void *device = qat_cuda_alloc(bytes);
  qat_cuda_copy_to_device(device, host, bytes);
  return device;
}

/* Results are contiguous row-major buffers (identity layouts). */
static int download(float *host, const float *aligned, int64_t offset,
                    size_t count) {
  qat_cuda_copy_to_host(host, aligned + offset, count * sizeof(float));
  return 1;
}

static int affine(void) {
  float x[2][3] = {{-1.0f, -0.5f, 0.0f}, {0.5f, 1.0f, 1.5f}};
  float t[2][3], sums[3], max;
  float *dx = upload(x, sizeof(x));
  qat_memref_2d_f32 xd = {dx, dx, 0, {2, 3}, {3, 1}};
  gpu_affine_results r;
  int ok = 1, i, j;

  _mlir_ciface_gpu_affine(&r, &xd, 2.0f);
  ok &= check(r.r0.sizes[0] == 2 && r.r0.sizes[1] == 3 &&
                  r.r0.strides[0] == 3 && r.r0.strides[1] == 1,
              "r0 layout");
  ok &= check(r.r1.sizes[0] == 3 && r.r1.strides[0] == 1, "r1 layout");
  download(&t[0][0], r.r0.aligned, r.r0.offset, 6);
  download(sums, r.r1.aligned, r.r1.offset, 3);
  download(&max, r.r2.aligned, r.r2.offset, 1);
  for (i = 0; i < 2; ++i) {
    printf("tanh row %d:", i);
    for (j = 0; j < 3; ++j) {
      printf(" %.6f", t[i][j]);
      ok &= check(fabsf(t[i][j] - tanhf(2.0f * x[i][j])) <= 1e-6f, "tanh");
    }
    printf("\n");
  }
  printf("column sums:");
  for (j = 0; j < 3; ++j) {
    printf(" %.6f", sums[j]);
    ok &= check(sums[j] == x[0][j] + x[1][j], "column sum");
  }
  printf("\nmax: %.6f\n", max);
  ok &= check(max == 1.5f, "max");
  gpu_affine_free_results(&r);
  qat_cuda_free(dx);
  return ok;
}

/* The signed 4-bit absmax per-row quantizer of docs/semantics.md, on the
 * host: s = max|x| / 7, xq = clamp(roundeven(x / s), -8, 7) * s. */
static int fakeQuant(void) {
  float x[4][32], y[4][32], s[4];
  float *dx;
  qat_memref_2d_f32 xd;
  gpu_fake_quant_results r;
  int ok = 1, i, j;
  double worst = 0;

  for (i = 0; i < 4; ++i)
    for (j = 0; j < 32; ++j)
      x[i][j] = sinf(0.37f * (float)(32 * i + j)) * (float)(i + 1);
  dx = upload(x, sizeof(x));
  xd = (qat_memref_2d_f32){dx, dx, 0, {4, 32}, {32, 1}};
  _mlir_ciface_gpu_fake_quant(&r, &xd);
  download(&y[0][0], r.r0.aligned, r.r0.offset, 4 * 32);
  download(s, r.r1.aligned, r.r1.offset, 4);
  for (i = 0; i < 4; ++i) {
    float c = 0, step;
    for (j = 0; j < 32; ++j)
      c = fmaxf(c, fabsf(x[i][j]));
    step = c / 7.0f;
    ok &= check(fabsf(s[i] - step) <= 1e-7f * step, "step");
    for (j = 0; j < 32; ++j) {
      float k = fminf(fmaxf(nearbyintf(x[i][j] / step), -8.0f), 7.0f);
      double error = fabs((double)y[i][j] - (double)(k * step));
      worst = error > worst ? error : worst;
      ok &= check(error <= 1e-6 * step, "fake_quant");
    }
  }
  printf("fake_quant steps: %.6f %.6f %.6f %.6f, max error %.3g\n", s[0], s[1],
         s[2], s[3], worst);
  gpu_fake_quant_free_results(&r);
  qat_cuda_free(dx);
  return ok;
}

int main(int argc, char **argv) {
  int ok;
  char name[128];
  int major, minor;
  if (qat_cuda_device_info(name, sizeof(name), &major, &minor) == 0)
    printf("device: %s (sm_%d%d)\n", name, major, minor);
  if (argc > 1 && strcmp(argv[1], "fault") == 0) {
    /* An address no allocation has (a host pointer may be valid on a GPU
       with heterogeneous memory management). */
    float *bad = (float *)(uintptr_t)0x1000;
    qat_memref_2d_f32 xd = {bad, bad, 0, {2, 3}, {3, 1}};
    gpu_affine_results r;
    _mlir_ciface_gpu_affine(&r, &xd, 2.0f);
    printf("the fault went unnoticed\n");
    return 0;
  }
  ok = affine();
  ok &= fakeQuant();
  printf(ok ? "all checks passed\n" : "some checks failed\n");
  return ok ? 0 : 1;
}
