//===- ContractionPrecision.h - Tensor-core precision of f32 ----*- C++ -*-===//
//
// What the tensor cores compute for a float contraction with an f32 operand
// (an option of convert-linalg-contractions-to-nvgpu and of qat-to-nvptx).
//
//===----------------------------------------------------------------------===//

#ifndef QAT_CONVERSION_LINALGTONVGPU_CONTRACTIONPRECISION_H
#define QAT_CONVERSION_LINALGTONVGPU_CONTRACTIONPRECISION_H

namespace mlir::qat {

enum class ContractionPrecision {
  /// mma.sync .tf32: f32 in shared memory, 10-bit mantissas multiplied.
  TF32,
  /// Operands rounded to bf16 on their way into shared memory.
  BF16,
  /// No tensor cores: the op stays for the plain parallel-loop kernels.
  F32,
};

} // namespace mlir::qat

#endif // QAT_CONVERSION_LINALGTONVGPU_CONTRACTIONPRECISION_H
