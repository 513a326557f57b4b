//===- InitAllPasses.h - Register the qat passes ----------------*- C++ -*-===//
//
// The one place that registers every pass and pipeline a qat tool offers.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_INITALLPASSES_H
#define QAT_INITALLPASSES_H

namespace mlir::qat {

/// Registers the qat passes and pipelines and every upstream pass.
void registerAllPasses();

} // namespace mlir::qat

#endif // QAT_INITALLPASSES_H
