// RUN: qat-opt %s --canonicalize --split-input-file | FileCheck %s

// H_n is orthogonal and symmetric: two rotations with the same block cancel.
// CHECK-LABEL: func.func @hadamard_involution
// CHECK-SAME: (%[[X:.*]]: tensor<4x256xf32>)
// CHECK-NEXT: return %[[X]]
func.func @hadamard_involution(%x: tensor<4x256xf32>) -> tensor<4x256xf32> {
  %0 = qat.hadamard %x block 128 : tensor<4x256xf32>
  %1 = qat.hadamard %0 block 128 : tensor<4x256xf32>
  return %1 : tensor<4x256xf32>
}

// -----

// Different blocks are different rotations.
// CHECK-LABEL: func.func @hadamard_different_blocks
// CHECK: qat.hadamard %{{.*}} block 128
// CHECK: qat.hadamard %{{.*}} block 64
func.func @hadamard_different_blocks(%x: tensor<4x256xf32>) -> tensor<4x256xf32> {
  %0 = qat.hadamard %x block 128 : tensor<4x256xf32>
  %1 = qat.hadamard %0 block 64 : tensor<4x256xf32>
  return %1 : tensor<4x256xf32>
}

// -----

// Four rotations cancel pairwise.
// CHECK-LABEL: func.func @hadamard_four_times
// CHECK-SAME: (%[[X:.*]]: tensor<4x256xf32>)
// CHECK-NEXT: return %[[X]]
func.func @hadamard_four_times(%x: tensor<4x256xf32>) -> tensor<4x256xf32> {
  %0 = qat.hadamard %x block 32 : tensor<4x256xf32>
  %1 = qat.hadamard %0 block 32 : tensor<4x256xf32>
  %2 = qat.hadamard %1 block 32 : tensor<4x256xf32>
  %3 = qat.hadamard %2 block 32 : tensor<4x256xf32>
  return %3 : tensor<4x256xf32>
}

// -----

// H_1 = [1].
// CHECK-LABEL: func.func @hadamard_block_one
// CHECK-SAME: (%[[X:.*]]: tensor<4x7xf32>)
// CHECK-NEXT: return %[[X]]
func.func @hadamard_block_one(%x: tensor<4x7xf32>) -> tensor<4x7xf32> {
  %0 = qat.hadamard %x block 1 : tensor<4x7xf32>
  return %0 : tensor<4x7xf32>
}

// -----

