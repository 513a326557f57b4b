//===- Bindings.h - Shared pieces of the qat Python extension ---*- C++ -*-===//
//
// What the files of the extension share: the context and module objects the
// Python classes wrap, and the capture of MLIR diagnostics that turns them
// into qat.MLIRError exceptions instead of text on stderr.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_PYTHON_BINDINGS_H
#define QAT_PYTHON_BINDINGS_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

namespace mlir::qat::python {
namespace py = pybind11;

//===----------------------------------------------------------------------===//
// Diagnostics
//===----------------------------------------------------------------------===//

/// One MLIR diagnostic as Python sees it (qat.Diagnostic).
struct PyDiagnostic {
  std::string severity;
  /// "file:line:col" where the location has one, else the printed location.
  std::string location;
  std::string message;
  std::vector<PyDiagnostic> notes;

  /// "location: severity: message", then the notes, indented.
  std::string format(unsigned indent = 0) const;
};

/// Converts an MLIR diagnostic, with its notes.
PyDiagnostic convertDiagnostic(const Diagnostic &diagnostic);

/// Raises qat.MLIRError: `summary`, then one diagnostic per line. The
/// exception's `diagnostics` attribute holds them as qat.Diagnostic objects.
[[noreturn]] void raiseMLIRError(const std::string &summary,
                                 const std::vector<PyDiagnostic> &diagnostics);

/// While it lives, every diagnostic of `context` is collected here instead of
/// being printed. Diagnostics emitted from pass manager threads are
/// serialized by the context's diagnostic engine.
class DiagnosticCapture {
public:
  explicit DiagnosticCapture(MLIRContext *context);

  bool hasErrors() const;
  const std::vector<PyDiagnostic> &getDiagnostics() const {
    return diagnostics;
  }
  /// Raises qat.MLIRError with `summary` and what was collected.
  [[noreturn]] void raise(const std::string &summary) const;
  /// After a success: issues the warnings and remarks that were collected as
  /// Python warnings (a warnings filter may turn them into exceptions).
  void warnAboutRest() const;

private:
  std::vector<PyDiagnostic> diagnostics;
  ScopedDiagnosticHandler handler;
};

/// The location of the Python code that called into the extension
/// ("file.py":line), for diagnostics about values built from Python.
Location getCallerLocation(MLIRContext *context);

//===----------------------------------------------------------------------===//
// Context and module
//===----------------------------------------------------------------------===//

/// qat.Context: an MLIRContext with what qat-opt registers.
class PyMlirContext {
public:
  PyMlirContext();

  MLIRContext *get() const { return context.get(); }

  /// `ctx` itself if it is a qat.Context; if it is None, the innermost
  /// context entered with `with`, else the process-wide default context.
  static py::object resolve(const py::object &ctx);
  static MLIRContext *unwrap(const py::object &ctx) {
    return ctx.cast<PyMlirContext &>().get();
  }

private:
  std::unique_ptr<MLIRContext> context;
};

/// qat.Module: a builtin.module owned by Python, which keeps its context
/// alive.
class PyMlirModule {
public:
  PyMlirModule(py::object context, OwningOpRef<ModuleOp> module)
      : contextObject(std::move(context)), module(std::move(module)) {}

  ModuleOp get() const { return *module; }
  MLIRContext *getContext() const {
    return PyMlirContext::unwrap(contextObject);
  }
  const py::object &getContextObject() const { return contextObject; }
  /// Replaces the IR (after a pipeline ran on a copy).
  void reset(OwningOpRef<ModuleOp> newModule) { module = std::move(newModule); }

  /// Runs the verifier; raises qat.MLIRError with its diagnostics.
  void verify(const std::string &what) const;

private:
  // Declared first so that the module is destroyed before its context.
  py::object contextObject;
  OwningOpRef<ModuleOp> module;
};

/// A new module: a copy of a qat.Module, the parse of IR text or of the
/// file an os.PathLike names (in the context `ctx` resolves to).
std::unique_ptr<PyMlirModule> loadModule(const py::object &source,
                                         const py::object &ctx);

void populateDiagnostics(py::module_ &m);
void populateIR(py::module_ &m);
void populateAttributes(py::module_ &m);
void populateExecution(py::module_ &m);

} // namespace mlir::qat::python

#endif // QAT_PYTHON_BINDINGS_H
