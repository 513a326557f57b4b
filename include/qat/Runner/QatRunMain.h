//===- QatRunMain.h - The qat-run driver ------------------------*- C++ -*-===//
//
// The command-line driver of qat-run as a library entry point, so that the
// tool's main stays thin and other tools can embed the same behavior.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_RUNNER_QATRUNMAIN_H
#define QAT_RUNNER_QATRUNMAIN_H

namespace mlir {
class DialectRegistry;

namespace qat {

/// Parses the command line, then parses, lowers, runs and/or compiles the
/// module it names. `registry` holds the dialects (and their translations to
/// LLVM IR) that the input may use. Returns the process exit code: 0 on
/// success, 1 on any error, after printing what went wrong.
int qatRunMain(int argc, char **argv, DialectRegistry &registry);

} // namespace qat
} // namespace mlir

#endif // QAT_RUNNER_QATRUNMAIN_H
