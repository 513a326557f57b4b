// Generated inputs: distributions, integer ranges, shapes for '?' sizes,
// and reproducibility (a seed gives the same data; each argument has its own
// stream, so changing one spec leaves the other argument's data unchanged).

// RUN: rm -rf %t && mkdir -p %t
// RUN: qat-run %s --entry=pair --arg=normal:2,0.5@20000 --arg=uniform:-1,1@20000 --seed=7 --save-inputs=%t/a --out=%t/a0.npy --out=%t/a1.npy
// RUN: %python %S/Inputs/npytool.py check - "abs(x.mean() - 2) < 0.02 and abs(x.std() - 0.5) < 0.02" x=%t/a/arg0.npy | FileCheck %s
// RUN: %python %S/Inputs/npytool.py check - "y.min() >= -1 and y.max() < 1 and abs(y.mean()) < 0.02 and abs(y.std() - 1 / np.sqrt(3)) < 0.02" y=%t/a/arg1.npy | FileCheck %s
// The results are the inputs (the function returns them): what was saved is
// what the function received.
// RUN: cmp %t/a/arg0.npy %t/a0.npy
// RUN: cmp %t/a/arg1.npy %t/a1.npy

// Same seed, same data; another seed, other data; another spec for
// argument 1, same data for argument 0.
// RUN: qat-run %s --entry=pair --arg=normal:2,0.5@20000 --arg=uniform:-1,1@20000 --seed=7 --save-inputs=%t/b --print=false
// RUN: cmp %t/a/arg0.npy %t/b/arg0.npy
// RUN: cmp %t/a/arg1.npy %t/b/arg1.npy
// RUN: qat-run %s --entry=pair --arg=normal:2,0.5@20000 --arg=uniform:-1,1@20000 --seed=8 --save-inputs=%t/c --print=false
// RUN: not cmp -s %t/a/arg0.npy %t/c/arg0.npy
// RUN: qat-run %s --entry=pair --arg=normal:2,0.5@20000 --arg=const:0@5 --seed=7 --save-inputs=%t/d --print=false
// RUN: cmp %t/a/arg0.npy %t/d/arg0.npy

// Integers: uniform:LOW,HIGH is the closed range, every value drawn.
// RUN: qat-run %s --entry=ints --arg=uniform:-3,3 --arg=uniform:-9223372036854775808,9223372036854775807 --arg=uniform --save-inputs=%t/i --print=false
// RUN: %python %S/Inputs/npytool.py check - "set(np.unique(a)) == set(range(-3, 4))" a=%t/i/arg0.npy | FileCheck %s
// RUN: %python %S/Inputs/npytool.py check - "b.dtype == np.int64 and b.min() < -2**62 and b.max() > 2**62" b=%t/i/arg1.npy | FileCheck %s
// RUN: %python %S/Inputs/npytool.py check - "m.dtype == np.bool_ and 400 < m.sum() < 600" m=%t/i/arg2.npy | FileCheck %s

// const and iota.
// RUN: qat-run %s --entry=ints --arg=const:-128 --arg=iota --arg=const:true --threshold=100 | FileCheck %s --check-prefix=FILL
// FILL:      result 0: shape=(1000,) dtype=int8
// FILL-NEXT: [-128, -128, -128, ..., -128, -128, -128]
// FILL-NEXT: result 1: shape=(4, 4) dtype=int64
// FILL-NEXT: {{\[\[}} 0,  1,  2,  3],
// FILL:      result 2: shape=(1000,) dtype=bool
// FILL-NEXT: [True, True, True, ..., True, True, True]

// CHECK: True

func.func @pair(%x: tensor<?xf32>, %y: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  return %x, %y : tensor<?xf32>, tensor<?xf32>
}

func.func @ints(%a: tensor<1000xi8>, %b: tensor<4x4xi64>, %m: tensor<1000xi1>)
    -> (tensor<1000xi8>, tensor<4x4xi64>, tensor<1000xi1>) {
  return %a, %b, %m : tensor<1000xi8>, tensor<4x4xi64>, tensor<1000xi1>
}
