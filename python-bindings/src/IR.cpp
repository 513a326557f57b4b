//===- IR.cpp - qat.Context, qat.Module and pass pipelines ------*- C++ -*-===//
//
// Contexts with everything qat-opt registers, modules parsed from text or
// files, verified, printed and transformed by textual pass pipelines.
//
//===----------------------------------------------------------------------===//

#include "Bindings.h"

#include "qat/Dialect/QAT/IR/QATDialect.h"
#include "qat/InitAllDialects.h"
#include "qat/InitAllPasses.h"

#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/SourceMgr.h"

#include <algorithm>
#include <cstdio>
#include <mutex>

#include <unistd.h>

using namespace mlir;
using namespace mlir::qat::python;

//===----------------------------------------------------------------------===//
// Context
//===----------------------------------------------------------------------===//

PyMlirContext::PyMlirContext() {
  // Passes and pipelines live in a process-wide registry.
  static std::once_flag passesRegistered;
  std::call_once(passesRegistered, [] { mlir::qat::registerAllPasses(); });
  DialectRegistry registry;
  mlir::qat::registerAllDialects(registry);
  context = std::make_unique<MLIRContext>(registry);
  // Attribute storage exists once the dialect is loaded; builders need it.
  context->loadDialect<mlir::qat::QATDialect>();
  // An exception message is no place for a dump of the failing op (a whole
  // function after a failed pass); the location says where it is.
  context->printOpOnDiagnostic(false);
}

// Both are leaked on purpose: Python objects must not be released by static
// destructors after the interpreter has finalized.
static std::vector<py::object> &getContextStack() {
  static auto *stack = new std::vector<py::object>();
  return *stack;
}

static py::object &getDefaultContext() {
  static auto *context = new py::object();
  return *context;
}

py::object PyMlirContext::resolve(const py::object &ctx) {
  if (!ctx.is_none()) {
    if (!py::isinstance<PyMlirContext>(ctx))
      throw py::type_error(
          "ctx must be a qat.Context or None, not " +
          py::str(py::type::of(ctx).attr("__name__")).cast<std::string>());
    return ctx;
  }
  if (!getContextStack().empty())
    return getContextStack().back();
  py::object &fallback = getDefaultContext();
  if (!fallback)
    fallback =
        py::cast(new PyMlirContext(), py::return_value_policy::take_ownership);
  return fallback;
}

//===----------------------------------------------------------------------===//
// Module
//===----------------------------------------------------------------------===//

void PyMlirModule::verify(const std::string &what) const {
  DiagnosticCapture capture(getContext());
  if (failed(mlir::verify(get())))
    capture.raise(what);
}

static std::unique_ptr<PyMlirModule> parseText(const std::string &text,
                                               const py::object &ctx,
                                               bool verify,
                                               const std::string &name) {
  py::object context = PyMlirContext::resolve(ctx);
  MLIRContext *mlirContext = PyMlirContext::unwrap(context);
  DiagnosticCapture capture(mlirContext);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(
      text, ParserConfig(mlirContext, verify), name);
  if (!module)
    capture.raise("cannot parse the module");
  capture.warnAboutRest();
  return std::make_unique<PyMlirModule>(std::move(context), std::move(module));
}

static std::string getPath(const py::object &path) {
  return py::str(py::module_::import("os").attr("fspath")(path));
}

