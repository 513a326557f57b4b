//===- OutputFile.h - Finishing files qat-run writes ------------*- C++ -*-===//
//
// Write errors of output files as llvm::Error instead of LLVM's fatal error.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_RUNNER_OUTPUTFILE_H
#define QAT_RUNNER_OUTPUTFILE_H

#include "mlir/Support/LLVM.h"
#include "llvm/Support/Error.h"

namespace llvm {
class ToolOutputFile;
} // namespace llvm

namespace mlir::qat {

/// Flushes `out` (written to `path`) and keeps it, or returns the write
/// error ("cannot write 'path': No space left on device"). A raw_fd_ostream
/// destroyed with an unchecked error ends the process with an LLVM fatal
/// error; this clears it. On error, a regular file is removed as usual, while
/// a device (/dev/full) is left alone.
llvm::Error finishOutputFile(llvm::ToolOutputFile &out, StringRef path);

} // namespace mlir::qat

#endif // QAT_RUNNER_OUTPUTFILE_H
