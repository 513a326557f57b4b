// RUN: qat-opt %s --split-input-file --convert-qat-matmul-to-nvgpu | FileCheck %s --check-prefix=UNPACK
// RUN: qat-opt %s --split-input-file --convert-qat-matmul-to-nvgpu="chip=sm_90" | FileCheck %s --check-prefix=UNPACK
// RUN: qat-opt %s --split-input-file --convert-qat-matmul-to-nvgpu="chip=sm_100a" | FileCheck %s --check-prefix=UNPACK
// RUN: qat-opt %s --split-input-file --convert-qat-matmul-to-nvgpu="chip=sm_80 int4-mma=unpack" | FileCheck %s --check-prefix=UNPACK
// RUN: qat-opt %s --split-input-file --convert-qat-matmul-to-nvgpu="chip=sm_80" | FileCheck %s --check-prefix=NATIVE
// RUN: qat-opt %s --split-input-file --convert-qat-matmul-to-nvgpu="chip=sm_89" | FileCheck %s --check-prefix=NATIVE
// RUN: qat-opt %s --split-input-file --convert-qat-matmul-to-nvgpu="chip=sm_90 int4-mma=native" | FileCheck %s --check-prefix=NATIVE

// How packed 4-bit codes reach the tensor cores. Chips with 4-bit integer
// MMA (sm_80 to sm_89) run s4 mma.sync m16n8k64 on the packed registers,
// with row sums for the centered grid. Every other chip, and an unknown one,
// unpacks each register to s8 (16c signed, 8(2c+1) centered) for two
// m16n8k32 s8 mma: the accumulator is 2^accShift times the epilogue's
// integer sum, without row sums.

// Centered x centered, K = 992: the last 64-byte K tile is half zero-filled,
// and the 32 padding codes, unpacked to 8 in both operands, add 32 * 64 to
// the accumulator: T = (acc >> 6) - 32.

// UNPACK-LABEL: gpu.module @qat_matmul_128x64x992_centered_centered_s4_f32
// UNPACK: kernel attributes {known_block_size = array<i32: 256, 1, 1>, nvvm.minctasm = 2 : i32}
// UNPACK: scf.for %{{.*}} = %c0 to %c8 step %c1
// UNPACK-NOT: xi4>
// UNPACK: arith.ori %{{.*}}, %c134744072_i32 : i32
// UNPACK: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 32]} : (vector<4x4xi8>, vector<2x4xi8>, vector<2x2xi32>)
// UNPACK-NOT: nvvm.dot.accumulate.4way
// UNPACK: scf.yield
// UNPACK: %[[ACC:.*]] = vector.extract %{{.*}}[0, 0] : i32 from vector<2x2xi32>
// UNPACK-NEXT: %[[T0:.*]] = arith.shrsi %[[ACC]], %c6_i32 : i32
// UNPACK-NEXT: %[[T1:.*]] = arith.addi %[[T0]], %c-32_i32 : i32
// UNPACK-NEXT: arith.sitofp %[[T1]] : i32 to f32

// NATIVE-LABEL: gpu.module @qat_matmul_128x64x992_centered_centered_s4_f32
// NATIVE: kernel attributes {known_block_size = array<i32: 256, 1, 1>} {
// NATIVE: scf.for %{{.*}} = %c0 to %c8 step %c1
// NATIVE: vector.bitcast %{{.*}} : vector<4xi8> to vector<8xi4>
// NATIVE: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 64]} : (vector<4x8xi4>, vector<2x8xi4>, vector<2x2xi32>)
// Row sums of both operands, nibbles moved to the top of each byte.
// NATIVE: nvvm.dot.accumulate.4way
// NATIVE: arith.shrsi %{{.*}}, %c4_i32 : i32
// NATIVE: scf.yield
// NATIVE: %[[ACC:.*]] = vector.extract %{{.*}}[0, 0] : i32 from vector<2x2xi32>
// NATIVE-NEXT: arith.muli %[[ACC]], %c4_i32 : i32
// NATIVE: arith.addi %{{.*}}, %c992_i32 : i32
func.func @centered_centered(%a: tensor<128x496xi8>, %b: tensor<64x496xi8>,
    %sa: tensor<128x1xf32>, %sb: tensor<64x1xf32>) -> tensor<128x64xf32> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <centered, 4 bits, rms_gaussian, per_row>,
         <centered, 4 bits, rms_gaussian, per_row> packed
      : tensor<128x496xi8>, tensor<64x496xi8>, tensor<128x1xf32>,
        tensor<64x1xf32> -> tensor<128x64xf32>
  return %y : tensor<128x64xf32>
}

