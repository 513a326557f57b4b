//===- Attributes.cpp - qat attributes built from Python --------*- C++ -*-===//
//
// qat.Attribute, qat.Quantizer and qat.GradientEstimator with the builders
// ste(), clip(), trust(), fourier(). Every builder goes through getChecked,
// so the dialect's verifiers judge the parameters and their diagnostics
// become qat.MLIRError, located at the Python line that asked.
//
//===----------------------------------------------------------------------===//

#include "Bindings.h"

#include "qat/Dialect/QAT/IR/QATAttrs.h"

#include "mlir/AsmParser/AsmParser.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace mlir;
using namespace mlir::qat;
using namespace mlir::qat::python;

namespace {
/// qat.Attribute: any MLIR attribute, printed, compared and hashed.
class PyAttribute {
public:
  PyAttribute(py::object context, Attribute attr)
      : contextObject(std::move(context)), attr(attr) {}
  virtual ~PyAttribute() = default;

  Attribute get() const { return attr; }
  const py::object &getContextObject() const { return contextObject; }

private:
  py::object contextObject;
  Attribute attr;
};

/// qat.Quantizer: a #qat.quantizer attribute.
class PyQuantizer : public PyAttribute {
public:
  using PyAttribute::PyAttribute;
  QuantizerAttr getQuantizer() const { return cast<QuantizerAttr>(get()); }
};

/// qat.GradientEstimator: #qat.ste, #qat.clip, #qat.trust or #qat.fourier.
class PyEstimator : public PyAttribute {
public:
  using PyAttribute::PyAttribute;
  GradientEstimatorAttrInterface getEstimator() const {
    return cast<GradientEstimatorAttrInterface>(get());
  }
};
} // namespace

static std::string printToString(Attribute attr) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << attr;
  return text;
}

/// The most specific Python class for `attr`.
static py::object wrapAttribute(py::object context, Attribute attr) {
  if (isa<QuantizerAttr>(attr))
    return py::cast(std::make_unique<PyQuantizer>(std::move(context), attr));
  if (isa<GradientEstimatorAttrInterface>(attr))
    return py::cast(std::make_unique<PyEstimator>(std::move(context), attr));
  return py::cast(std::make_unique<PyAttribute>(std::move(context), attr));
}

/// Raises MLIRError if `attr` is null (a builder's verifier failed).
static void checkBuilt(Attribute attr, const DiagnosticCapture &capture,
                       const std::string &what) {
  if (!attr)
    capture.raise("invalid " + what);
  capture.warnAboutRest();
}

//===----------------------------------------------------------------------===//
// Quantizer
//===----------------------------------------------------------------------===//

template <typename Enum>
static Enum parseEnum(const std::string &value, const char *what,
                      std::optional<Enum> (*symbolize)(StringRef),
                      std::initializer_list<const char *> names) {
  if (std::optional<Enum> parsed = symbolize(value))
    return *parsed;
  std::vector<std::string> quoted;
  for (const char *name : names)
    quoted.push_back("'" + std::string(name) + "'");
  throw py::value_error("unknown " + std::string(what) + " '" + value +
                        "'; expected " + llvm::join(quoted, ", "));
}

/// `granularity` as given: 'per_tensor', 'per_row', ('per_group', G) or
/// 'per_group<G>'.
static std::pair<Granularity, int64_t>
parseGranularity(const py::object &granularity) {
  static constexpr const char *kForms =
      "'per_tensor', 'per_row', ('per_group', G) or 'per_group<G>'";
  std::string name;
  int64_t groupSize = 0;
  bool sizeGiven = false;
  if (py::isinstance<py::str>(granularity)) {
    name = granularity.cast<std::string>();
    StringRef text(name);
    if (text.consume_front("per_group<") && text.consume_back(">")) {
      if (text.trim().getAsInteger(10, groupSize))
        throw py::value_error("bad group size in granularity '" + name +
                              "'; expected " + kForms);
      name = "per_group";
      sizeGiven = true;
    }
  } else if ((py::isinstance<py::tuple>(granularity) ||
              py::isinstance<py::list>(granularity)) &&
             py::len(granularity) == 2) {
    auto sequence = granularity.cast<py::sequence>();
    if (!py::isinstance<py::str>(sequence[0]) ||
        !py::isinstance<py::int_>(sequence[1]))
      throw py::type_error(std::string("granularity must be ") + kForms +
                           ", not " +
                           py::repr(granularity).cast<std::string>());
    name = sequence[0].cast<std::string>();
    groupSize = sequence[1].cast<int64_t>();
    sizeGiven = true;
  } else {
    throw py::type_error(std::string("granularity must be ") + kForms +
                         ", not " + py::repr(granularity).cast<std::string>());
  }
  Granularity parsed =
      parseEnum<Granularity>(name, "granularity", symbolizeGranularity,
                             {"per_tensor", "per_row", "per_group"});
  if (parsed == Granularity::PerGroup && !sizeGiven)
    throw py::value_error("per_group needs a group size: ('per_group', G) or "
                          "'per_group<G>'");
  return {parsed, groupSize};
}

