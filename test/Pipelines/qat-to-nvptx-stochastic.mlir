// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90 format=isa" > %t
// RUN: FileCheck %s < %t
// RUN: FileCheck %s --check-prefix=MUL < %t
// RUN: FileCheck %s --check-prefix=DIV < %t
// RUN: FileCheck %s --check-prefix=FLOOR < %t
// RUN: FileCheck %s --check-prefix=COMPARE < %t
// RUN: qat-opt %s --convert-qat-to-gpu | FileCheck %s --check-prefix=ROWS

// Stochastic rounding on the GPU: the quantize and fake_quant that draw are
// in the row kernels with the NVFP4 steps, each element's draw from its row
// and column: SplitMix64 in 64-bit integers (mul.lo.s64), then floor
// (cvt.rmi) and u < y - floor(y) (setp.lt). No qat op reaches the host code.
// (stochastic_cases.py runs such ops on the GPU against the reference.)
// ROWS: gpu.launch
// ROWS-NOT: qat.quantize
// ROWS-NOT: qat.fake_quant
// CHECK-NOT: qat.
// CHECK: gpu.binary
// MUL: gpu.binary {{.*}}mul.lo.s64
// DIV: gpu.binary {{.*}}div.rn.f32
// FLOOR: gpu.binary {{.*}}cvt.rmi.f32.f32
// COMPARE: gpu.binary {{.*}}setp.lt.f32
// CHECK-NOT: qat.quantize
// CHECK-NOT: qat.fake_quant
func.func @stochastic(%x: tensor<64x256xbf16>, %seed: i64) -> (tensor<64x128xi8>, tensor<64x256xbf16>) {
  %s = qat.scale %x as <e2m1, 4 bits, nvfp4, per_group<16>, stochastic> : tensor<64x256xbf16> -> tensor<64x16xf32>
  %q = qat.quantize %x, %s as <e2m1, 4 bits, nvfp4, per_group<16>, stochastic> packed seed %seed : tensor<64x256xbf16>, tensor<64x16xf32> -> tensor<64x128xi8>
  %f = qat.fake_quant %x, %s as <e2m1, 4 bits, nvfp4, per_group<16>, stochastic> seed %seed with ste : tensor<64x256xbf16>, tensor<64x16xf32>
  return %q, %f : tensor<64x128xi8>, tensor<64x256xbf16>
}
