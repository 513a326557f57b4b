// Stochastic rounding with the seed as a run-time argument: the same seed
// gives the same bits, another seed other bits; the result equals the numpy
// reference on the same draws (test/Integration/reference.py) bit for bit;
// and it is unbiased: rows of one constant value v (the step is 1: max|x| =
// 7 = qp) average to v within 5 standard deviations of the mean of 4096
// draws.

// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/npytool.py save %t/x.npy "np.concatenate([np.repeat(np.float32([0.3, -2.7, 5.5, 0.05, -0.95, 6.99, -6.5, 3.25])[:, None], 4096, 1), np.full((1, 4096), 7, np.float32)])"
// RUN: qat-run %s --arg=%t/x.npy --arg=const:5 --out=%t/a.npy
// RUN: qat-run %s --arg=%t/x.npy --arg=const:5 --out=%t/b.npy
// RUN: cmp %t/a.npy %t/b.npy
// RUN: qat-run %s --arg=%t/x.npy --arg=const:-6 --out=%t/c.npy
// RUN: not cmp -s %t/a.npy %t/c.npy
// RUN: %python %S/Inputs/npytool.py compare %t/a.npy "ref.fake_quant(x, np.ones((1, 1), np.float32), ref.Quantizer('signed', 4, 'absmax', 'per_tensor'), ref.uniform_draws(5, x.shape))" x=%t/x.npy --import=%S/../Integration/reference.py | FileCheck %s
// RUN: %python %S/Inputs/npytool.py compare %t/c.npy "ref.fake_quant(x, np.ones((1, 1), np.float32), ref.Quantizer('signed', 4, 'absmax', 'per_tensor'), ref.uniform_draws(-6, x.shape))" x=%t/x.npy --import=%S/../Integration/reference.py | FileCheck %s
// RUN: %python %S/Inputs/npytool.py check - "np.all(np.abs(a[:8].mean(1) - x[:8, 0]) <= 5 * np.sqrt((x[:8, 0] - np.floor(x[:8, 0])) * (np.ceil(x[:8, 0]) - x[:8, 0]) / 4096))" a=%t/a.npy x=%t/x.npy

// CHECK: max abs error 0
// CHECK-NEXT: OK

func.func @main(%x: tensor<9x4096xf32>, %seed: i64) -> tensor<9x4096xf32> {
  %s = qat.scale %x as <signed, 4 bits, absmax, per_tensor, stochastic> : tensor<9x4096xf32> -> tensor<1x1xf32>
  %y = qat.fake_quant %x, %s as <signed, 4 bits, absmax, per_tensor, stochastic> seed %seed with ste : tensor<9x4096xf32>, tensor<1x1xf32>
  return %y : tensor<9x4096xf32>
}