// -----

// Centered A x signed B: 8(2a+1) * 16b, T = acc >> 7; padding adds nothing
// (B's zero codes stay zero). Only A's registers get the | 0x08080808.

// UNPACK-LABEL: gpu.module @qat_matmul_128x64x992_centered_signed_s4_f32
// UNPACK: scf.for
// UNPACK-COUNT-16: arith.ori %{{.*}}, %c134744072_i32 : i32
// UNPACK-NOT: arith.ori %{{.*}}, %c134744072_i32 : i32
// UNPACK: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 32]}
// UNPACK: scf.yield
// UNPACK: %[[ACC:.*]] = vector.extract %{{.*}}[0, 0] : i32 from vector<2x2xi32>
// UNPACK-NEXT: %[[T:.*]] = arith.shrsi %[[ACC]], %c7_i32 : i32
// UNPACK-NEXT: arith.sitofp %[[T]] : i32 to f32

// NATIVE-LABEL: gpu.module @qat_matmul_128x64x992_centered_signed_s4_f32
// NATIVE: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 64]}
// NATIVE: nvvm.dot.accumulate.4way
func.func @centered_signed(%a: tensor<128x496xi8>, %b: tensor<64x496xi8>,
    %sa: tensor<128x1xf32>, %sb: tensor<64x1xf32>) -> tensor<128x64xf32> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <centered, 4 bits, rms_gaussian, per_row>,
         <signed, 4 bits, learned, per_row> packed
      : tensor<128x496xi8>, tensor<64x496xi8>, tensor<128x1xf32>,
        tensor<64x1xf32> -> tensor<128x64xf32>
  return %y : tensor<128x64xf32>
}

// -----

// Signed x signed, 2-bit codes (packed as nibbles too): 16a * 16b,
// T = acc >> 8.

// UNPACK-LABEL: gpu.module @qat_matmul_128x64x1024_signed_signed_s4_bf16
// UNPACK-NOT: arith.ori %{{.*}}, %c134744072_i32 : i32
// UNPACK: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 32]}
// UNPACK-NOT: arith.ori %{{.*}}, %c134744072_i32 : i32
// UNPACK: %[[ACC:.*]] = vector.extract %{{.*}}[0, 0] : i32 from vector<2x2xi32>
// UNPACK-NEXT: %[[T:.*]] = arith.shrsi %[[ACC]], %c8_i32 : i32
// UNPACK-NEXT: arith.sitofp %[[T]] : i32 to f32

// NATIVE-LABEL: gpu.module @qat_matmul_128x64x1024_signed_signed_s4_bf16
// NATIVE: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 64]}
// NATIVE-NOT: nvvm.dot.accumulate.4way
// NATIVE: %[[ACC:.*]] = vector.extract %{{.*}}[0, 0] : i32 from vector<2x2xi32>
// NATIVE-NEXT: arith.sitofp %[[ACC]] : i32 to f32
func.func @signed_signed(%a: tensor<128x512xi8>, %b: tensor<64x512xi8>,
    %sa: tensor<1x1xf32>, %sb: tensor<64x1xf32>) -> tensor<128x64xbf16> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 2 bits, learned, per_tensor>,
         <signed, 2 bits, learned, per_row> packed
      : tensor<128x512xi8>, tensor<64x512xi8>, tensor<1x1xf32>,
        tensor<64x1xf32> -> tensor<128x64xbf16>
  return %y : tensor<128x64xbf16>
}
