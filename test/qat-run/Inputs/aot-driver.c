/* A C program that calls functions compiled ahead of time by qat-run,
 * through nothing but the generated headers, the objects and libm. */

#include "affine.h"
#include "square.h"

#include <stdio.h>

static int check(int ok, const char *what) {
  if (!ok)
    printf("FAILED: %s\n", what);
  return ok;
}

int main(void) {
  float x[2][3] = {{-1.0f, -0.5f, 0.0f}, {0.5f, 1.0f, 1.5f}};
  qat_memref_2d_f32 xd = {&x[0][0], &x[0][0], 0, {2, 3}, {3, 1}};
  affine_results r;
  int64_t i, j;
  int ok = 1;

  _mlir_ciface_affine(&r, &xd, 2.0f);
  ok &= check(r.r0.sizes[0] == 2 && r.r0.sizes[1] == 3, "r0 sizes");
  ok &= check(r.r1.sizes[0] == 3, "r1 sizes");
  ok &= check(r.r0.allocated != NULL && r.r1.allocated != NULL, "buffers");
  for (i = 0; i < 2; ++i) {
    printf("tanh row %d:", (int)i);
    for (j = 0; j < 3; ++j)
      printf(" %.6f", r.r0.aligned[r.r0.offset + i * r.r0.strides[0] +
                                   j * r.r0.strides[1]]);
    printf("\n");
  }
  printf("column sums:");
  for (j = 0; j < 3; ++j)
    printf(" %.6f", r.r1.aligned[r.r1.offset + j * r.r1.strides[0]]);
  printf("\n");
  printf("max: %.6f\n", r.r2);
  affine_free_results(&r);

  {
    int8_t v[5] = {-128, -3, 0, 7, 127};
    float w[3] = {1.0f, 2.0f, 3.0f};
    qat_memref_1d_i8 vd = {v, v, 0, {5}, {1}};
    qat_memref_1d_f32 wd = {w, w, 0, {3}, {1}};
    square_results s;
    _mlir_ciface_square(&s, &vd, &wd);
    ok &= check(s.r0.sizes[0] == 5, "dynamic size");
    printf("squares:");
    for (i = 0; i < s.r0.sizes[0]; ++i)
      printf(" %d", (int)s.r0.aligned[s.r0.offset + i * s.r0.strides[0]]);
    printf("\nincremented:");
    for (i = 0; i < 3; ++i)
      printf(" %.1f", s.r1.aligned[s.r1.offset + i * s.r1.strides[0]]);
    printf("\n");
    square_free_results(&s);
  }
  printf(ok ? "all checks passed\n" : "some checks failed\n");
  return ok ? 0 : 1;
}
