// Ahead of time: object files and C headers from qat-run, linked into a C
// program with nothing but libm (no LLVM or MLIR at run time).

// REQUIRES: c-compiler
// RUN: rm -rf %t && mkdir -p %t
// RUN: qat-run %s --emit-object=%t/affine.o --emit-header=%t/affine.h 2>&1 | count 0
// RUN: qat-run %S/Inputs/aot-dynamic.mlir --emit-object=%t/square.o --emit-header=%t/square.h
// RUN: FileCheck %s --check-prefix=HEADER < %t/affine.h
// RUN: llvm-nm --undefined-only %t/affine.o | FileCheck %s --check-prefix=UNDEF
// RUN: %cc -std=c99 -Wall -Wextra -Werror -pedantic -I%t %S/Inputs/aot-driver.c %t/affine.o %t/square.o -lm -o %t/driver
// RUN: %t/driver | FileCheck %s --check-prefix=DRIVER

// The JIT computes the same.
// RUN: %python %S/Inputs/npytool.py save %t/x.npy "np.array([[-1, -0.5, 0], [0.5, 1, 1.5]], dtype=np.float32)"
// RUN: qat-run %s --arg=%t/x.npy --arg=const:2 | FileCheck %s --check-prefix=JIT

// Symbols a plain `cc ... -lm` would not find are named.
// RUN: qat-run %S/Inputs/aot-unranked.mlir --entry=other --emit-object=%t/u.o 2>&1 | FileCheck %s --check-prefix=WARN
// WARN: qat-run: warning: '{{.*}}u.o' needs memrefCopy, which this machine's C runtime does not provide; link a library that does (MLIR's libmlir_c_runner_utils; memref.copy of non-contiguous or unranked memrefs calls it)

// Emitting only compiles; running needs --run.
// RUN: not qat-run %s --emit-header=%t/h.h --arg=%t/x.npy --arg=const:2 2>&1 | FileCheck %s --check-prefix=EMITONLY
// RUN: qat-run %s --emit-header=%t/h.h --run --arg=%t/x.npy --arg=const:2 | FileCheck %s --check-prefix=JIT
// RUN: grep -v 'cc main.c' %t/h.h > %t/h.body
// RUN: grep -v 'cc main.c' %t/affine.h | diff - %t/h.body

// HEADER: C interface of 'affine', compiled by qat-run from aot.mlir.
// HEADER: cc main.c affine.o -lm
// HEADER: MLIR signature: (tensor<2x3xf32>, f32) -> (tensor<2x3xf32>, tensor<3xf32>, f32)
// HEADER: arg0: tensor<2x3xf32> -> qat_memref_2d_f32 *, shape [2, 3]
// HEADER: arg1: f32 -> float, a scalar passed by value
// HEADER: Results (in *results):
// HEADER: r0: tensor<2x3xf32> -> qat_memref_2d_f32, shape [2, 3]
// HEADER: r1: tensor<3xf32> -> qat_memref_1d_f32, shape [3]
// HEADER: r2: f32 -> float, a scalar
// HEADER: Returned buffers belong to the caller: qat-to-cpu returns every result in a
// HEADER-NEXT: fresh malloc'ed buffer.
// HEADER: #ifndef QAT_AFFINE_H
// HEADER: #ifndef QAT_MEMREF_2D_F32_DEFINED
// HEADER: typedef struct qat_memref_2d_f32 {
// HEADER-NEXT: float *allocated;
// HEADER-NEXT: float *aligned;
// HEADER-NEXT: int64_t offset;
// HEADER-NEXT: int64_t sizes[2];
// HEADER-NEXT: int64_t strides[2];
// HEADER-NEXT: } qat_memref_2d_f32;
// HEADER: typedef struct affine_results {
// HEADER-NEXT: qat_memref_2d_f32 r0;
// HEADER-NEXT: qat_memref_1d_f32 r1;
// HEADER-NEXT: float r2;
// HEADER-NEXT: } affine_results;
// HEADER: void _mlir_ciface_affine(affine_results *results, qat_memref_2d_f32 *arg0, float arg1);
// HEADER: static inline void affine_free_results(affine_results *results) {
// HEADER-NEXT: free(results->r0.allocated);
// HEADER-NEXT: free(results->r1.allocated);
// HEADER-NEXT: }

// UNDEF-NOT: mlir
// UNDEF-DAG: U malloc
// UNDEF-DAG: U tanhf

// DRIVER:      tanh row 0: -0.964028 -0.761594 0.000000
// DRIVER-NEXT: tanh row 1: 0.761594 0.964028 0.995055
// DRIVER-NEXT: column sums: -0.500000 0.500000 1.500000
// DRIVER-NEXT: max: 1.500000
// DRIVER-NEXT: squares: 16384 9 0 49 16129
// DRIVER-NEXT: incremented: 2.0 3.0 4.0
// DRIVER-NEXT: all checks passed

// JIT:      result 0: shape=(2, 3) dtype=float32
// JIT-NEXT: {{\[\[}}-0.964028, -0.761594, 0.0],
// JIT-NEXT: {{^}} [ 0.761594,  0.964028,  0.995055]]
// JIT-NEXT: result 1: shape=(3,) dtype=float32
// JIT-NEXT: [-0.5, 0.5, 1.5]
// JIT-NEXT: result 2: shape=() dtype=float32
// JIT-NEXT: 1.5

// EMITONLY: qat-run: error: --arg, --out, --out-dir and --time need a run; with --emit-* options qat-run only compiles unless --run is given

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @affine(%x: tensor<2x3xf32>, %scale: f32)
    -> (tensor<2x3xf32>, tensor<3xf32>, f32) {
  %e = tensor.empty() : tensor<2x3xf32>
  %t = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.mulf %v, %scale : f32
    %th = math.tanh %m : f32
    linalg.yield %th : f32
  } -> tensor<2x3xf32>
  %zero = arith.constant 0.0 : f32
  %ec = tensor.empty() : tensor<3xf32>
  %zc = linalg.fill ins(%zero : f32) outs(%ec : tensor<3xf32>) -> tensor<3xf32>
  %sums = linalg.reduce ins(%x : tensor<2x3xf32>) outs(%zc : tensor<3xf32>) dimensions = [0]
    (%in: f32, %acc: f32) {
      %a = arith.addf %in, %acc : f32
      linalg.yield %a : f32
    }
  %ninf = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<f32>
  %z0 = linalg.fill ins(%ninf : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %mx = linalg.reduce ins(%x : tensor<2x3xf32>) outs(%z0 : tensor<f32>) dimensions = [0, 1]
    (%in: f32, %acc: f32) {
      %a = arith.maximumf %in, %acc : f32
      linalg.yield %a : f32
    }
  %max = tensor.extract %mx[] : tensor<f32>
  return %t, %sums, %max : tensor<2x3xf32>, tensor<3xf32>, f32
}