static py::object makeQuantizer(const std::string &grid, int64_t bits,
                                const std::string &method,
                                const py::object &granularity,
                                const std::string &rounding,
                                const py::object &ctx) {
  Grid gridValue =
      parseEnum<Grid>(grid, "grid", symbolizeGrid,
                      {"centered", "signed", "e4m3", "e5m2", "e2m1"});
  ScaleMethod methodValue = parseEnum<ScaleMethod>(
      method, "scale method", symbolizeScaleMethod,
      {"rms_gaussian", "absmax", "mx", "nvfp4", "learned"});
  auto [granularityValue, groupSize] = parseGranularity(granularity);
  Rounding roundingValue = parseEnum<Rounding>(
      rounding, "rounding", symbolizeRounding, {"nearest", "stochastic"});

  py::object context = PyMlirContext::resolve(ctx);
  MLIRContext *mlirContext = PyMlirContext::unwrap(context);
  DiagnosticCapture capture(mlirContext);
  Location loc = getCallerLocation(mlirContext);
  auto emitError = [&] { return mlir::emitError(loc); };
  QuantizerAttr attr;
  // The verifier takes `unsigned` bits; report values that do not fit in
  // the same words rather than wrapping them.
  if (bits < 0 || bits > std::numeric_limits<unsigned>::max())
    emitError() << "bits must be in [1, 8], got " << bits;
  else
    attr = QuantizerAttr::getChecked(
        emitError, mlirContext, gridValue, static_cast<unsigned>(bits),
        methodValue, granularityValue, groupSize, roundingValue);
  checkBuilt(attr, capture, "quantizer");
  return wrapAttribute(std::move(context), attr);
}

//===----------------------------------------------------------------------===//
// Gradient estimators
//===----------------------------------------------------------------------===//

static py::object makeTrust(const py::object &factor, const py::object &ctx) {
  py::object context = PyMlirContext::resolve(ctx);
  MLIRContext *mlirContext = PyMlirContext::unwrap(context);
  if (factor.is_none())
    return wrapAttribute(std::move(context),
                         TrustAttr::get(mlirContext, FloatAttr()));
  double value = factor.cast<double>();
  DiagnosticCapture capture(mlirContext);
  Location loc = getCallerLocation(mlirContext);
  // f64, as the parser builds it, so that built and parsed attributes are
  // the same object.
  auto attr = TrustAttr::getChecked(
      [&] { return mlir::emitError(loc); }, mlirContext,
      FloatAttr::get(Float64Type::get(mlirContext), value));
  checkBuilt(attr, capture, "trust estimator");
  return wrapAttribute(std::move(context), attr);
}

static py::object makeFourier(const py::object &amplitudes,
                              const py::object &ctx) {
  py::object context = PyMlirContext::resolve(ctx);
  MLIRContext *mlirContext = PyMlirContext::unwrap(context);
  if (amplitudes.is_none())
    return wrapAttribute(std::move(context),
                         FourierAttr::get(mlirContext, DenseF64ArrayAttr()));
  SmallVector<double> values;
  if (py::isinstance<py::float_>(amplitudes) ||
      py::isinstance<py::int_>(amplitudes)) {
    values.push_back(amplitudes.cast<double>());
  } else if (py::isinstance<py::iterable>(amplitudes) &&
             !py::isinstance<py::str>(amplitudes)) {
    for (py::handle item : amplitudes)
      values.push_back(item.cast<double>());
  } else {
    throw py::type_error("fourier amplitudes must be a number or a sequence "
                         "of numbers, not " +
                         py::repr(amplitudes).cast<std::string>());
  }
  DiagnosticCapture capture(mlirContext);
  Location loc = getCallerLocation(mlirContext);
  auto attr =
      FourierAttr::getChecked([&] { return mlir::emitError(loc); }, mlirContext,
                              DenseF64ArrayAttr::get(mlirContext, values));
  checkBuilt(attr, capture, "fourier estimator");
  return wrapAttribute(std::move(context), attr);
}

