//===- Execution.cpp - qat.compile: compiled functions on numpy -*- C++ -*-===//
//
// The engine behind qat-run (lib/Runner) driven from Python: a module is
// lowered once with qat-to-cpu (or qat-to-nvptx for a CUDA GPU), each
// function is JIT-compiled when it is first asked for, and calls take and
// return numpy arrays. Arguments are checked against the function's
// signature before anything runs.
//
//===----------------------------------------------------------------------===//

#include "Bindings.h"

#include "qat/Runner/CUDADevice.h"
#include "qat/Runner/Compiler.h"
#include "qat/Runner/Executor.h"
#include "qat/Runner/HostTensor.h"
#include "qat/Runner/Signature.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <pybind11/numpy.h>

#include <cstring>
#include <dlfcn.h>

using namespace mlir;
using namespace mlir::qat;
using namespace mlir::qat::python;

namespace {
/// What calls of a function compare and say, computed once with its JIT
/// compilation rather than on every call: a call's host time is otherwise
/// dominated by printing types into messages and building numpy dtypes.
struct CallCache {
  /// numpy's dtype of each argument's and result's storage (float32 for
  /// bf16, which numpy lacks).
  std::vector<py::dtype> argDTypes, resultDTypes;
  /// "argument 0 (tensor<4xf32>) of 'f'": how errors name each argument.
  std::vector<std::string> argNames;
};

/// One function of a compiled module.
struct Entry {
  EntrySignature signature;
  /// Why the function cannot be called from Python; empty if it can.
  std::string unsupported;
  /// JIT-compiled on first use.
  std::unique_ptr<JITFunction> jit;
  /// Filled with `jit`.
  CallCache cache;
};

/// qat.CompiledModule: a module lowered to the LLVM dialect and its
/// functions.
class PyCompiledModule {
public:
  PyCompiledModule(std::unique_ptr<PyMlirModule> lowered, unsigned optLevel,
                   std::vector<std::string> sharedLibs,
                   std::unique_ptr<CUDADevice> device)
      : device(std::move(device)), lowered(std::move(lowered)),
        optLevel(optLevel), sharedLibs(std::move(sharedLibs)) {}

  PyMlirModule &getLowered() { return *lowered; }
  std::vector<std::string> getNames(bool callableOnly) const {
    std::vector<std::string> result;
    for (const std::string &name : names)
      if (!callableOnly || entries.at(name).unsupported.empty())
        result.push_back(name);
    return result;
  }
  void addEntry(const std::string &name, Entry entry) {
    names.push_back(name);
    entries.emplace(name, std::move(entry));
  }
  Entry *lookup(const std::string &name) {
    auto it = entries.find(name);
    return it == entries.end() ? nullptr : &it->second;
  }
  /// The entry `name`, JIT-compiled; raises KeyError, TypeError (a
  /// signature Python cannot pass) or MLIRError (JIT failure).
  Entry &getCompiled(const std::string &name);

private:
  // Declared first, destroyed last: the JIT-compiled functions free their
  // device buffers through it.
  std::unique_ptr<CUDADevice> device;
  std::unique_ptr<PyMlirModule> lowered;
  unsigned optLevel;
  std::vector<std::string> sharedLibs;
  std::vector<std::string> names;
  std::map<std::string, Entry> entries;
};

/// qat.CompiledFunction: one callable function of a compiled module.
struct PyCompiledFunction {
  /// Keeps `entry` alive (entries never move: std::map).
  py::object module;
  std::string name;
  Entry *entry;

  PyCompiledFunction(py::object module, std::string name)
      : module(std::move(module)), name(std::move(name)),
        entry(
            &this->module.cast<PyCompiledModule &>().getCompiled(this->name)) {}
  Entry &getEntry() const { return *entry; }
};
} // namespace

static py::dtype getResultDType(DType dtype);

static std::string printToString(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << type;
  return text;
}

