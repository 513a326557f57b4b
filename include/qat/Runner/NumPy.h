//===- NumPy.h - Reading and writing .npy files -----------------*- C++ -*-===//
//
// The NumPy array file format (versions 1.0 to 3.0), restricted to what
// compiled qat code can consume: C-ordered arrays of bool, int8..int64,
// float16, float32 and float64 in either byte order.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_RUNNER_NUMPY_H
#define QAT_RUNNER_NUMPY_H

#include "qat/Runner/HostTensor.h"

#include "llvm/Support/Error.h"

#include <string>

namespace mlir::qat {

/// A .npy file as read: its dtype and shape, and the data converted to the
/// host byte order.
struct NpyArray {
  DType dtype;
  SmallVector<int64_t> shape;
  /// The elements, row-major, host byte order.
  std::vector<char> data;
};

/// Reads `path`. Fails, naming the file and the problem, on an unreadable or
/// truncated file, a file that is not .npy, a corrupt header, Fortran order,
/// and dtypes other than those of DType (uint*, complex, object, structured).
llvm::Expected<NpyArray> readNpy(StringRef path);

/// Writes `tensor` to `path` as a version 1.0 file (2.0 if the header needs
/// it). bfloat16, which numpy lacks, is written widened (exactly) to float32.
llvm::Error writeNpy(StringRef path, const HostTensor &tensor);

} // namespace mlir::qat

#endif // QAT_RUNNER_NUMPY_H
