//===- Passes.h - Conversions out of the qat dialect ------------*- C++ -*-===//
//
// Declarations and registration of every qat conversion pass.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_CONVERSION_PASSES_H
#define QAT_CONVERSION_PASSES_H

#include "qat/Conversion/LinalgToNVGPU/LinalgToNVGPU.h"
#include "qat/Conversion/QATMatmulToNVGPU/QATMatmulToNVGPU.h"
#include "qat/Conversion/QATToGPU/QATToGPU.h"
#include "qat/Conversion/QATToLinalg/QATToLinalg.h"

namespace mlir::qat {

#define GEN_PASS_REGISTRATION
#include "qat/Conversion/Passes.h.inc"

} // namespace mlir::qat

#endif // QAT_CONVERSION_PASSES_H
