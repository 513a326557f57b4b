// qat ops end to end: qat-run lowers them with qat-to-cpu (which starts with
// convert-qat-to-linalg), runs them, and the results match the independent
// numpy reference of test/Integration/reference.py.

// RUN: rm -rf %t && mkdir -p %t
// RUN: qat-run %s --arg=normal:0,1 --seed=5 --save-inputs=%t/in --out=%t/s.npy --out=%t/y.npy
// RUN: %python %S/Inputs/npytool.py compare %t/s.npy "ref.scale(x, ref.Quantizer('signed', 4, 'absmax', 'per_row'))" x=%t/in/arg0.npy --import=%qat_src_root/test/Integration/reference.py | FileCheck %s
// RUN: %python %S/Inputs/npytool.py compare %t/y.npy "ref.fake_quant(x, s, ref.Quantizer('signed', 4, 'absmax', 'per_row'))" x=%t/in/arg0.npy s=%t/s.npy --import=%qat_src_root/test/Integration/reference.py | FileCheck %s
// CHECK: max abs error 0
// CHECK-NEXT: OK

func.func @main(%x: tensor<8x64xf32>) -> (tensor<8x1xf32>, tensor<8x64xf32>) {
  %s = qat.scale %x as <signed, 4 bits, absmax, per_row> : tensor<8x64xf32> -> tensor<8x1xf32>
  %y = qat.fake_quant %x, %s as <signed, 4 bits, absmax, per_row> with ste : tensor<8x64xf32>, tensor<8x1xf32>
  return %s, %y : tensor<8x1xf32>, tensor<8x64xf32>
}
