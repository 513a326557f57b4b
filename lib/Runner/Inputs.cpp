//===- Inputs.cpp - The data qat-run passes to a function -------*- C++ -*-===//
//
// Parsing of --arg values and their conversion to host arrays.
//
//===----------------------------------------------------------------------===//

#include "qat/Runner/Inputs.h"

#include "qat/Runner/NumPy.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"

#include <cmath>
#include <cstring>
#include <random>

using namespace mlir;
using namespace mlir::qat;
using llvm::createStringError;
using llvm::inconvertibleErrorCode;

static llvm::Error makeError(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message);
}

static constexpr StringLiteral kSyntax =
    "an --arg is a .npy file, or normal[:MEAN,STD], uniform[:LOW,HIGH], "
    "const:VALUE or iota, optionally followed by @SHAPE (e.g. @4x8)";

static llvm::Error specError(StringRef text, const Twine &why) {
  return makeError("bad --arg '" + text + "': " + why + "; " + kSyntax);
}

static std::optional<InputSpec::Kind> getGeneratedKind(StringRef word) {
  return llvm::StringSwitch<std::optional<InputSpec::Kind>>(word)
      .Case("normal", InputSpec::Kind::Normal)
      .Case("uniform", InputSpec::Kind::Uniform)
      .Case("const", InputSpec::Kind::Const)
      .Case("iota", InputSpec::Kind::Iota)
      .Default(std::nullopt);
}

static bool parseNumber(StringRef text, double &value) {
  text = text.trim();
  if (text == "true") {
    value = 1;
    return true;
  }
  if (text == "false") {
    value = 0;
    return true;
  }
  return !text.empty() && !text.getAsDouble(value);
}

llvm::Expected<InputSpec> mlir::qat::parseInputSpec(StringRef text) {
  InputSpec spec;
  spec.text = text.str();
  size_t wordEnd = text.find_first_of(":@");
  StringRef word = text.take_front(wordEnd);
  std::optional<InputSpec::Kind> kind = getGeneratedKind(word);
  if (!kind) {
    // Anything else is a path, unless it looks like a misspelt generator
    // ("normall:0,1") and no such file exists.
    bool looksLikeSpec =
        wordEnd != StringRef::npos && text[wordEnd] == ':' && !word.empty() &&
        llvm::all_of(word, [](char c) { return llvm::isAlpha(c) || c == '_'; });
    if (looksLikeSpec && !llvm::sys::fs::exists(text))
      return specError(text, "unknown kind '" + word + "'");
    if (text.empty())
      return specError(text, "empty value");
    spec.path = text.str();
    return spec;
  }
  spec.kind = *kind;

  StringRef rest = text.drop_front(word.size());
  StringRef params, shape;
  bool hasShape = false;
  if (size_t at = rest.find('@'); at != StringRef::npos) {
    shape = rest.drop_front(at + 1);
    rest = rest.take_front(at);
    hasShape = true;
  }
  if (rest.consume_front(":")) {
    params = rest;
    spec.hasParams = true;
  } else if (!rest.empty()) {
    return specError(text, "expected ':' or '@' after '" + word + "'");
  }

  SmallVector<StringRef> fields;
  if (spec.hasParams)
    params.split(fields, ',');
  unsigned expected = 0;
  switch (spec.kind) {
  case InputSpec::Kind::Normal:
  case InputSpec::Kind::Uniform:
    expected = 2;
    if (!spec.hasParams) {
      spec.first = 0;
      spec.second = 1;
    }
    break;
  case InputSpec::Kind::Const:
    expected = 1;
    if (!spec.hasParams)
      return specError(text, "const needs a value, e.g. const:0.5");
    break;
  case InputSpec::Kind::Iota:
    if (spec.hasParams)
      return specError(text, "iota takes no parameters");
    break;
  case InputSpec::Kind::File:
    break;
  }
  if (spec.hasParams) {
    if (fields.size() != expected)
      return specError(text, word + " takes " + Twine(expected) +
                                 (expected == 1 ? " number" : " numbers") +
                                 ", got " + Twine(fields.size()));
    double *slots[] = {&spec.first, &spec.second};
    spec.paramTexts.clear();
    for (auto [i, field] : llvm::enumerate(fields)) {
      if (!parseNumber(field, *slots[i]))
        return specError(text, "'" + field.trim() + "' is not a number");
      spec.paramTexts.push_back(field.trim().str());
    }
  }
  if (spec.kind == InputSpec::Kind::Normal &&
      (!std::isfinite(spec.first) || !std::isfinite(spec.second) ||
       spec.second < 0))
    return specError(text, "normal needs a finite MEAN and a finite STD >= 0");
  if (spec.kind == InputSpec::Kind::Uniform &&
      (!std::isfinite(spec.first) || !std::isfinite(spec.second) ||
       spec.first > spec.second))
    return specError(text, "uniform needs finite LOW <= HIGH");

  if (hasShape) {
    SmallVector<int64_t> sizes;
    SmallVector<StringRef> dims;
    if (shape.empty())
      return specError(text, "empty shape after '@'");
    shape.split(dims, 'x');
    for (StringRef dim : dims) {
      int64_t size;
      if (dim.getAsInteger(10, size) || size < 0)
        return specError(text, "bad size '" + dim + "' in shape '" + shape +
                                   "' (sizes are integers >= 0 joined by "
                                   "'x')");
      sizes.push_back(size);
    }
    spec.shape = std::move(sizes);
  }
  return spec;
}

