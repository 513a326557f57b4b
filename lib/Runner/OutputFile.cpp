//===- OutputFile.cpp - Finishing files qat-run writes ----------*- C++ -*-===//
//
// Write errors of output files reported as errors, not LLVM fatal errors.
//
//===----------------------------------------------------------------------===//

#include "qat/Runner/OutputFile.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/ToolOutputFile.h"

llvm::Error mlir::qat::finishOutputFile(llvm::ToolOutputFile &out,
                                        StringRef path) {
  out.os().flush();
  if (!out.os().has_error()) {
    out.keep();
    return llvm::Error::success();
  }
  std::error_code ec = out.os().error();
  out.os().clear_error();
  // ToolOutputFile deletes what it has not kept: right for a partial
  // regular file, wrong for a device such as /dev/full.
  if (!llvm::sys::fs::is_regular_file(path))
    out.keep();
  return llvm::createStringError(ec, "cannot write '" + path +
                                         "': " + ec.message());
}
