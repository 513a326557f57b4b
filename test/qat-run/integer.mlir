// Integer tensors: an int8 x int8 -> int32 matmul (linalg sign-extends), and
// int16/int64 element-wise ops with a bool result, on .npy inputs and on
// generated integers, compared exactly with numpy.

// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/npytool.py save %t/a.npy "((np.arange(32) * 37) %% 256 - 128).astype(np.int8).reshape(4, 8)"
// RUN: %python %S/Inputs/npytool.py save %t/b.npy "((np.arange(24) * 53) %% 256 - 128).astype(np.int8).reshape(8, 3)"
// RUN: qat-run %s --entry=qmatmul --arg=%t/a.npy --arg=%t/b.npy --out=%t/c.npy
// RUN: %python %S/Inputs/npytool.py compare %t/c.npy "a.astype(np.int32) @ b.astype(np.int32)" a=%t/a.npy b=%t/b.npy | FileCheck %s

// The same on generated int8 data covering the whole range.
// RUN: qat-run %s --entry=qmatmul --arg=uniform:-128,127 --arg=uniform:-128,127 --seed=11 --save-inputs=%t/in --out=%t/c2.npy
// RUN: %python %S/Inputs/npytool.py compare %t/c2.npy "a.astype(np.int32) @ b.astype(np.int32)" a=%t/in/arg0.npy b=%t/in/arg1.npy | FileCheck %s

// RUN: %python %S/Inputs/npytool.py save %t/x.npy "np.array([-300, -1, 0, 1, 32767], dtype=np.int16)"
// RUN: %python %S/Inputs/npytool.py save %t/y.npy "np.array([2**40, -5, 7, -(2**62), 0], dtype=np.int64)"
// RUN: qat-run %s --entry=mixed --arg=%t/x.npy --arg=%t/y.npy --out=%t/pos.npy --out=%t/sum.npy
// RUN: %python %S/Inputs/npytool.py compare %t/pos.npy "x > 0" x=%t/x.npy | FileCheck %s
// RUN: %python %S/Inputs/npytool.py compare %t/sum.npy "y + x.astype(np.int64)" x=%t/x.npy y=%t/y.npy | FileCheck %s
// RUN: qat-run %s --entry=mixed --arg=%t/x.npy --arg=%t/y.npy | FileCheck %s --check-prefix=PRINT

// CHECK: max abs error 0
// CHECK-NEXT: OK

// PRINT:      result 0: shape=(5,) dtype=bool
// PRINT-NEXT: [False, False, False,  True,  True]
// PRINT-NEXT: result 1: shape=(5,) dtype=int64
// PRINT-NEXT: [ 1099511627476, -6, 7,
// PRINT-NEXT: -4611686018427387903, 32767]

func.func @qmatmul(%a: tensor<4x8xi8>, %b: tensor<8x3xi8>) -> tensor<4x3xi32> {
  %zero = arith.constant 0 : i32
  %e = tensor.empty() : tensor<4x3xi32>
  %acc = linalg.fill ins(%zero : i32) outs(%e : tensor<4x3xi32>) -> tensor<4x3xi32>
  %c = linalg.matmul ins(%a, %b : tensor<4x8xi8>, tensor<8x3xi8>)
                     outs(%acc : tensor<4x3xi32>) -> tensor<4x3xi32>
  return %c : tensor<4x3xi32>
}

#id = affine_map<(d0) -> (d0)>
func.func @mixed(%x: tensor<5xi16>, %y: tensor<5xi64>) -> (tensor<5xi1>, tensor<5xi64>) {
  %eb = tensor.empty() : tensor<5xi1>
  %ei = tensor.empty() : tensor<5xi64>
  %r:2 = linalg.generic {indexing_maps = [#id, #id, #id, #id],
                         iterator_types = ["parallel"]}
      ins(%x, %y : tensor<5xi16>, tensor<5xi64>)
      outs(%eb, %ei : tensor<5xi1>, tensor<5xi64>) {
  ^bb0(%a: i16, %b: i64, %o0: i1, %o1: i64):
    %zero = arith.constant 0 : i16
    %pos = arith.cmpi sgt, %a, %zero : i16
    %w = arith.extsi %a : i16 to i64
    %s = arith.addi %b, %w : i64
    linalg.yield %pos, %s : i1, i64
  } -> (tensor<5xi1>, tensor<5xi64>)
  return %r#0, %r#1 : tensor<5xi1>, tensor<5xi64>
}