// A rotation of zero is zero.
// CHECK-LABEL: func.func @hadamard_zero
// CHECK-NEXT: %[[Z:.*]] = arith.constant dense<0.000000e+00> : tensor<4x8xf32>
// CHECK-NEXT: return %[[Z]]
func.func @hadamard_zero() -> tensor<4x8xf32> {
  %z = arith.constant dense<0.0> : tensor<4x8xf32>
  %0 = qat.hadamard %z block 8 : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Nonzero constants are not folded.
// CHECK-LABEL: func.func @hadamard_nonzero_constant
// CHECK: qat.hadamard
func.func @hadamard_nonzero_constant() -> tensor<4x8xf32> {
  %z = arith.constant dense<1.0> : tensor<4x8xf32>
  %0 = qat.hadamard %z block 8 : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// The straight-through estimator passes the gradient unchanged.
// CHECK-LABEL: func.func @ste_grad
// CHECK-SAME: (%[[DY:.*]]: tensor<4x8xf32>, %{{.*}}: tensor<4x8xf32>, %{{.*}}: tensor<4x1xf32>)
// CHECK-NEXT: return %[[DY]]
func.func @ste_grad(%dy: tensor<4x8xf32>, %x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  %0 = qat.fake_quant_grad %dy, %x, %s as <centered, 4 bits, rms_gaussian, per_row> with ste : tensor<4x8xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// With a learned step, ds must still be computed.
// CHECK-LABEL: func.func @ste_grad_learned
// CHECK: qat.fake_quant_grad
func.func @ste_grad_learned(%dy: tensor<4x8xf32>, %x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>) {
  %0, %1 = qat.fake_quant_grad %dy, %x, %s as <signed, 4 bits, learned, per_row> with ste : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x1xf32>
  return %0, %1 : tensor<4x8xf32>, tensor<4x1xf32>
}

// -----

// Other estimators mask the gradient.
// CHECK-LABEL: func.func @clip_grad
// CHECK: qat.fake_quant_grad
func.func @clip_grad(%dy: tensor<4x8xf32>, %x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  %0 = qat.fake_quant_grad %dy, %x, %s as <signed, 4 bits, absmax, per_row> with clip : tensor<4x8xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Requantizing exact levels with the same step gives the same codes.
// CHECK-LABEL: func.func @quantize_of_dequantize
// CHECK-SAME: (%[[Q:.*]]: tensor<4x4xi8>, %{{.*}}: tensor<4x1xf32>)
// CHECK-NEXT: return %[[Q]]
func.func @quantize_of_dequantize(%q: tensor<4x4xi8>, %s: tensor<4x1xf32>) -> tensor<4x4xi8> {
  %0 = qat.dequantize %q, %s as <centered, 4 bits, rms_gaussian, per_row> packed : tensor<4x4xi8>, tensor<4x1xf32> -> tensor<4x8xf32>
  %1 = qat.quantize %0, %s as <centered, 4 bits, rms_gaussian, per_row> packed : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x4xi8>
  return %1 : tensor<4x4xi8>
}

// -----

// A different step changes the codes.
// CHECK-LABEL: func.func @quantize_of_dequantize_other_step
// CHECK: qat.dequantize
// CHECK: qat.quantize
func.func @quantize_of_dequantize_other_step(%q: tensor<4x8xi8>, %s: tensor<4x1xf32>, %t: tensor<4x1xf32>) -> tensor<4x8xi8> {
  %0 = qat.dequantize %q, %s as <signed, 8 bits, absmax, per_row> : tensor<4x8xi8>, tensor<4x1xf32> -> tensor<4x8xf32>
  %1 = qat.quantize %0, %t as <signed, 8 bits, absmax, per_row> : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xi8>
  return %1 : tensor<4x8xi8>
}

// -----

// A different bit width changes the codes.
// CHECK-LABEL: func.func @quantize_of_dequantize_other_bits
// CHECK: qat.dequantize
// CHECK: qat.quantize
func.func @quantize_of_dequantize_other_bits(%q: tensor<4x8xi8>, %s: tensor<4x1xf32>) -> tensor<4x8xi8> {
  %0 = qat.dequantize %q, %s as <signed, 8 bits, absmax, per_row> : tensor<4x8xi8>, tensor<4x1xf32> -> tensor<4x8xf32>
  %1 = qat.quantize %0, %s as <signed, 4 bits, absmax, per_row> : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xi8>
  return %1 : tensor<4x8xi8>
}

// -----

// dequantize(quantize(x)) is not folded into a fake_quant: NaN stores the
// lowest code, so the round trip gives the bottom level where fake_quant
// keeps NaN (docs/semantics.md).
// CHECK-LABEL: func.func @dequantize_of_quantize
// CHECK: qat.quantize
// CHECK: qat.dequantize
// CHECK-NOT: qat.fake_quant
func.func @dequantize_of_quantize(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  %0 = qat.quantize %x, %s as <centered, 4 bits, rms_gaussian, per_row> packed : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x4xi8>
  %1 = qat.dequantize %0, %s as <centered, 4 bits, rms_gaussian, per_row> packed : tensor<4x4xi8>, tensor<4x1xf32> -> tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// -----

// Nor when the float types differ.
// CHECK-LABEL: func.func @dequantize_of_quantize_other_type
// CHECK: qat.quantize
// CHECK: qat.dequantize
func.func @dequantize_of_quantize_other_type(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xbf16> {
  %0 = qat.quantize %x, %s as <signed, 4 bits, absmax, per_row> : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x8xi8>
  %1 = qat.dequantize %0, %s as <signed, 4 bits, absmax, per_row> : tensor<4x8xi8>, tensor<4x1xf32> -> tensor<4x8xbf16>
  return %1 : tensor<4x8xbf16>
}

// -----

// Unused pure ops disappear.
// CHECK-LABEL: func.func @dead_ops
// CHECK-NEXT: return
func.func @dead_ops(%x: tensor<4x8xf32>) {
  %0 = qat.hadamard %x block 8 : tensor<4x8xf32>
  %1 = qat.scale %0 as <centered, 4 bits, rms_gaussian, per_row> : tensor<4x8xf32> -> tensor<4x1xf32>
  return
}

// -----

// A random-sign rotation and its inverse under the same seed cancel, in
// either order; the same rotation twice, or two seeds, do not.
// CHECK-LABEL: func.func @random_sign_inverse
// CHECK-SAME: (%[[X:.*]]: tensor<4x256xf32>, %{{.*}}: i64)
// CHECK-NEXT: return %[[X]], %[[X]]
func.func @random_sign_inverse(%x: tensor<4x256xf32>, %seed: i64) -> (tensor<4x256xf32>, tensor<4x256xf32>) {
  %0 = qat.hadamard %x block 128 signs %seed : tensor<4x256xf32>
  %1 = qat.hadamard %0 block 128 signs %seed inverse : tensor<4x256xf32>
  %2 = qat.hadamard %x block 128 signs %seed inverse : tensor<4x256xf32>
  %3 = qat.hadamard %2 block 128 signs %seed : tensor<4x256xf32>
  return %1, %3 : tensor<4x256xf32>, tensor<4x256xf32>
}

// -----

// CHECK-LABEL: func.func @random_sign_not_inverse
// CHECK-COUNT-6: qat.hadamard
func.func @random_sign_not_inverse(%x: tensor<4x256xf32>, %a: i64, %b: i64) -> (tensor<4x256xf32>, tensor<4x256xf32>, tensor<4x256xf32>) {
  %0 = qat.hadamard %x block 128 signs %a : tensor<4x256xf32>
  %1 = qat.hadamard %0 block 128 signs %a : tensor<4x256xf32>
  %2 = qat.hadamard %x block 128 signs %a : tensor<4x256xf32>
  %3 = qat.hadamard %2 block 128 signs %b inverse : tensor<4x256xf32>
  %4 = qat.hadamard %x block 128 : tensor<4x256xf32>
  %5 = qat.hadamard %4 block 128 signs %a inverse : tensor<4x256xf32>
  return %1, %3, %5 : tensor<4x256xf32>, tensor<4x256xf32>, tensor<4x256xf32>
}

// -----

// Block 1 keeps its signs.
// CHECK-LABEL: func.func @random_sign_block_one
// CHECK: qat.hadamard %{{.*}} block 1 signs
func.func @random_sign_block_one(%x: tensor<4x256xf32>, %seed: i64) -> tensor<4x256xf32> {
  %0 = qat.hadamard %x block 1 signs %seed : tensor<4x256xf32>
  return %0 : tensor<4x256xf32>
}
