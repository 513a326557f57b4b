// A linear layer with tanh on .npy inputs, and GELU (erf) and powf, which
// resolve from libm, compared with numpy.

// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/npytool.py save %t/x.npy "np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)"
// RUN: %python %S/Inputs/npytool.py save %t/w.npy "np.linspace(-1, 1, 20, dtype=np.float32).reshape(4, 5)"
// RUN: %python %S/Inputs/npytool.py save %t/b.npy "np.arange(5, dtype=np.float32) / 10"
// RUN: qat-run %s --arg=%t/x.npy --arg=%t/w.npy --arg=%t/b.npy --out=%t/y.npy
// RUN: %python %S/Inputs/npytool.py compare %t/y.npy "np.tanh(x @ w + b)" x=%t/x.npy w=%t/w.npy b=%t/b.npy --rtol=1e-5 --atol=1e-6 | FileCheck %s

// Printed instead of written when there is no --out.
// RUN: qat-run %s --arg=%t/x.npy --arg=%t/w.npy --arg=%t/b.npy | FileCheck %s --check-prefix=PRINT
// --print prints as well as writing.
// RUN: qat-run %s --arg=%t/x.npy --arg=%t/w.npy --arg=%t/b.npy --out=%t/y2.npy --print | FileCheck %s --check-prefix=PRINT
// RUN: cmp %t/y.npy %t/y2.npy

// RUN: %python %S/Inputs/npytool.py save %t/g.npy "np.linspace(-4, 4, 33, dtype=np.float32)"
// RUN: qat-run %s --entry=gelu_pow --arg=%t/g.npy --out=%t/gelu.npy --out=%t/pow.npy
// RUN: %python %S/Inputs/npytool.py compare %t/gelu.npy "0.5 * g * (1 + erf(g / np.sqrt(2)))" g=%t/g.npy --dtype=float32 --rtol=1e-5 --atol=1e-6 | FileCheck %s
// RUN: %python %S/Inputs/npytool.py compare %t/pow.npy "np.abs(g) ** np.float32(1.5)" g=%t/g.npy --rtol=1e-5 --atol=1e-6 | FileCheck %s

// CHECK: max abs error
// CHECK-NEXT: OK

// PRINT:      result 0: shape=(3, 5) dtype=float32
// PRINT-NEXT: {{\[\[}}{{[^,]+, [^,]+, [^,]+, [^,]+, [^,]+}}],
// PRINT-NEXT: {{^}} [{{.*}}],
// PRINT-NEXT: {{^}} [{{.*}}]]
// PRINT-NOT: result 1

#row = affine_map<(d0, d1) -> (d0, d1)>
#bias = affine_map<(d0, d1) -> (d1)>
#id = affine_map<(d0) -> (d0)>

func.func @main(%x: tensor<3x4xf32>, %w: tensor<4x5xf32>,
                %b: tensor<5xf32>) -> tensor<3x5xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<3x5xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%empty : tensor<3x5xf32>) -> tensor<3x5xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<3x4xf32>, tensor<4x5xf32>)
                      outs(%acc : tensor<3x5xf32>) -> tensor<3x5xf32>
  %y = linalg.generic {indexing_maps = [#row, #bias, #row],
                       iterator_types = ["parallel", "parallel"]}
      ins(%mm, %b : tensor<3x5xf32>, tensor<5xf32>) outs(%empty : tensor<3x5xf32>) {
  ^bb0(%m: f32, %c: f32, %out: f32):
    %s = arith.addf %m, %c : f32
    %t = math.tanh %s : f32
    linalg.yield %t : f32
  } -> tensor<3x5xf32>
  return %y : tensor<3x5xf32>
}

func.func @gelu_pow(%g: tensor<33xf32>) -> (tensor<33xf32>, tensor<33xf32>) {
  %empty = tensor.empty() : tensor<33xf32>
  %r:2 = linalg.generic {indexing_maps = [#id, #id, #id],
                         iterator_types = ["parallel"]}
      ins(%g : tensor<33xf32>) outs(%empty, %empty : tensor<33xf32>, tensor<33xf32>) {
  ^bb0(%v: f32, %o0: f32, %o1: f32):
    %half = arith.constant 0.5 : f32
    %one = arith.constant 1.0 : f32
    %rsqrt2 = arith.constant 0.707106781 : f32
    %p = arith.constant 1.5 : f32
    %scaled = arith.mulf %v, %rsqrt2 : f32
    %erf = math.erf %scaled : f32
    %onep = arith.addf %one, %erf : f32
    %hv = arith.mulf %half, %v : f32
    %gelu = arith.mulf %hv, %onep : f32
    %abs = math.absf %v : f32
    %pow = math.powf %abs, %p : f32
    linalg.yield %gelu, %pow : f32, f32
  } -> (tensor<33xf32>, tensor<33xf32>)
  return %r#0, %r#1 : tensor<33xf32>, tensor<33xf32>
}