Entry &PyCompiledModule::getCompiled(const std::string &name) {
  Entry *entry = lookup(name);
  if (!entry) {
    std::vector<std::string> callable = getNames(true);
    throw py::key_error("no function '" + name + "' in the compiled module; " +
                        (callable.empty()
                             ? std::string("it has none")
                             : "it has: " + llvm::join(callable, ", ")));
  }
  if (!entry->unsupported.empty())
    throw py::type_error(
        "'" + name + "' cannot be called from Python: " + entry->unsupported);
  if (!entry->jit) {
    DiagnosticCapture capture(lowered->getContext());
    auto jitOrErr = JITFunction::create(lowered->get(), entry->signature,
                                        optLevel, sharedLibs, device.get());
    if (!jitOrErr)
      capture.raise("cannot JIT-compile '" + name +
                    "': " + llvm::toString(jitOrErr.takeError()));
    entry->jit = std::move(*jitOrErr);
    const EntrySignature &signature = entry->signature;
    for (unsigned i = 0, e = signature.args.size(); i < e; ++i) {
      entry->cache.argDTypes.push_back(getResultDType(signature.args[i].dtype));
      entry->cache.argNames.push_back(describeArg(signature, i) + " of '" +
                                      name + "'");
    }
    for (const BoundaryValue &result : signature.results)
      entry->cache.resultDTypes.push_back(getResultDType(result.dtype));
  }
  return *entry;
}

//===----------------------------------------------------------------------===//
// Compilation
//===----------------------------------------------------------------------===//

/// Functions a caller outside the module can call: defined, public (or of
/// external linkage in the LLVM dialect), not the generated C wrappers.
static bool isCallable(FunctionOpInterface func) {
  if (func.isExternal() || func.getName().starts_with("_mlir_"))
    return false;
  if (auto llvmFunc = dyn_cast<LLVM::LLVMFuncOp>(func.getOperation()))
    return llvmFunc.getLinkage() == LLVM::Linkage::External;
  return cast<SymbolOpInterface>(func.getOperation()).isPublic();
}

/// The path of this extension module: the qat CUDA runtime is looked up
/// relative to it, as qat-run looks it up relative to itself.
static std::string getExtensionPath() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&getExtensionPath), &info) &&
      info.dli_fname)
    return info.dli_fname;
  return "";
}

/// Opens the GPU for target='cuda': the qat CUDA runtime (from
/// `sharedLibs`, else found as qat-run finds it) and the device that
/// QAT_CUDA_DEVICE names. Raises RuntimeError without a driver or device.
static std::unique_ptr<CUDADevice>
openDevice(ArrayRef<std::string> sharedLibs) {
  std::vector<std::string> libraries(sharedLibs.begin(), sharedLibs.end());
#ifdef QAT_PYTHON_RUNTIME_DIR
  // Installed by `cmake --install`, the runtime is in <prefix>/lib, at this
  // path relative to the extension's directory; in a build tree it is not
  // there and findCUDARuntime looks where the build puts it.
  SmallString<256> installed(llvm::sys::path::parent_path(getExtensionPath()));
  llvm::sys::path::append(installed, QAT_PYTHON_RUNTIME_DIR, kCUDARuntimeName);
  llvm::sys::path::remove_dots(installed, /*remove_dot_dot=*/true);
  if (llvm::sys::fs::exists(installed))
    libraries.push_back(installed.str().str());
#endif
  auto runtimeOrErr = findCUDARuntime(getExtensionPath(), libraries);
  if (!runtimeOrErr)
    throw std::runtime_error(llvm::toString(runtimeOrErr.takeError()));
  auto deviceOrErr = CUDADevice::open(*runtimeOrErr);
  if (!deviceOrErr)
    throw std::runtime_error("target='cuda': " +
                             llvm::toString(deviceOrErr.takeError()));
  return std::move(*deviceOrErr);
}

