//===- Print.h - numpy-like printing of host arrays -------------*- C++ -*-===//
//
// Prints arrays the way numpy's repr lays them out (nested brackets, one row
// per line, aligned columns, '...' when large) so results read like the
// reference a QAT engineer computes in Python.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_RUNNER_PRINT_H
#define QAT_RUNNER_PRINT_H

#include "qat/Runner/HostTensor.h"

#include "llvm/Support/raw_ostream.h"

namespace mlir::qat {

struct PrintOptions {
  /// Significant digits of floats (printf's %g).
  unsigned precision = 6;
  /// Print each float with the fewest digits that read back to the same
  /// value of its type (numpy's repr); overrides `precision`.
  bool fullPrecision = false;
  /// Arrays with more elements than this print only `edgeItems` at each
  /// end of every dimension; 0 prints everything.
  int64_t threshold = 1000;
  int64_t edgeItems = 3;
  /// Rows wrap to stay within this many columns, as numpy's linewidth.
  size_t lineWidth = 75;
};

/// Formats one element: floats per the options (nan, inf, -inf as numpy),
/// integers in decimal, bools as True and False.
std::string formatElement(const HostTensor &tensor, int64_t index,
                          const PrintOptions &options);

/// Prints `tensor` followed by a newline; a rank-0 array prints its value.
void printTensor(llvm::raw_ostream &os, const HostTensor &tensor,
                 const PrintOptions &options);

} // namespace mlir::qat

#endif // QAT_RUNNER_PRINT_H
