//===- QATModule.cpp - The qat._qat Python extension module -----*- C++ -*-===//
//
// Entry point of the extension; the qat package (python-bindings/qat)
// re-exports what it defines.
//
//===----------------------------------------------------------------------===//

#include "Bindings.h"

PYBIND11_MODULE(_qat, m) {
  m.doc() = "qat's MLIR dialect and compiler, from Python (the C++ part of "
            "the qat package; import qat instead).";
  using namespace mlir::qat::python;
  populateDiagnostics(m);
  populateIR(m);
  populateAttributes(m);
  populateExecution(m);
}
