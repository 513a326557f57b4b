//===- LinalgToNVGPU.h - Float contractions to tensor cores -----*- C++ -*-===//
//
// Entry points of the lowering of float linalg contractions to tensor-core
// kernels.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_CONVERSION_LINALGTONVGPU_LINALGTONVGPU_H
#define QAT_CONVERSION_LINALGTONVGPU_LINALGTONVGPU_H

#include "qat/Conversion/LinalgToNVGPU/ContractionPrecision.h"

#include "mlir/Pass/Pass.h"

namespace mlir::qat {

#define GEN_PASS_DECL_CONVERTLINALGCONTRACTIONSTONVGPU
#include "qat/Conversion/Passes.h.inc"

} // namespace mlir::qat

#endif // QAT_CONVERSION_LINALGTONVGPU_LINALGTONVGPU_H