static std::unique_ptr<PyCompiledModule>
compileModule(const py::object &source, const std::string &target,
              const py::object &ctx, unsigned optLevel,
              std::vector<std::string> sharedLibs, const py::object &chip,
              const std::string &pipelineOptions) {
  if (target != "cpu" && target != "cuda")
    throw py::value_error("unknown target '" + target +
                          "'; qat.compile supports 'cpu' and 'cuda'");
  bool cuda = target == "cuda";
  if (!cuda && !chip.is_none())
    throw py::value_error("chip applies to target='cuda' only");
  if (optLevel > 3)
    throw py::value_error("opt_level must be 0, 1, 2 or 3, not " +
                          std::to_string(optLevel));
  // The device first: without a driver or a device, say so before
  // compiling; and its chip is what to compile for.
  std::unique_ptr<CUDADevice> device;
  LoweringOptions lowering;
  lowering.pipelineOptions = pipelineOptions;
  if (cuda) {
    device = openDevice(sharedLibs);
    lowering.target = Target::CUDA;
    lowering.pipelineOptions +=
        " chip=" +
        (chip.is_none() ? device->getChip().str() : chip.cast<std::string>());
  }

  std::unique_ptr<PyMlirModule> module = loadModule(source, ctx);
  ModuleOp op = module->get();
  DiagnosticCapture capture(module->getContext());
  if (failed(mlir::verify(op)))
    capture.raise("the module does not verify");

  // Every callable function gets the C interface and keeps its tensor-level
  // signature through lowering (qat.signature), as qat-run gives its entry.
  std::vector<std::pair<std::string, Entry>> entries;
  const EntrySignature *first = nullptr;
  for (auto func : op.getOps<FunctionOpInterface>()) {
    if (!isCallable(func))
      continue;
    Entry entry;
    auto signatureOrErr = getEntrySignature(func);
    if (!signatureOrErr) {
      entry.signature.name = func.getName().str();
      entry.unsupported = llvm::toString(signatureOrErr.takeError());
    } else {
      entry.signature = std::move(*signatureOrErr);
      if (auto funcOp = dyn_cast<func::FuncOp>(func.getOperation())) {
        funcOp->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                        UnitAttr::get(op.getContext()));
        funcOp->setAttr(kSignatureAttrName,
                        TypeAttr::get(entry.signature.type));
      }
    }
    entries.emplace_back(func.getName().str(), std::move(entry));
  }
  for (auto &[name, entry] : entries)
    if (entry.unsupported.empty()) {
      first = &entry.signature;
      break;
    }
  if (!first) {
    std::string why = entries.empty() ? "the module defines no public function"
                                      : "no public function has a signature "
                                        "that Python can pass:";
    for (auto &[name, entry] : entries)
      why += "\n  " + entry.unsupported;
    throw py::value_error("nothing to compile: " + why);
  }

  if (llvm::Error error = lowerToLLVMDialect(op, *first, lowering))
    capture.raise("cannot lower the module to the LLVM dialect: " +
                  llvm::toString(std::move(error)));

  auto compiled = std::make_unique<PyCompiledModule>(
      std::move(module), optLevel, std::move(sharedLibs), std::move(device));
  for (auto &[name, entry] : entries) {
    if (entry.unsupported.empty()) {
      // lowerToLLVMDialect checked the first; the others are checked here.
      auto lowered = dyn_cast_or_null<LLVM::LLVMFuncOp>(
          SymbolTable::lookupSymbolIn(op, name));
      Type expected = getLoweredFunctionType(op.getContext(), entry.signature);
      if (!lowered)
        entry.unsupported = "no llvm.func '" + name + "' after lowering";
      else if (lowered.getFunctionType() != expected)
        entry.unsupported = "it was lowered to '" +
                            printToString(lowered.getFunctionType()) +
                            "', not to '" + printToString(expected) + "'";
    }
    compiled->addEntry(name, std::move(entry));
  }
  capture.warnAboutRest();
  return compiled;
}

