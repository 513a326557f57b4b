//===- Diagnostics.cpp - MLIR diagnostics as Python exceptions --*- C++ -*-===//
//
// qat.MLIRError and qat.Diagnostic, the capture of a context's diagnostics
// during one call into the extension, and locations of Python callers.
//
//===----------------------------------------------------------------------===//

#include "Bindings.h"

#include "mlir/IR/Location.h"
#include "llvm/Support/raw_ostream.h"

#include <frameobject.h>

using namespace mlir;
using namespace mlir::qat::python;

/// The exception class, created when the module is initialized; never freed
/// (it lives as long as the interpreter holds the module).
static PyObject *mlirErrorType = nullptr;

static std::string getSeverityName(DiagnosticSeverity severity) {
  switch (severity) {
  case DiagnosticSeverity::Error:
    return "error";
  case DiagnosticSeverity::Warning:
    return "warning";
  case DiagnosticSeverity::Note:
    return "note";
  case DiagnosticSeverity::Remark:
    return "remark";
  }
  return "error";
}

/// "file:line:col" of the first file location inside `loc` (names, call
/// sites and fused locations wrap them); column 0 means no column.
static std::string formatLocation(Location loc) {
  std::string result;
  loc->walk([&](Location inner) {
    auto range = dyn_cast<FileLineColRange>(inner);
    if (!range)
      return WalkResult::advance();
    llvm::raw_string_ostream os(result);
    os << range.getFilename().getValue() << ":" << range.getStartLine();
    if (range.getStartColumn() != 0)
      os << ":" << range.getStartColumn();
    return WalkResult::interrupt();
  });
  if (!result.empty() || isa<UnknownLoc>(loc))
    return result;
  llvm::raw_string_ostream os(result);
  os << loc;
  return result;
}

std::string PyDiagnostic::format(unsigned indent) const {
  std::string text(indent, ' ');
  if (!location.empty())
    text += location + ": ";
  text += severity + ": " + message;
  for (const PyDiagnostic &note : notes)
    text += "\n" + note.format(indent + 2);
  return text;
}

PyDiagnostic
mlir::qat::python::convertDiagnostic(const Diagnostic &diagnostic) {
  PyDiagnostic result;
  result.severity = getSeverityName(diagnostic.getSeverity());
  result.location = formatLocation(diagnostic.getLocation());
  result.message = diagnostic.str();
  for (const Diagnostic &note : diagnostic.getNotes())
    result.notes.push_back(convertDiagnostic(note));
  return result;
}

void mlir::qat::python::raiseMLIRError(
    const std::string &summary, const std::vector<PyDiagnostic> &diagnostics) {
  std::string message = summary;
  for (const PyDiagnostic &diagnostic : diagnostics)
    message += "\n" + diagnostic.format(2);
  py::object error =
      py::reinterpret_borrow<py::object>(mlirErrorType)(py::str(message));
  error.attr("diagnostics") = py::cast(diagnostics);
  PyErr_SetObject(mlirErrorType, error.ptr());
  throw py::error_already_set();
}

DiagnosticCapture::DiagnosticCapture(MLIRContext *context)
    : handler(context, [this](Diagnostic &diagnostic) {
        diagnostics.push_back(convertDiagnostic(diagnostic));
        return success();
      }) {}

bool DiagnosticCapture::hasErrors() const {
  return llvm::any_of(diagnostics, [](const PyDiagnostic &diagnostic) {
    return diagnostic.severity == "error";
  });
}

void DiagnosticCapture::raise(const std::string &summary) const {
  raiseMLIRError(summary, diagnostics);
}

void DiagnosticCapture::warnAboutRest() const {
  for (const PyDiagnostic &diagnostic : diagnostics)
    if (diagnostic.severity != "error" &&
        PyErr_WarnEx(PyExc_UserWarning, diagnostic.format().c_str(), 1) != 0)
      throw py::error_already_set();
}

Location mlir::qat::python::getCallerLocation(MLIRContext *context) {
  // Functions of the extension push no frame: the current one is the caller.
  PyFrameObject *frame = PyEval_GetFrame();
  if (!frame)
    return UnknownLoc::get(context);
  PyCodeObject *code = PyFrame_GetCode(frame);
  std::string file = py::cast<std::string>(
      py::reinterpret_borrow<py::object>(code->co_filename));
  Py_DECREF(code);
  return FileLineColLoc::get(context, file, PyFrame_GetLineNumber(frame), 0);
}

namespace mlir::qat::python {
void populateDiagnostics(py::module_ &m) {
  mlirErrorType = PyErr_NewExceptionWithDoc(
      "qat.MLIRError",
      "An MLIR operation failed: invalid IR, an unknown pass, a pass that\n"
      "failed, attribute parameters a verifier rejected, a module that could\n"
      "not be lowered or JIT-compiled.\n\n"
      "str(error) is a summary followed by the diagnostics, one per line,\n"
      "each with its location (file:line:col) and severity; `diagnostics`\n"
      "holds them as qat.Diagnostic objects.",
      PyExc_Exception, nullptr);
  m.add_object("MLIRError", py::reinterpret_borrow<py::object>(mlirErrorType));

  py::class_<PyDiagnostic>(m, "Diagnostic",
                           "One diagnostic that MLIR emitted (see MLIRError).")
      .def_readonly("severity", &PyDiagnostic::severity,
                    "'error', 'warning', 'note' or 'remark'.")
      .def_readonly("location", &PyDiagnostic::location,
                    "'file:line:col' (or the printed location; '' if "
                    "unknown).")
      .def_readonly("message", &PyDiagnostic::message)
      .def_readonly("notes", &PyDiagnostic::notes,
                    "Notes attached to the diagnostic (qat.Diagnostic).")
      .def("__str__", [](const PyDiagnostic &d) { return d.format(); })
      .def("__repr__", [](const PyDiagnostic &d) {
        return "<qat.Diagnostic " + d.format() + ">";
      });
}
} // namespace mlir::qat::python