/// Numpy's spelling of the conversion that makes a file fit `dtype`.
static std::string getAstypeHint(DType dtype) {
  if (dtype == DType::BF16)
    return "np.float32";
  if (dtype == DType::I1)
    return "bool";
  return ("np." + getDTypeName(dtype)).str();
}

static llvm::Expected<HostTensor> readFileInput(const InputSpec &spec,
                                                const EntrySignature &signature,
                                                unsigned index) {
  const BoundaryValue &arg = signature.args[index];
  auto arrayOrErr = readNpy(spec.path);
  if (!arrayOrErr)
    return makeError(describeArg(signature, index) + ": " +
                     llvm::toString(arrayOrErr.takeError()));
  NpyArray &array = *arrayOrErr;

  // Only the lossless or documented conversions: numpy has no bfloat16, and
  // float16 data usually comes from float32 computations.
  bool fromF32 = array.dtype == DType::F32 &&
                 (arg.dtype == DType::BF16 || arg.dtype == DType::F16);
  if (array.dtype != arg.dtype && !fromF32) {
    std::string expected = (getDTypeName(arg.dtype) + " data").str();
    if (arg.dtype == DType::BF16)
      expected = "float32 data (rounded to bfloat16, nearest even)";
    if (arg.dtype == DType::F16)
      expected = "float16 or float32 data";
    return makeError("dtype mismatch: " + describeArg(signature, index) +
                     " expects " + expected + ", but '" + spec.path +
                     "' holds " + getDTypeName(array.dtype) +
                     "; convert it with a.astype(" + getAstypeHint(arg.dtype) +
                     ")");
  }

  bool shapeMatches = array.shape.size() == arg.shape.size();
  for (auto [expected, actual] : llvm::zip(arg.shape, array.shape))
    shapeMatches &= ShapedType::isDynamic(expected) || expected == actual;
  if (!shapeMatches)
    return makeError(
        "shape mismatch: " + describeArg(signature, index) + " has shape " +
        formatShape(llvm::to_vector(
            llvm::map_range(arg.shape,
                            [](int64_t s) {
                              return ShapedType::isDynamic(s) ? int64_t(-1) : s;
                            }))) +
        (llvm::any_of(arg.shape, ShapedType::isDynamic) ? " (-1: any size)"
                                                        : "") +
        ", but '" + spec.path + "' holds shape " + formatShape(array.shape));

  auto tensorOrErr = HostTensor::allocate(arg.dtype, array.shape);
  if (!tensorOrErr)
    return makeError(describeArg(signature, index) + ": " +
                     llvm::toString(tensorOrErr.takeError()));
  HostTensor &tensor = *tensorOrErr;
  if (array.dtype == arg.dtype) {
    std::memcpy(tensor.getData(), array.data.data(), array.data.size());
    // Any non-zero byte is true to numpy; compiled code expects 0 or 1.
    if (arg.dtype == DType::I1)
      for (int64_t i = 0, e = tensor.getNumElements(); i < e; ++i)
        tensor.setFromInt(i, tensor.getData()[i] != 0);
    return std::move(tensor);
  }
  for (int64_t i = 0, e = tensor.getNumElements(); i < e; ++i) {
    float value;
    std::memcpy(&value, array.data.data() + i * sizeof(float), sizeof(float));
    tensor.setFromDouble(i, value);
  }
  return std::move(tensor);
}