//===----------------------------------------------------------------------===//
// numpy <-> host arrays
//===----------------------------------------------------------------------===//

/// numpy's dtype of the storage of `dtype` in results (bf16 widens to
/// float32, exactly: numpy has no bfloat16).
static py::dtype getResultDType(DType dtype) {
  if (dtype == DType::BF16)
    return py::dtype("float32");
  return py::dtype(getDTypeName(dtype).str());
}

static std::string getTypeName(const py::handle &value) {
  return py::str(py::type::of(value).attr("__name__"));
}

static std::string describeShape(ArrayRef<int64_t> shape) {
  return formatShape(llvm::to_vector(llvm::map_range(shape, [](int64_t size) {
    return ShapedType::isDynamic(size) ? int64_t(-1) : size;
  })));
}

/// Copies Python data that is not a numpy array (numbers, nested lists)
/// into `tensor`, converting to the argument's element type when no value
/// changes kind (float data for an integer argument is an error) or range.
static void copyPythonData(const py::handle &value, const py::array &data,
                           HostTensor &tensor, const std::string &what) {
  DType dtype = tensor.getDType();
  char kind = data.dtype().kind();
  // What the caller gave: "float", "str", "list of float64".
  std::string given = getTypeName(value);
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value))
    given += " of " + py::str(data.dtype()).cast<std::string>();
  py::module_ np = py::module_::import("numpy");
  if (isFloat(dtype)) {
    if (kind != 'f' && kind != 'i' && kind != 'u')
      throw py::type_error(what + " expects numbers, got " + given);
    auto values = np.attr("ascontiguousarray")(data, "float64")
                      .cast<py::array_t<double>>();
    for (int64_t i = 0, e = tensor.getNumElements(); i < e; ++i)
      tensor.setFromDouble(i, values.data()[i]);
    return;
  }
  bool isBool = dtype == DType::I1;
  if (isBool ? kind != 'b' : (kind != 'i' && kind != 'u'))
    throw py::type_error(what + " expects " +
                         (isBool ? std::string("booleans") : "integers") +
                         ", got " + given);
  // Python ints from 2^63 on become uint64, which int64 would wrap.
  if (kind == 'u' && data.size() > 0 &&
      py::bool_(data.attr("max")() > py::int_(INT64_MAX)))
    throw py::value_error(what + ": " +
                          py::str(data.attr("max")()).cast<std::string>() +
                          " is out of range for " + getDTypeName(dtype).str());
  auto values =
      np.attr("ascontiguousarray")(data, "int64").cast<py::array_t<int64_t>>();
  unsigned bits = 8 * getDTypeSize(dtype);
  int64_t low =
      isBool ? 0 : (bits == 64 ? INT64_MIN : -(int64_t(1) << (bits - 1)));
  int64_t high =
      isBool ? 1 : (bits == 64 ? INT64_MAX : (int64_t(1) << (bits - 1)) - 1);
  for (int64_t i = 0, e = tensor.getNumElements(); i < e; ++i) {
    int64_t value = values.data()[i];
    if (value < low || value > high)
      throw py::value_error(what + ": " + std::to_string(value) +
                            " is out of range for " +
                            getDTypeName(dtype).str());
    tensor.setFromInt(i, value);
  }
}

