// bf16 and f16 arguments: float32 .npy files are rounded to nearest even
// (ties included, which truncation would get wrong), f16 also reads float16
// files as they are; bf16 results are written as float32, f16 as float16.

// RUN: rm -rf %t && mkdir -p %t
// Ties 1+2^-8 (-> 1) and 1+3*2^-8 (-> 1+2^-6), just above a tie, a
// negative tie, a large value, a float32 subnormal and NaN.
// RUN: %python %S/Inputs/npytool.py save %t/x.npy "np.array([1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-8 + 2**-20, -(1 + 2**-8), 3.0e38, 1e-40, np.nan], dtype=np.float32)"
// RUN: qat-run %s --entry=widen --arg=%t/x.npy --out=%t/wide.npy --out=%t/twice.npy
// RUN: %python %S/Inputs/npytool.py compare %t/wide.npy "bf16(x)" x=%t/x.npy | FileCheck %s
// qat-to-cpu narrows to bf16 in integer arithmetic (arith-expand), so
// subnormals survive on every CPU.
// RUN: %python %S/Inputs/npytool.py compare %t/twice.npy "bf16(x) * 2" x=%t/x.npy | FileCheck %s
// RUN: %python %S/Inputs/npytool.py check - "not np.array_equal(bf16(x)[:3], x[:3].view(np.uint32) & 0xFFFF0000)" x=%t/x.npy

// RUN: qat-run %s --entry=widen --arg=%t/x.npy | FileCheck %s --check-prefix=PRINT
// PRINT:      result 0: shape=(7,) dtype=float32
// PRINT-NEXT: [ 1.0, 1.01562, 1.00781, -1.0, 3.00406e+38,
// PRINT-NEXT: 9.18355e-41, nan]
// PRINT-NEXT: result 1: shape=(7,) dtype=bfloat16
// PRINT-NEXT: [ 2.0, 2.03125, 2.01562, -2.0, inf,
// PRINT-NEXT: 1.83671e-40, nan]

// Generated data works for bf16 too.
// RUN: qat-run %s --entry=widen --arg=normal@7 --seed=2 --save-inputs=%t/in --out=%t/wide2.npy --out=%t/twice2.npy
// RUN: %python %S/Inputs/npytool.py compare %t/wide2.npy "x" x=%t/in/arg0.npy | FileCheck %s

// RUN: %python %S/Inputs/npytool.py save %t/h16.npy "np.array([0.1, -2.5, 65504, 6e-8], dtype=np.float16)"
// RUN: %python %S/Inputs/npytool.py save %t/h32.npy "np.array([0.1, -2.5, 1 + 2**-11, 1 + 3 * 2**-11], dtype=np.float32)"
// RUN: qat-run %s --entry=half --arg=%t/h16.npy --out=%t/h16.out.npy
// RUN: %python %S/Inputs/npytool.py compare %t/h16.out.npy "h + h" h=%t/h16.npy | FileCheck %s
// RUN: qat-run %s --entry=half --arg=%t/h32.npy --out=%t/h32.out.npy
// RUN: %python %S/Inputs/npytool.py compare %t/h32.out.npy "h.astype(np.float16) * 2" h=%t/h32.npy | FileCheck %s

// CHECK: max abs error 0
// CHECK-NEXT: OK

#id = affine_map<(d0) -> (d0)>
func.func @widen(%x: tensor<7xbf16>) -> (tensor<7xf32>, tensor<7xbf16>) {
  %ef = tensor.empty() : tensor<7xf32>
  %eb = tensor.empty() : tensor<7xbf16>
  %r:2 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<7xbf16>) outs(%ef, %eb : tensor<7xf32>, tensor<7xbf16>) {
  ^bb0(%v: bf16, %o0: f32, %o1: bf16):
    %w = arith.extf %v : bf16 to f32
    %two = arith.constant 2.0 : f32
    %d = arith.mulf %w, %two : f32
    %n = arith.truncf %d : f32 to bf16
    linalg.yield %w, %n : f32, bf16
  } -> (tensor<7xf32>, tensor<7xbf16>)
  return %r#0, %r#1 : tensor<7xf32>, tensor<7xbf16>
}

func.func @half(%x: tensor<4xf16>) -> tensor<4xf16> {
  %e = tensor.empty() : tensor<4xf16>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf16>) outs(%e : tensor<4xf16>) {
  ^bb0(%v: f16, %o: f16):
    %s = arith.addf %v, %v : f16
    linalg.yield %s : f16
  } -> tensor<4xf16>
  return %r : tensor<4xf16>
}