/// The integer range of `dtype`; bool is [0, 1].
static std::pair<int64_t, int64_t> getIntRange(DType dtype) {
  switch (dtype) {
  case DType::I1:
    return {0, 1};
  case DType::I8:
    return {INT8_MIN, INT8_MAX};
  case DType::I16:
    return {INT16_MIN, INT16_MAX};
  case DType::I32:
    return {INT32_MIN, INT32_MAX};
  default:
    return {INT64_MIN, INT64_MAX};
  }
}

/// Parameter `index` of `spec` as an integer of `dtype`, read from its text
/// so that every int64 is exact; a float spelling must be integral.
static llvm::Expected<int64_t> getIntParam(const InputSpec &spec,
                                           unsigned index, DType dtype,
                                           const std::string &what) {
  auto [low, high] = getIntRange(dtype);
  StringRef text = spec.paramTexts[index];
  double value = index == 0 ? spec.first : spec.second;
  int64_t integer;
  bool exact = !text.getAsInteger(10, integer);
  if (!exact) {
    exact = text == "true" || text == "false" ||
            (std::isfinite(value) && std::trunc(value) == value &&
             std::fabs(value) < 0x1p63);
    integer = static_cast<int64_t>(exact ? value : 0);
  }
  if (!exact || integer < low || integer > high)
    return makeError("bad --arg '" + spec.text + "' for " + what + ": '" +
                     text + "' is not a " + getDTypeName(dtype) +
                     " value (integers in [" + Twine(low) + ", " + Twine(high) +
                     "])");
  return integer;
}

/// Deterministic samplers over mt19937_64, whose output sequence the C++
/// standard fixes, so a seed gives the same data on every platform (the
/// std:: distributions are implementation-defined).
namespace {
class Sampler {
public:
  explicit Sampler(uint64_t seed) : engine(seed) {}
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return (engine() >> 11) * 0x1.0p-53; }
  /// Box-Muller; the second value of each pair is kept for the next call.
  double normal() {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    double u1 = 1.0 - uniform(), u2 = uniform();
    double radius = std::sqrt(-2.0 * std::log(u1));
    spare = radius * std::sin(2.0 * M_PI * u2);
    hasSpare = true;
    return radius * std::cos(2.0 * M_PI * u2);
  }
  /// Uniform integer in [low, high], without modulo bias.
  int64_t integer(int64_t low, int64_t high) {
    uint64_t span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
    if (span == UINT64_MAX)
      return static_cast<int64_t>(engine());
    uint64_t range = span + 1;
    uint64_t limit = UINT64_MAX - UINT64_MAX % range;
    uint64_t x;
    do
      x = engine();
    while (x >= limit);
    return static_cast<int64_t>(static_cast<uint64_t>(low) + x % range);
  }

private:
  std::mt19937_64 engine;
  double spare = 0;
  bool hasSpare = false;
};

/// splitmix64: decorrelates the per-argument seeds derived from one --seed.
uint64_t mixSeed(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
} // namespace