/// The host array for argument `index` of `signature`. numpy data must have
/// the argument's dtype already (bf16 arguments take float32 data, rounded
/// to nearest even, or ml_dtypes.bfloat16; f16 arguments also take
/// float32), as qat-run requires of .npy files; Python numbers and lists
/// are converted.
static HostTensor toHostTensor(const py::handle &value,
                               const EntrySignature &signature,
                               const CallCache &cache, unsigned index) {
  const BoundaryValue &arg = signature.args[index];
  // The common case first, with nothing converted: a C-contiguous numpy
  // array of the argument's dtype and shape (bf16 data always converts:
  // numpy has no bfloat16).
  if (arg.dtype != DType::BF16 && py::isinstance<py::array>(value)) {
    auto array = py::reinterpret_borrow<py::array>(value);
    ArrayRef<int64_t> expected = arg.shape;
    bool exact = array.dtype().equal(cache.argDTypes[index]) &&
                 (array.flags() & py::array::c_style) &&
                 array.ndim() == static_cast<ssize_t>(expected.size());
    for (ssize_t d = 0; exact && d < array.ndim(); ++d)
      exact =
          ShapedType::isDynamic(expected[d]) || expected[d] == array.shape(d);
    if (exact) {
      SmallVector<int64_t, 4> shape(array.shape(),
                                    array.shape() + array.ndim());
      auto tensorOrErr = HostTensor::allocate(arg.dtype, shape);
      if (tensorOrErr) {
        std::memcpy(tensorOrErr->getData(), array.data(),
                    tensorOrErr->getByteSize());
        return std::move(*tensorOrErr);
      }
      llvm::consumeError(tensorOrErr.takeError()); // reported below
    }
  }

  const std::string &what = cache.argNames[index];
  py::module_ np = py::module_::import("numpy");
  bool isNumpy = py::isinstance<py::array>(value) ||
                 py::isinstance(value, np.attr("generic"));
  py::array data;
  try {
    data = np.attr("asarray")(value).cast<py::array>();
  } catch (py::error_already_set &error) {
    throw py::type_error(what + ": cannot convert " + getTypeName(value) +
                         " to an array: " + error.what());
  }
  // numpy keeps an int beyond 64 bits as an object: out of range for an
  // integer argument, a float for a float one.
  if (data.dtype().kind() == 'O' && py::isinstance<py::int_>(value)) {
    if (!isFloat(arg.dtype))
      throw py::value_error(what + ": " + py::str(value).cast<std::string>() +
                            " is out of range for " +
                            getDTypeName(arg.dtype).str());
    try {
      data = np.attr("asarray")(value.attr("__float__")()).cast<py::array>();
    } catch (py::error_already_set &) {
      throw py::value_error(what + ": " + py::str(value).cast<std::string>() +
                            " is out of range for " +
                            getDTypeName(arg.dtype).str());
    }
  }
  if (data.dtype().kind() == 'O')
    throw py::type_error(what + ": cannot convert " + getTypeName(value) +
                         " to an array of numbers");

  // Shape: the rank and every static size must match.
  ArrayRef<int64_t> expected = arg.shape;
  bool shapeMatches = data.ndim() == static_cast<ssize_t>(expected.size());
  SmallVector<int64_t> shape;
  for (ssize_t d = 0; d < data.ndim(); ++d) {
    shape.push_back(data.shape(d));
    if (shapeMatches && !ShapedType::isDynamic(expected[d]))
      shapeMatches = expected[d] == data.shape(d);
  }
  if (!shapeMatches)
    throw py::value_error(
        "shape mismatch: " + what + " has shape " + describeShape(expected) +
        (llvm::any_of(expected, ShapedType::isDynamic) ? " (-1: any size)"
                                                       : "") +
        ", got an array of shape " + formatShape(shape));

  auto tensorOrErr = HostTensor::allocate(arg.dtype, shape);
  if (!tensorOrErr)
    throw py::value_error(what + ": " +
                          llvm::toString(tensorOrErr.takeError()));
  HostTensor tensor = std::move(*tensorOrErr);

  if (!isNumpy) {
    copyPythonData(value, data, tensor, what);
    return tensor;
  }

  py::dtype dtype = data.dtype();
  py::dtype exact = getResultDType(arg.dtype);
  bool isMLBFloat16 = arg.dtype == DType::BF16 && dtype.itemsize() == 2 &&
                      py::str(dtype).cast<std::string>() == "bfloat16";
  bool fromF32 = (arg.dtype == DType::BF16 || arg.dtype == DType::F16) &&
                 dtype.equal(py::dtype("float32"));
  if (!dtype.equal(exact) && !isMLBFloat16 && !fromF32) {
    std::string expectedText = getDTypeName(arg.dtype).str() + " data";
    std::string hint = "np." + getDTypeName(arg.dtype).str();
    if (arg.dtype == DType::BF16) {
      expectedText = "float32 data (rounded to bfloat16, nearest even)";
      hint = "np.float32";
    } else if (arg.dtype == DType::F16) {
      expectedText = "float16 or float32 data";
    } else if (arg.dtype == DType::I1) {
      hint = "bool";
    }
    throw py::type_error("dtype mismatch: " + what + " expects " +
                         expectedText + ", got " +
                         py::str(dtype).cast<std::string>() +
                         "; convert it with a.astype(" + hint + ")");
  }

  auto contiguous = np.attr("ascontiguousarray")(data).cast<py::array>();
  const char *source = static_cast<const char *>(contiguous.data());
  int64_t count = tensor.getNumElements();
  if (fromF32) {
    auto *values = reinterpret_cast<const float *>(source);
    auto *target = reinterpret_cast<uint16_t *>(tensor.getData());
    for (int64_t i = 0; i < count; ++i)
      target[i] = arg.dtype == DType::BF16 ? convertToBF16(values[i])
                                           : convertToF16(values[i]);
  } else {
    std::memcpy(tensor.getData(), source, tensor.getByteSize());
  }
  return tensor;
}