/// The estimator's mnemonic ("ste", "trust", ...): its attribute name without
/// the dialect prefix, so that a new estimator needs no case here.
static std::string getEstimatorKind(GradientEstimatorAttrInterface estimator) {
  StringRef name = estimator.getAbstractAttribute().getName();
  name.consume_front("qat.");
  return name.str();
}

/// The Python expression that builds `attr` again.
static std::string getRepr(const PyAttribute &self) {
  Attribute attr = self.get();
  if (auto quantizer = dyn_cast<QuantizerAttr>(attr)) {
    std::string granularity =
        "'" + stringifyGranularity(quantizer.getGranularity()).str() + "'";
    if (quantizer.getGranularity() == Granularity::PerGroup)
      granularity =
          "('per_group', " + std::to_string(quantizer.getGroupSize()) + ")";
    return "qat.Quantizer(grid='" + stringifyGrid(quantizer.getGrid()).str() +
           "', bits=" + std::to_string(quantizer.getBits()) + ", method='" +
           stringifyScaleMethod(quantizer.getScaleMethod()).str() +
           "', granularity=" + granularity +
           (quantizer.isStochastic() ? ", rounding='stochastic')" : ")");
  }
  if (auto trust = dyn_cast<TrustAttr>(attr))
    return trust.getFactor()
               ? "qat.trust(" +
                     py::repr(py::float_(trust.getFactor().getValueAsDouble()))
                         .cast<std::string>() +
                     ")"
               : "qat.trust()";
  if (auto fourier = dyn_cast<FourierAttr>(attr)) {
    if (!fourier.getAmplitudes())
      return "qat.fourier()";
    py::list amplitudes;
    for (double a : fourier.getAmplitudes().asArrayRef())
      amplitudes.append(py::float_(a));
    return "qat.fourier(" + py::repr(amplitudes).cast<std::string>() + ")";
  }
  if (isa<SteAttr>(attr))
    return "qat.ste()";
  if (isa<ClipAttr>(attr))
    return "qat.clip()";
  return "qat.Attribute.parse(" +
         py::repr(py::str(printToString(attr))).cast<std::string>() + ")";
}

//===----------------------------------------------------------------------===//
// Python classes
//===----------------------------------------------------------------------===//