static std::unique_ptr<PyMlirModule>
parseFile(const py::object &pathObject, const py::object &ctx, bool verify) {
  std::string path = getPath(pathObject);
  py::object context = PyMlirContext::resolve(ctx);
  MLIRContext *mlirContext = PyMlirContext::unwrap(context);
  if (!llvm::sys::fs::exists(path)) {
    PyErr_SetObject(PyExc_FileNotFoundError,
                    py::make_tuple(2, "no such file", path).ptr());
    throw py::error_already_set();
  }
  std::string message;
  std::unique_ptr<llvm::MemoryBuffer> buffer = openInputFile(path, &message);
  if (!buffer) {
    PyErr_SetString(PyExc_OSError,
                    ("cannot read '" + path + "': " + message).c_str());
    throw py::error_already_set();
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  DiagnosticCapture capture(mlirContext);
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(sourceMgr, ParserConfig(mlirContext, verify));
  if (!module)
    capture.raise("cannot parse '" + path + "'");
  capture.warnAboutRest();
  return std::make_unique<PyMlirModule>(std::move(context), std::move(module));
}

/// Whether a str given as a module is a path rather than MLIR text: one line
/// that names an existing file, or ends in ".mlir" (a missing file is then
/// FileNotFoundError, not a parse error about its name). MLIR text that fits
/// on one line names no file.
static bool namesFile(StringRef text) {
  if (text.empty() || text.contains('\n'))
    return false;
  return text.ends_with(".mlir") || llvm::sys::fs::is_regular_file(text);
}

std::unique_ptr<PyMlirModule>
mlir::qat::python::loadModule(const py::object &source, const py::object &ctx) {
  if (py::isinstance<PyMlirModule>(source)) {
    auto &module = source.cast<PyMlirModule &>();
    return std::make_unique<PyMlirModule>(
        module.getContextObject(), OwningOpRef<ModuleOp>(module.get().clone()));
  }
  if (py::isinstance<py::str>(source)) {
    std::string text = source.cast<std::string>();
    if (namesFile(text))
      return parseFile(source, ctx, /*verify=*/true);
    return parseText(text, ctx, /*verify=*/true, "<string>");
  }
  if (py::isinstance(source, py::module_::import("os").attr("PathLike")))
    return parseFile(source, ctx, /*verify=*/true);
  throw py::type_error(
      "expected a qat.Module, MLIR text (str) or a path "
      "(os.PathLike), not " +
      py::str(py::type::of(source).attr("__name__")).cast<std::string>());
}

static std::string printModule(const PyMlirModule &module, bool generic,
                               bool debugInfo) {
  OpPrintingFlags flags;
  if (generic)
    flags.printGenericOpForm();
  if (debugInfo)
    flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false);
  std::string text;
  llvm::raw_string_ostream os(text);
  // Invalid IR is printed in the generic form; the verifier's complaints
  // about it are not for the user here.
  DiagnosticCapture capture(module.getContext());
  module.get()->print(os, flags);
  return text;
}

namespace {
/// qat.FunctionInfo: the name and signature of a function of a module.
struct FunctionInfo {
  std::string name, type;
  std::vector<std::string> inputs, results;
  bool isPublic = false, isDeclaration = false;
};
} // namespace

static std::string printToString(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << type;
  return text;
}

static std::vector<FunctionInfo> getFunctions(const PyMlirModule &module) {
  std::vector<FunctionInfo> functions;
  for (auto func : module.get().getOps<FunctionOpInterface>()) {
    FunctionInfo info;
    info.name = func.getName().str();
    info.type = printToString(func.getFunctionType());
    for (Type type : func.getArgumentTypes())
      info.inputs.push_back(printToString(type));
    for (Type type : func.getResultTypes())
      info.results.push_back(printToString(type));
    info.isPublic = cast<SymbolOpInterface>(func.getOperation()).isPublic();
    info.isDeclaration = func.isExternal();
    functions.push_back(std::move(info));
  }
  return functions;
}

//===----------------------------------------------------------------------===//
// Pass pipelines
//===----------------------------------------------------------------------===//

/// Pipeline options in the textual form: `opt_level=3` -> `opt-level=3`,
/// booleans as true/false, sequences comma-separated.
static std::string formatOption(const py::handle &value) {
  if (py::isinstance<py::bool_>(value))
    return value.cast<bool>() ? "true" : "false";
  if (py::isinstance<py::str>(value))
    return value.cast<std::string>();
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    std::vector<std::string> items;
    for (py::handle item : value)
      items.push_back(formatOption(item));
    return llvm::join(items, ",");
  }
  return py::str(value);
}

static std::string getPipelineText(std::string pipeline,
                                   const py::kwargs &options) {
  StringRef text = StringRef(pipeline).trim();
  std::string result = text.str();
  if (options && !options.empty()) {
    if (text.find_first_of("(){},= \t\n") != StringRef::npos)
      throw py::type_error(
          "keyword options apply to one pass or pipeline given by name, "
          "such as run_pipeline(m, 'qat-to-nvptx', chip='sm_80'); write the "
          "options of '" +
          text.str() + "' into the pipeline text instead");
    std::vector<std::string> items;
    for (auto [key, value] : options) {
      std::string name = py::str(key);
      std::replace(name.begin(), name.end(), '_', '-');
      items.push_back(name + "=" + formatOption(value));
    }
    result += "{" + llvm::join(items, " ") + "}";
  }
  if (!StringRef(result).starts_with("builtin.module("))
    result = "builtin.module(" + result + ")";
  return result;
}

namespace {
/// Redirects the process's stderr to a temporary file while it lives. The
/// options of named pipelines are parsed by llvm::cl, which reports errors
/// (an unknown option of qat-to-nvptx) on llvm::errs() instead of the stream
/// given to parsePassPipeline; they belong in the exception.
class StderrCapture {
public:
  StderrCapture() {
    llvm::errs().flush();
    std::fflush(stderr);
    file = std::tmpfile();
    if (!file)
      return;
    saved = ::dup(STDERR_FILENO);
    if (saved < 0 || ::dup2(::fileno(file), STDERR_FILENO) < 0) {
      if (saved >= 0)
        ::close(saved);
      saved = -1;
    }
  }
  ~StderrCapture() { (void)finish(); }