static py::object toNumpy(const HostTensor &tensor, const py::dtype &dtype,
                          bool isScalar) {
  std::vector<ssize_t> shape(tensor.getShape().begin(),
                             tensor.getShape().end());
  py::array array(dtype, shape);
  char *target = static_cast<char *>(array.mutable_data());
  if (tensor.getDType() == DType::BF16) {
    auto *bits = reinterpret_cast<const uint16_t *>(tensor.getData());
    auto *values = reinterpret_cast<float *>(target);
    for (int64_t i = 0, e = tensor.getNumElements(); i < e; ++i)
      values[i] = convertFromBF16(bits[i]);
  } else {
    std::memcpy(target, tensor.getData(), tensor.getByteSize());
  }
  // A scalar result is a numpy scalar (np.float32), a rank-0 tensor a 0-d
  // array.
  if (isScalar)
    return array[py::tuple()];
  return std::move(array);
}

static SmallVector<HostTensor> getInputs(const Entry &entry,
                                         const py::args &args) {
  const EntrySignature &signature = entry.signature;
  size_t expected = signature.args.size();
  if (args.size() != expected) {
    std::string list;
    for (unsigned i = 0; i < expected; ++i)
      list += (i ? ", " : "") + printToString(signature.args[i].type);
    throw py::type_error("'" + signature.name + "' takes " +
                         std::to_string(expected) +
                         (expected == 1 ? " argument" : " arguments") + " (" +
                         list + ") but " + std::to_string(args.size()) +
                         (args.size() == 1 ? " was" : " were") + " given");
  }
  SmallVector<HostTensor> inputs;
  for (unsigned i = 0; i < expected; ++i)
    inputs.push_back(toHostTensor(args[i], signature, entry.cache, i));
  return inputs;
}

static py::object toResults(const Entry &entry, ArrayRef<HostTensor> results) {
  const EntrySignature &signature = entry.signature;
  if (results.empty())
    return py::none();
  const std::vector<py::dtype> &dtypes = entry.cache.resultDTypes;
  if (results.size() == 1)
    return toNumpy(results.front(), dtypes.front(),
                   signature.results.front().isScalar);
  py::tuple tuple(results.size());
  for (auto [i, result] : llvm::enumerate(results))
    tuple[i] = toNumpy(result, dtypes[i], signature.results[i].isScalar);
  return std::move(tuple);
}