void mlir::qat::python::populateAttributes(py::module_ &m) {
  py::class_<PyAttribute>(m, "Attribute", R"(An MLIR attribute.

str(attr) is its MLIR text. Attributes are uniqued by their context:
== compares identity, and equal attributes hash equally.)")
      .def_static(
          "parse",
          [](const std::string &text, const py::object &ctx) {
            py::object context = PyMlirContext::resolve(ctx);
            MLIRContext *mlirContext = PyMlirContext::unwrap(context);
            DiagnosticCapture capture(mlirContext);
            Attribute attr = parseAttribute(text, mlirContext);
            if (!attr) {
              // The parser names the buffer after the text itself.
              std::vector<PyDiagnostic> diagnostics = capture.getDiagnostics();
              for (PyDiagnostic &diagnostic : diagnostics)
                if (StringRef(diagnostic.location).starts_with(text + ":"))
                  diagnostic.location =
                      "<string>" + diagnostic.location.substr(text.size());
              raiseMLIRError("cannot parse the attribute '" + text + "'",
                             diagnostics);
            }
            capture.warnAboutRest();
            return wrapAttribute(std::move(context), attr);
          },
          py::arg("text"), py::arg("ctx") = py::none(),
          "Parses attribute text, e.g. '#qat.trust<0.25>'; returns a "
          "Quantizer or GradientEstimator where it is one. Raises MLIRError.")
      .def_property_readonly("context", &PyAttribute::getContextObject)
      .def("__str__",
           [](const PyAttribute &self) { return printToString(self.get()); })
      .def("__repr__", &getRepr)
      .def(
          "__eq__",
          [](const PyAttribute &self, const PyAttribute &other) {
            return self.get() == other.get();
          },
          py::is_operator())
      .def("__hash__", [](const PyAttribute &self) {
        return py::hash(py::int_(
            reinterpret_cast<uintptr_t>(self.get().getAsOpaquePointer())));
      });

  py::class_<PyQuantizer, PyAttribute>(
      m, "Quantizer",
      R"(#qat.quantizer: grid, bit width, scale method, granularity.

    qat.Quantizer(grid='centered', bits=4, method='rms_gaussian',
                  granularity='per_row')
    # -> #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
    qat.Quantizer(grid='signed', bits=2, method='learned',
                  granularity=('per_group', 64))

grid: 'centered' (QuEST), 'signed' (LSQ) or a float element format,
'e4m3', 'e5m2' (8 bits) or 'e2m1' (4 bits); bits: 1 to 8; method:
'rms_gaussian', 'absmax', 'mx' (float grids: a power-of-two step per block,
OCP Microscaling), 'nvfp4' (e2m1: an e4m3 step per block under a
per-tensor scale) or 'learned' (signed grid only); granularity:
'per_tensor', 'per_row', ('per_group', G) or 'per_group<G>'; rounding
(keyword): 'nearest' (ties to even) or 'stochastic' (the ops that round
then take an i64 seed).
The dialect's verifier checks the combination: a violation raises MLIRError
located at the calling line; unknown names raise ValueError. str(q) is the
attribute's text, for alias definitions (#q4 = #qat.quantizer<...>);
q.op_syntax is the form ops write after `as` ('<centered, 4 bits, ...>').)")
      .def(py::init([](const std::string &grid, int64_t bits,
                       const std::string &method, const py::object &granularity,
                       const std::string &rounding, const py::object &ctx) {
             py::object built =
                 makeQuantizer(grid, bits, method, granularity, rounding, ctx);
             return std::make_unique<PyQuantizer>(
                 built.cast<PyAttribute &>().getContextObject(),
                 built.cast<PyAttribute &>().get());
           }),
           py::arg("grid") = "centered", py::arg("bits") = 4,
           py::arg("method") = "rms_gaussian",
           py::arg("granularity") = "per_row", py::kw_only(),
           py::arg("rounding") = "nearest", py::arg("ctx") = py::none())
      .def_property_readonly(
          "op_syntax",
          [](const PyQuantizer &self) {
            std::string text = printToString(self.get());
            return StringRef(text).drop_front(strlen("#qat.quantizer")).str();
          },
          "The quantizer as qat ops spell it after `as`: '<centered, 4 bits, "
          "rms_gaussian, per_row>' (str(q), the attribute, is for alias "
          "definitions: #q4 = #qat.quantizer<...>).")
      .def_property_readonly(
          "grid",
          [](const PyQuantizer &self) {
            return stringifyGrid(self.getQuantizer().getGrid()).str();
          })
      .def_property_readonly(
          "bits",
          [](const PyQuantizer &self) { return self.getQuantizer().getBits(); })
      .def_property_readonly("method",
                             [](const PyQuantizer &self) {
                               return stringifyScaleMethod(
                                          self.getQuantizer().getScaleMethod())
                                   .str();
                             })
      .def_property_readonly(
          "granularity",
          [](const PyQuantizer &self) {
            return stringifyGranularity(self.getQuantizer().getGranularity())
                .str();
          },
          "'per_tensor', 'per_row' or 'per_group' (see group_size).")
      .def_property_readonly(
          "group_size",
          [](const PyQuantizer &self) -> py::object {
            QuantizerAttr q = self.getQuantizer();
            if (q.getGranularity() != Granularity::PerGroup)
              return py::none();
            return py::int_(q.getGroupSize());
          },
          "G of per_group<G>; None for the other granularities.")
      .def_property_readonly(
          "rounding",
          [](const PyQuantizer &self) {
            return stringifyRounding(self.getQuantizer().getRounding()).str();
          },
          "'nearest' (ties to even) or 'stochastic'.")
      .def_property_readonly(
          "min_code",
          [](const PyQuantizer &self) {
            return self.getQuantizer().getMinCode();
          },
          "Smallest integer code (qat.quantize's output).")
      .def_property_readonly(
          "max_code",
          [](const PyQuantizer &self) {
            return self.getQuantizer().getMaxCode();
          },
          "Largest integer code.")
      .def_property_readonly(
          "code_bits",
          [](const PyQuantizer &self) {
            return self.getQuantizer().getCodeBits();
          },
          "Bits of the narrowest integer type that holds every code.")
      .def_property_readonly(
          "gaussian_alpha",
          [](const PyQuantizer &self) {
            return self.getQuantizer().getGaussianAlpha();
          },
          "alpha_b, the MSE-optimal clip of a unit Gaussian (rms_gaussian).")
      .def(
          "scale_shape",
          [](const PyQuantizer &self, const std::vector<int64_t> &shape) {
            SmallVector<int64_t> scale =
                self.getQuantizer().getScaleShape(shape);
            return py::tuple(
                py::cast(std::vector<int64_t>(scale.begin(), scale.end())));
          },
          py::arg("shape"),
          "Shape of the step tensor (qat.scale's result) for an input of "
          "`shape`.")
      .def(
          "check_estimator",
          [](const PyQuantizer &self, const PyEstimator &estimator) {
            QuantizerAttr q = self.getQuantizer();
            MLIRContext *context = q.getContext();
            DiagnosticCapture capture(context);
            Location loc = getCallerLocation(context);
            if (failed(estimator.getEstimator().verifyForGrid(
                    [&] { return mlir::emitError(loc); }, q.getGrid(),
                    q.getBits())))
              capture.raise(printToString(estimator.get()) +
                            " cannot be used with " + printToString(q));
          },
          py::arg("estimator"),
          "Raises MLIRError if `estimator` is not defined for this quantizer "
          "(e.g. fourier on the centered grid), as the op verifiers would.");

  py::class_<PyEstimator, PyAttribute>(
      m, "GradientEstimator",
      R"(A gradient estimator of qat.fake_quant: ste, clip, trust or fourier.

Built by qat.ste(), qat.clip(), qat.trust(T) and qat.fourier(amplitudes).
str(e) is the attribute ('#qat.trust<0.25>'); e.op_syntax is the form ops
write after `with` ('trust<0.25>').)")
      .def_property_readonly(
          "kind",
          [](const PyEstimator &self) {
            return getEstimatorKind(self.getEstimator());
          },
          "'ste', 'clip', 'trust' or 'fourier'.")
      .def_property_readonly(
          "op_syntax",
          [](const PyEstimator &self) {
            std::string text = printToString(self.get());
            return StringRef(text).drop_front(strlen("#qat.")).str();
          },
          "The estimator as qat ops spell it after `with`: 'trust<0.25>'.")
      .def_property_readonly(
          "factor",
          [](const PyEstimator &self) -> py::object {
            auto trust = dyn_cast<TrustAttr>(self.get());
            if (!trust || !trust.getFactor())
              return py::none();
            return py::float_(trust.getFactor().getValueAsDouble());
          },
          "T of trust<T>; None when it derives from the bit width (or for "
          "other estimators).")
      .def(
          "factor_for_bits",
          [](const PyEstimator &self, int64_t bits) {
            auto trust = dyn_cast<TrustAttr>(self.get());
            if (!trust)
              throw py::type_error("factor_for_bits is defined for trust "
                                   "estimators only");
            if (bits < 1 || bits > 8)
              throw py::value_error("bits must be in [1, 8], got " +
                                    std::to_string(bits));
            return trust.getFactorForBits(static_cast<unsigned>(bits));
          },
          py::arg("bits"),
          "T used for a quantizer of `bits` bits: the factor, or "
          "alpha_b/(2^b-1).")
      .def_property_readonly(
          "amplitudes",
          [](const PyEstimator &self) -> py::object {
            auto fourier = dyn_cast<FourierAttr>(self.get());
            if (!fourier)
              return py::none();
            SmallVector<double> values = fourier.getAmplitudesOrDefault();
            return py::cast(std::vector<double>(values.begin(), values.end()));
          },
          "a_k of fourier (the default [0.21] included); None for other "
          "estimators.");

  m.def(
      "ste",
      [](const py::object &ctx) {
        py::object context = PyMlirContext::resolve(ctx);
        return wrapAttribute(context,
                             SteAttr::get(PyMlirContext::unwrap(context)));
      },
      py::kw_only(), py::arg("ctx") = py::none(),
      "#qat.ste, the straight-through estimator: dx = dy.");
  m.def(
      "clip",
      [](const py::object &ctx) {
        py::object context = PyMlirContext::resolve(ctx);
        return wrapAttribute(context,
                             ClipAttr::get(PyMlirContext::unwrap(context)));
      },
      py::kw_only(), py::arg("ctx") = py::none(),
      "#qat.clip, the clipped straight-through estimator.");
  m.def(
      "trust", &makeTrust, py::arg("T") = py::none(), py::kw_only(),
      py::arg("ctx") = py::none(),
      R"(#qat.trust<T>, QuEST's trust estimator: dx = dy * [|xq - x| <= T * rms].

T=None (#qat.trust) derives T = alpha_b/(2^b-1) from the quantizer's bits;
a given T must be positive and finite (else MLIRError).)");
  m.def("fourier", &makeFourier, py::arg("amplitudes") = py::none(),
        py::kw_only(), py::arg("ctx") = py::none(),
        R"(#qat.fourier<[a_0, ...]>, StableQAT's Fourier surrogate gradient.

amplitudes: a number or a sequence; None (#qat.fourier) means [0.21].
The verifier requires sqrt(2)*pi*sum|a_k| < 1 (a bounded gradient), finite
values and at least one amplitude: violations raise MLIRError.)");
}
