// RUN: qat-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(convert-qat-to-gpu))' | FileCheck %s

// The forward's deviation (qat.rms) shares the step's row reduction: one
// kernel, two barriers as without it: the warps' partial sums, then the
// row's first warp hands the step, its reciprocal and the deviation to the
// others.
// CHECK-LABEL: func.func @forward(
//       CHECK:   gpu.launch
// CHECK-COUNT-2:   gpu.barrier
//   CHECK-NOT:     gpu.barrier
//       CHECK:     gpu.terminator
//   CHECK-NOT:   gpu.launch
func.func @forward(%x: tensor<8x2048xbf16>) -> (tensor<8x1xf32>, tensor<8x1xf32>) {
  %xh = qat.hadamard %x block 128 : tensor<8x2048xbf16>
  %s = qat.scale %xh as <centered, 4 bits, rms_gaussian, per_row> : tensor<8x2048xbf16> -> tensor<8x1xf32>
  %std = qat.rms %xh as <centered, 4 bits, rms_gaussian, per_row> : tensor<8x2048xbf16> -> tensor<8x1xf32>
  return %s, %std : tensor<8x1xf32>, tensor<8x1xf32>
}

// -----

// Given the deviation, the trust backward reduces nothing: no barrier, no
// shuffle of a reduction, no square root. Its threshold T * std is built once
// per step, ahead of the branch on the fma form of the level (built in both
// sides, the NVPTX backend loads the deviation late: 5% slower on the H100).
// CHECK-LABEL: func.func @backward(
//       CHECK:   gpu.launch
//       CHECK:     %[[T:.*]] = arith.constant 0.167595372 : f32
//   CHECK-NOT:     gpu.barrier
//   CHECK-NOT:     math.sqrt
//       CHECK:     arith.mulf %{{.*}}, %[[T]] : f32
//   CHECK-NOT:     %[[T]]{{[^0-9_]}}
//       CHECK:     scf.if
//   CHECK-NOT:     %[[T]]{{[^0-9_]}}
//   CHECK-NOT:     gpu.barrier
//   CHECK-NOT:     math.sqrt
//       CHECK:     gpu.terminator
//   CHECK-NOT:   gpu.launch
func.func @backward(%dy: tensor<8x2048xbf16>, %x: tensor<8x2048xbf16>, %s: tensor<8x1xf32>, %std: tensor<8x1xf32>) -> tensor<8x2048xbf16> {
  %xh = qat.hadamard %x block 128 : tensor<8x2048xbf16>
  %g = qat.fake_quant_grad %dy, %xh, %s std %std as <centered, 4 bits, rms_gaussian, per_row> with trust : tensor<8x2048xbf16>, tensor<8x1xf32>, tensor<8x1xf32>
  %dx = qat.hadamard %g block 128 : tensor<8x2048xbf16>
  return %dx : tensor<8x2048xbf16>
}

// -----

// per_tensor: whole-tensor reduction launches, as for a per_tensor step.
// CHECK-LABEL: func.func @whole_tensor(
//       CHECK:   gpu.launch
//       CHECK:   math.sqrt
func.func @whole_tensor(%x: tensor<64x512xf32>) -> tensor<1x1xf32> {
  %std = qat.rms %x as <centered, 4 bits, rms_gaussian, per_tensor> : tensor<64x512xf32> -> tensor<1x1xf32>
  return %std : tensor<1x1xf32>
}

// -----

// Without a row reduction, rows of 11008 elements are split in two parts of
// 43 Hadamard blocks: 8 CTAs of 352 threads for 4 rows, the buffers viewed
// as [8, 5504], the per-row step and deviation read at row / 2.
// CHECK-LABEL: func.func @split_rows(
//       CHECK:   memref.expand_shape {{.*}} output_shape [4, 2, 5504]
//       CHECK:   gpu.launch blocks({{.*}}) in ({{.*}} = %c8{{.*}}) threads({{.*}}) in ({{.*}} = %c352
//       CHECK:     arith.divui %{{.*}}, %c2
func.func @split_rows(%dy: tensor<4x11008xbf16>, %x: tensor<4x11008xbf16>, %s: tensor<4x1xf32>, %std: tensor<4x1xf32>) -> tensor<4x11008xbf16> {
  %xh = qat.hadamard %x block 128 : tensor<4x11008xbf16>
  %g = qat.fake_quant_grad %dy, %xh, %s std %std as <centered, 4 bits, rms_gaussian, per_row> with trust : tensor<4x11008xbf16>, tensor<4x1xf32>, tensor<4x1xf32>
  %dx = qat.hadamard %g block 128 : tensor<4x11008xbf16>
  return %dx : tensor<4x11008xbf16>
}