static llvm::Expected<HostTensor> generateInput(const InputSpec &spec,
                                                const EntrySignature &signature,
                                                unsigned index, uint64_t seed) {
  const BoundaryValue &arg = signature.args[index];
  std::string what = describeArg(signature, index);

  SmallVector<int64_t> shape(arg.shape.begin(), arg.shape.end());
  if (spec.shape) {
    bool matches = spec.shape->size() == shape.size();
    for (auto [expected, given] : llvm::zip(shape, *spec.shape))
      matches &= ShapedType::isDynamic(expected) || expected == given;
    if (!matches)
      return makeError("shape mismatch: --arg '" + spec.text +
                       "' gives shape " + formatShape(*spec.shape) + " to " +
                       what);
    shape = *spec.shape;
  } else if (llvm::any_of(shape, ShapedType::isDynamic)) {
    return makeError(
        what +
        " has dynamic sizes; give the shape of the generated "
        "data, e.g. --arg='" +
        spec.text + "@" +
        llvm::join(llvm::map_range(shape,
                                   [](int64_t s) {
                                     return std::to_string(
                                         ShapedType::isDynamic(s) ? 8 : s);
                                   }),
                   "x") +
        "', or pass a .npy file");
  }

  auto tensorOrErr = HostTensor::allocate(arg.dtype, shape);
  if (!tensorOrErr)
    return makeError(what + ": " + llvm::toString(tensorOrErr.takeError()));
  HostTensor &tensor = *tensorOrErr;
  int64_t n = tensor.getNumElements();
  Sampler sampler(mixSeed(seed ^ mixSeed(index)));
  bool isInt = !isFloat(arg.dtype);
  switch (spec.kind) {
  case InputSpec::Kind::Normal:
    if (isInt)
      return makeError("bad --arg '" + spec.text + "' for " + what +
                       ": normal draws floats; use uniform:LOW,HIGH for "
                       "integers in [LOW, HIGH]");
    for (int64_t i = 0; i < n; ++i)
      tensor.setFromDouble(i, spec.first + spec.second * sampler.normal());
    break;
  case InputSpec::Kind::Uniform:
    if (isInt) {
      if (!spec.hasParams && arg.dtype != DType::I1)
        return makeError("bad --arg '" + spec.text + "' for " + what +
                         ": give the integer range, e.g. uniform:-8,7");
      auto low = getIntParam(spec, 0, arg.dtype, what);
      if (!low)
        return low.takeError();
      auto high = getIntParam(spec, 1, arg.dtype, what);
      if (!high)
        return high.takeError();
      if (*low > *high)
        return makeError("bad --arg '" + spec.text + "' for " + what +
                         ": LOW > HIGH");
      for (int64_t i = 0; i < n; ++i)
        tensor.setFromInt(i, sampler.integer(*low, *high));
      break;
    }
    for (int64_t i = 0; i < n; ++i)
      tensor.setFromDouble(i, spec.first + (spec.second - spec.first) *
                                               sampler.uniform());
    break;
  case InputSpec::Kind::Const:
    if (isInt) {
      auto value = getIntParam(spec, 0, arg.dtype, what);
      if (!value)
        return value.takeError();
      for (int64_t i = 0; i < n; ++i)
        tensor.setFromInt(i, *value);
      break;
    }
    for (int64_t i = 0; i < n; ++i)
      tensor.setFromDouble(i, spec.first);
    break;
  case InputSpec::Kind::Iota:
    for (int64_t i = 0; i < n; ++i) {
      if (arg.dtype == DType::I1)
        tensor.setFromInt(i, i & 1);
      else if (isInt)
        tensor.setFromInt(i, i);
      else
        tensor.setFromDouble(i, static_cast<double>(i));
    }
    break;
  case InputSpec::Kind::File:
    llvm_unreachable("files are read, not generated");
  }
  return std::move(tensor);
}

llvm::Expected<HostTensor>
mlir::qat::materializeInput(const InputSpec &spec,
                            const EntrySignature &signature, unsigned index,
                            uint64_t seed) {
  if (spec.kind == InputSpec::Kind::File)
    return readFileInput(spec, signature, index);
  return generateInput(spec, signature, index, seed);
}