static py::object callFunction(const PyCompiledFunction &function,
                               const py::args &args) {
  Entry &entry = function.getEntry();
  SmallVector<HostTensor> inputs = getInputs(entry, args);
  std::string error;
  SmallVector<HostTensor> results;
  {
    // Compiled code touches no Python object.
    py::gil_scoped_release release;
    auto resultsOrErr = entry.jit->call(inputs);
    if (resultsOrErr)
      results = std::move(*resultsOrErr);
    else
      error = llvm::toString(resultsOrErr.takeError());
  }
  if (!error.empty())
    raiseMLIRError("calling '" + function.name + "' failed: " + error, {});
  return toResults(entry, results);
}

static py::dict timeFunction(const PyCompiledFunction &function,
                             const py::args &args, unsigned warmup,
                             unsigned repeat) {
  if (repeat == 0)
    throw py::value_error("repeat must be at least 1");
  Entry &entry = function.getEntry();
  SmallVector<HostTensor> inputs = getInputs(entry, args);
  std::string error;
  Timing timing;
  {
    py::gil_scoped_release release;
    SmallVector<HostTensor> results;
    auto timingOrErr = entry.jit->time(inputs, warmup, repeat, results);
    if (timingOrErr)
      timing = *timingOrErr;
    else
      error = llvm::toString(timingOrErr.takeError());
  }
  if (!error.empty())
    raiseMLIRError("calling '" + function.name + "' failed: " + error, {});
  py::dict result;
  result["median"] = timing.median;
  result["min"] = timing.min;
  result["max"] = timing.max;
  result["runs"] = timing.runs;
  result["warmup"] = timing.warmup;
  return result;
}

//===----------------------------------------------------------------------===//
// Python classes
//===----------------------------------------------------------------------===//

static constexpr const char *kCompileDoc =
    R"(Compiles a module for the CPU or a CUDA GPU; returns a
qat.CompiledModule.

`module` is a qat.Module (copied: it stays as it is), MLIR text or a path.
The module is lowered once with the qat-to-cpu pipeline (target='cpu') or
qat-to-nvptx (target='cuda'), as qat-run does; each public function is
JIT-compiled (LLVM -O`opt_level`, for the host CPU) when it is first looked
up. `shared_libs` are libraries the JIT resolves symbols from, besides libc,
libm and MLIR's runner utilities. `pipeline_options` are options of the
pipeline in their textual form ("fuse-elementwise=false",
"linalg-tile-sizes=8,32").

target='cuda' opens the device that QAT_CUDA_DEVICE names (default 0)
through the qat CUDA runtime (libqat_cuda_runtime.so of the build, or the
one in `shared_libs`) and compiles for its chip unless `chip` ('sm_80',
'sm_90', ...) says otherwise; without the NVIDIA driver or a device it
raises RuntimeError. Calls upload the arguments, run the kernels and
download the results; a CUDA error (a launch, a fault in a kernel) raises
MLIRError naming the CUDA call, the kernel and the error.

    fn = qat.compile(text)
    y = fn["main"](x)            # or fn.call("main", x)

Functions take and return ranked tensors, memrefs or scalars of f32, f64,
f16, bf16, i1, i8, i16, i32, i64. numpy arguments must have the argument's
dtype (bf16 takes float32, rounded to nearest even; f16 also takes float32);
Python numbers and lists are converted. bf16 results come back as float32.

On a GPU machine without LLVM, qat.compiled runs code compiled ahead of time
(docs/python.md). Raises MLIRError if the module does not verify or lower.)";