  /// Restores stderr and returns what was written to it.
  std::string finish() {
    std::string text;
    if (!file)
      return text;
    llvm::errs().flush();
    std::fflush(stderr);
    if (saved >= 0) {
      ::dup2(saved, STDERR_FILENO);
      ::close(saved);
      saved = -1;
    }
    std::rewind(file);
    char buffer[4096];
    while (size_t n = std::fread(buffer, 1, sizeof(buffer), file))
      text.append(buffer, n);
    std::fclose(file);
    file = nullptr;
    return text;
  }

private:
  std::FILE *file = nullptr;
  int saved = -1;
};
} // namespace

static void runPipeline(PyMlirModule &module, const std::string &pipeline,
                        const py::kwargs &options) {
  std::string text = getPipelineText(pipeline, options);
  MLIRContext *context = module.getContext();
  DiagnosticCapture capture(context);
  // Passes may assume valid input; a module parsed with verify=False or
  // built from pieces is checked first.
  if (failed(mlir::verify(module.get())))
    capture.raise("the module does not verify; pass pipelines run on valid "
                  "IR only");

  std::string errors;
  llvm::raw_string_ostream errorStream(errors);
  StderrCapture stderrCapture;
  // `text` is anchored on builtin.module (getPipelineText makes sure).
  FailureOr<OpPassManager> parsed = parsePassPipeline(text, errorStream);
  std::string printed = stderrCapture.finish();
  if (failed(parsed)) {
    std::string why = printed + errors, indented;
    for (StringRef line : llvm::split(why, '\n'))
      if (!line.trim().empty())
        indented += "\n  " + line.rtrim().str();
    raiseMLIRError("invalid pass pipeline '" + text + "':" + indented,
                   capture.getDiagnostics());
  }
  PassManager pm(context, ModuleOp::getOperationName());
  static_cast<OpPassManager &>(pm) = std::move(*parsed);
  // On a copy, so that a failing pass leaves the module as it was.
  OwningOpRef<ModuleOp> copy(module.get().clone());
  if (failed(pm.run(*copy)))
    capture.raise("pass pipeline '" + text +
                  "' failed; the module is unchanged");
  module.reset(std::move(copy));
  capture.warnAboutRest();
}

//===----------------------------------------------------------------------===//
// Python classes
//===----------------------------------------------------------------------===//

static constexpr const char *kRunPipelineDoc =
    R"(Runs a pass pipeline on `module`, in place, and returns the module.

`pipeline` is textual, as qat-opt's --pass-pipeline takes it, with or
without the `builtin.module(...)` anchor: 'canonicalize,cse',
'func.func(cse)', 'qat-to-cpu', 'builtin.module(qat-to-nvptx{chip=sm_80})'.
Keyword arguments are options of a pipeline or pass given by name
(underscores become dashes; booleans, numbers, lists are formatted):
run_pipeline(m, 'qat-to-nvptx', chip='sm_80', format='isa') runs
builtin.module(qat-to-nvptx{chip=sm_80 format=isa}).

The module is verified first. The pipeline runs on a copy that replaces the
module only on success: after a failure the module is unchanged. Raises
MLIRError for invalid IR, an unknown pass or option, or a failing pass.)";

