//===- HostTensor.cpp - Dense arrays on the host for qat-run ----*- C++ -*-===//
//
// Element type queries, 16-bit float conversions and the aligned host array.
//
//===----------------------------------------------------------------------===//

#include "qat/Runner/HostTensor.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace mlir;
using namespace mlir::qat;

std::optional<DType> mlir::qat::getDType(Type type) {
  if (type.isF32())
    return DType::F32;
  if (type.isF64())
    return DType::F64;
  if (type.isF16())
    return DType::F16;
  if (type.isBF16())
    return DType::BF16;
  if (type.isSignlessInteger(1))
    return DType::I1;
  if (type.isSignlessInteger(8))
    return DType::I8;
  if (type.isSignlessInteger(16))
    return DType::I16;
  if (type.isSignlessInteger(32))
    return DType::I32;
  if (type.isSignlessInteger(64))
    return DType::I64;
  return std::nullopt;
}

StringRef mlir::qat::getDTypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "float32";
  case DType::F64:
    return "float64";
  case DType::F16:
    return "float16";
  case DType::BF16:
    return "bfloat16";
  case DType::I1:
    return "bool";
  case DType::I8:
    return "int8";
  case DType::I16:
    return "int16";
  case DType::I32:
    return "int32";
  case DType::I64:
    return "int64";
  }
  llvm_unreachable("unknown dtype");
}

unsigned mlir::qat::getDTypeSize(DType dtype) {
  switch (dtype) {
  case DType::I1:
  case DType::I8:
    return 1;
  case DType::F16:
  case DType::BF16:
  case DType::I16:
    return 2;
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F64:
  case DType::I64:
    return 8;
  }
  llvm_unreachable("unknown dtype");
}

bool mlir::qat::isFloat(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F64 || dtype == DType::F16 ||
         dtype == DType::BF16;
}

// APFloat rounds once from the double, so a value is not double-rounded
// through float on its way to 16 bits.
static uint16_t convertTo16(double value, const llvm::fltSemantics &sem) {
  llvm::APFloat f(value);
  bool losesInfo = false;
  f.convert(sem, llvm::APFloat::rmNearestTiesToEven, &losesInfo);
  return static_cast<uint16_t>(f.bitcastToAPInt().getZExtValue());
}

static float convertFrom16(uint16_t bits, const llvm::fltSemantics &sem) {
  llvm::APFloat f(sem, llvm::APInt(16, bits));
  bool losesInfo = false;
  f.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
            &losesInfo);
  return f.convertToFloat();
}

uint16_t mlir::qat::convertToBF16(double value) {
  return convertTo16(value, llvm::APFloat::BFloat());
}
uint16_t mlir::qat::convertToF16(double value) {
  return convertTo16(value, llvm::APFloat::IEEEhalf());
}
float mlir::qat::convertFromBF16(uint16_t bits) {
  // bf16 is the upper half of a float32.
  uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float result;
  std::memcpy(&result, &wide, sizeof(result));
  return result;
}
float mlir::qat::convertFromF16(uint16_t bits) {
  return convertFrom16(bits, llvm::APFloat::IEEEhalf());
}

std::optional<int64_t> mlir::qat::getNumElements(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t size : shape) {
    if (size < 0)
      return std::nullopt;
    if (size != 0 && n > std::numeric_limits<int64_t>::max() / size)
      return std::nullopt;
    n *= size;
  }
  return n;
}

std::string mlir::qat::formatShape(ArrayRef<int64_t> shape) {
  std::string result;
  llvm::raw_string_ostream os(result);
  os << '(';
  llvm::interleave(shape, os, ", ");
  if (shape.size() == 1)
    os << ',';
  os << ')';
  return result;
}

llvm::Expected<HostTensor> HostTensor::allocate(DType dtype,
                                                ArrayRef<int64_t> shape) {
  std::optional<int64_t> numElements = qat::getNumElements(shape);
  unsigned elementSize = getDTypeSize(dtype);
  // Bounded well below SIZE_MAX so that the rounding below cannot wrap.
  if (!numElements || *numElements > (int64_t(1) << 56) / elementSize)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "an array of shape " + formatShape(shape) +
                                       " of " + getDTypeName(dtype) +
                                       " is too large");
  HostTensor tensor;
  tensor.dtype = dtype;
  tensor.shape.assign(shape.begin(), shape.end());
  tensor.numElements = *numElements;
  // aligned_alloc wants a size that is a multiple of the alignment, and a
  // non-zero one so that every tensor has a distinct, freeable address.
  size_t bytes = llvm::alignTo(std::max<size_t>(tensor.getByteSize(), 1), 64);
  tensor.data.reset(static_cast<char *>(std::aligned_alloc(64, bytes)));
  if (!tensor.data)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "cannot allocate " + Twine(bytes) + " bytes for an array of shape " +
            formatShape(shape) + " of " + getDTypeName(dtype));
  std::memset(tensor.data.get(), 0, bytes);
  return tensor;
}

template <typename T> static T load(const char *data, int64_t i) {
  T value;
  std::memcpy(&value, data + i * sizeof(T), sizeof(T));
  return value;
}

template <typename T> static void store(char *data, int64_t i, T value) {
  std::memcpy(data + i * sizeof(T), &value, sizeof(T));
}

double HostTensor::getAsDouble(int64_t i) const {
  const char *p = data.get();
  switch (dtype) {
  case DType::F32:
    return load<float>(p, i);
  case DType::F64:
    return load<double>(p, i);
  case DType::F16:
    return convertFromF16(load<uint16_t>(p, i));
  case DType::BF16:
    return convertFromBF16(load<uint16_t>(p, i));
  default:
    return static_cast<double>(getAsInt(i));
  }
}

int64_t HostTensor::getAsInt(int64_t i) const {
  const char *p = data.get();
  switch (dtype) {
  case DType::I1:
    return load<uint8_t>(p, i) != 0;
  case DType::I8:
    return load<int8_t>(p, i);
  case DType::I16:
    return load<int16_t>(p, i);
  case DType::I32:
    return load<int32_t>(p, i);
  case DType::I64:
    return load<int64_t>(p, i);
  default:
    return static_cast<int64_t>(getAsDouble(i));
  }
}

void HostTensor::setFromDouble(int64_t i, double value) {
  char *p = data.get();
  switch (dtype) {
  case DType::F32:
    return store<float>(p, i, static_cast<float>(value));
  case DType::F64:
    return store<double>(p, i, value);
  case DType::F16:
    return store<uint16_t>(p, i, convertToF16(value));
  case DType::BF16:
    return store<uint16_t>(p, i, convertToBF16(value));
  default:
    return setFromInt(i, static_cast<int64_t>(value));
  }
}

void HostTensor::setFromInt(int64_t i, int64_t value) {
  char *p = data.get();
  switch (dtype) {
  case DType::I1:
    return store<uint8_t>(p, i, value != 0);
  case DType::I8:
    return store<int8_t>(p, i, static_cast<int8_t>(value));
  case DType::I16:
    return store<int16_t>(p, i, static_cast<int16_t>(value));
  case DType::I32:
    return store<int32_t>(p, i, static_cast<int32_t>(value));
  case DType::I64:
    return store<int64_t>(p, i, value);
  default:
    return setFromDouble(i, static_cast<double>(value));
  }
}