void mlir::qat::python::populateExecution(py::module_ &m) {
  py::class_<PyCompiledModule>(
      m, "CompiledModule",
      R"(A module compiled by qat.compile, for the CPU or a CUDA GPU.

module["name"] is the function `name` (a qat.CompiledFunction), JIT-compiled
on first use; `functions` lists the names that can be called.)")
      .def(
          "__getitem__",
          [](const py::object &self, const std::string &name) {
            return PyCompiledFunction(self, name);
          },
          py::arg("name"))
      .def(
          "call",
          [](const py::object &self, const std::string &name,
             const py::args &args) {
            return callFunction(PyCompiledFunction(self, name), args);
          },
          py::arg("name"), "Same as module[name](*args).")
      .def("__contains__",
           [](PyCompiledModule &self, const std::string &name) {
             Entry *entry = self.lookup(name);
             return entry && entry->unsupported.empty();
           })
      .def("__iter__",
           [](PyCompiledModule &self) {
             return py::iter(py::cast(self.getNames(true)));
           })
      .def("__len__",
           [](PyCompiledModule &self) { return self.getNames(true).size(); })
      .def_property_readonly(
          "functions",
          [](PyCompiledModule &self) { return self.getNames(true); },
          "Names of the functions that can be called.")
      .def_property_readonly(
          "unsupported",
          [](PyCompiledModule &self) {
            std::map<std::string, std::string> result;
            for (const std::string &name : self.getNames(false))
              if (!self.lookup(name)->unsupported.empty())
                result[name] = self.lookup(name)->unsupported;
            return result;
          },
          "Public functions that cannot be called from Python, with the "
          "reason.")
      .def_property_readonly(
          "lowered",
          [](PyCompiledModule &self) {
            PyMlirModule &lowered = self.getLowered();
            return std::make_unique<PyMlirModule>(
                lowered.getContextObject(),
                OwningOpRef<ModuleOp>(lowered.get().clone()));
          },
          "A copy of the module in the LLVM dialect, as the JIT gets it.")
      .def("__repr__", [](PyCompiledModule &self) {
        return "<qat.CompiledModule: " + llvm::join(self.getNames(true), ", ") +
               ">";
      });

  py::class_<PyCompiledFunction>(
      m, "CompiledFunction",
      R"(A JIT-compiled function, called on numpy arrays.

f(*args) checks the number of arguments, their shapes (static sizes must
match, '?' sizes take any) and dtypes, runs the function on copies of the
inputs and returns its result as a numpy array, several results as a tuple,
no result as None. Scalar results are numpy scalars.)")
      .def("__call__", &callFunction)
      .def("time", &timeFunction, py::arg("warmup") = 3, py::arg("repeat") = 20,
           R"(Times calls on `args`: `warmup` untimed calls, then `repeat`
timed ones (the call only, not the copies of inputs and results). Returns
{'median', 'min', 'max'} in seconds, with 'runs' and 'warmup'.)")
      .def_property_readonly(
          "name", [](const PyCompiledFunction &self) { return self.name; })
      .def_property_readonly(
          "signature",
          [](const PyCompiledFunction &self) {
            return printToString(self.getEntry().signature.type);
          },
          "The tensor-level function type, e.g. '(tensor<4xf32>) -> "
          "tensor<4xf32>'.")
      .def("__repr__", [](const PyCompiledFunction &self) {
        return "<qat.CompiledFunction " + self.name + " : " +
               printToString(self.getEntry().signature.type) + ">";
      });

  m.def(
      "compile",
      [](const py::object &module, const std::string &target,
         const py::object &ctx, unsigned optLevel,
         std::vector<std::string> sharedLibs, const py::object &chip,
         const std::string &pipelineOptions) {
        return compileModule(module, target, ctx, optLevel,
                             std::move(sharedLibs), chip, pipelineOptions);
      },
      py::arg("module"), py::arg("target") = "cpu", py::kw_only(),
      py::arg("ctx") = py::none(), py::arg("opt_level") = 2,
      py::arg("shared_libs") = std::vector<std::string>(),
      py::arg("chip") = py::none(), py::arg("pipeline_options") = "",
      kCompileDoc);
}