void mlir::qat::python::populateIR(py::module_ &m) {
  py::class_<PyMlirContext>(m, "Context",
                            R"(An MLIR context with what qat-opt registers.

Holds the qat dialect and every upstream dialect, extension and LLVM IR
translation (lib/Registration/InitAll.cpp); every pass and pipeline
(qat-to-cpu, qat-to-nvptx, ...) is registered process-wide when the first
context is created. Modules and attributes keep their context alive.

Functions that take `ctx=None` use the innermost context entered with
`with qat.Context() as ctx:` (process-wide, not per thread), else one
default context shared by the process (Context.current).)")
      .def(py::init<>())
      .def_property_readonly_static(
          "current",
          [](const py::object &) { return PyMlirContext::resolve(py::none()); },
          "The context that functions given ctx=None use.")
      .def("__enter__",
           [](const py::object &self) {
             getContextStack().push_back(self);
             return self;
           })
      .def("__exit__",
           [](const py::object &self, const py::args &) {
             std::vector<py::object> &stack = getContextStack();
             if (stack.empty() || !stack.back().is(self))
               throw std::runtime_error(
                   "qat.Context: `with` blocks exited out of order");
             stack.pop_back();
           })
      .def_property(
          "allow_unregistered_dialects",
          [](PyMlirContext &self) {
            return self.get()->allowsUnregisteredDialects();
          },
          [](PyMlirContext &self, bool allow) {
            self.get()->allowUnregisteredDialects(allow);
          },
          "Whether ops of unknown dialects parse (as qat-opt "
          "--allow-unregistered-dialect).")
      .def_property(
          "print_op_on_diagnostic",
          [](PyMlirContext &self) {
            return self.get()->shouldPrintOpOnDiagnostic();
          },
          [](PyMlirContext &self, bool enable) {
            self.get()->printOpOnDiagnostic(enable);
          },
          "Whether diagnostics about an op carry a note with the op printed "
          "(off by default: a failed pass would print a whole function).")
      .def_property_readonly(
          "dialects",
          [](PyMlirContext &self) {
            std::vector<std::string> names;
            for (StringRef name : self.get()->getAvailableDialects())
              names.push_back(name.str());
            return names;
          },
          "Names of the registered dialects.");

  py::class_<FunctionInfo>(m, "FunctionInfo",
                           "Name and signature of a function of a module.")
      .def_readonly("name", &FunctionInfo::name)
      .def_readonly("type", &FunctionInfo::type,
                    "The function type, e.g. '(tensor<4xf32>) -> "
                    "tensor<4xf32>'.")
      .def_readonly("inputs", &FunctionInfo::inputs, "Argument types.")
      .def_readonly("results", &FunctionInfo::results, "Result types.")
      .def_readonly("is_public", &FunctionInfo::isPublic)
      .def_readonly("is_declaration", &FunctionInfo::isDeclaration,
                    "True for a function without a body.")
      .def("__repr__", [](const FunctionInfo &info) {
        return "FunctionInfo('" + info.name + "', '" + info.type + "')";
      });

  py::class_<PyMlirModule>(
      m, "Module", R"(A builtin.module: parsed, verified, printed, transformed.

Create one with Module.parse(text) or Module.parse_file(path). str(module)
prints it; module.functions lists its functions; module.run_passes(...)
transforms it in place; qat.compile(module) compiles it for the CPU.)")
      .def_static(
          "parse",
          [](const std::string &text, const py::object &ctx, bool verify,
             const std::string &name) {
            return parseText(text, ctx, verify, name);
          },
          py::arg("text"), py::arg("ctx") = py::none(), py::kw_only(),
          py::arg("verify") = true, py::arg("name") = "<string>",
          R"(Parses MLIR text into a module (in `ctx`, default Context.current).

Top-level ops other than one builtin.module are wrapped into a module.
`name` is the file name diagnostics show. The module is verified unless
verify=False. Raises MLIRError with the parser's or verifier's diagnostics.)")
      .def_static("parse_file", &parseFile, py::arg("path"),
                  py::arg("ctx") = py::none(), py::kw_only(),
                  py::arg("verify") = true,
                  R"(Parses the MLIR file at `path` (str or os.PathLike).

Raises FileNotFoundError if there is no such file, MLIRError if it does not
parse or verify.)")
      .def(
          "verify",
          [](const PyMlirModule &self) {
            self.verify("the module does not verify");
          },
          "Runs the verifier; raises MLIRError with its diagnostics.")
      .def("print", &printModule, py::kw_only(), py::arg("generic") = false,
           py::arg("debug_info") = false,
           R"(The module as text.

generic=True prints every op in the generic form; debug_info=True adds the
locations. Invalid IR is printed in the generic form.)")
      .def("__str__",
           [](const PyMlirModule &self) {
             return printModule(self, false, false);
           })
      .def("__repr__",
           [](const PyMlirModule &self) {
             size_t count = getFunctions(self).size();
             return "<qat.Module with " + std::to_string(count) +
                    (count == 1 ? " function>" : " functions>");
           })
      .def_property_readonly(
          "functions", &getFunctions,
          "The functions at the top of the module (qat.FunctionInfo), in "
          "order.")
      .def_property_readonly(
          "context",
          [](const PyMlirModule &self) { return self.getContextObject(); })
      .def(
          "clone",
          [](const PyMlirModule &self) {
            return std::make_unique<PyMlirModule>(
                self.getContextObject(),
                OwningOpRef<ModuleOp>(self.get().clone()));
          },
          "A deep copy (passes change modules in place).")
      .def(
          "run_passes",
          [](const py::object &self, const std::string &pipeline,
             const py::kwargs &options) {
            runPipeline(self.cast<PyMlirModule &>(), pipeline, options);
            return self;
          },
          py::arg("pipeline"),
          "Same as qat.run_pipeline(self, pipeline, **options).");

  m.def(
      "run_pipeline",
      [](const py::object &module, const std::string &pipeline,
         const py::kwargs &options) {
        if (!py::isinstance<PyMlirModule>(module))
          throw py::type_error("run_pipeline expects a qat.Module; parse text "
                               "with qat.Module.parse first");
        runPipeline(module.cast<PyMlirModule &>(), pipeline, options);
        return module;
      },
      py::arg("module"), py::arg("pipeline"), kRunPipelineDoc);
}
