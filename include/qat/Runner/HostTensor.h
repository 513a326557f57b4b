//===- HostTensor.h - Dense arrays on the host for qat-run ------*- C++ -*-===//
//
// The element types qat-run supports and a contiguous, row-major, aligned
// host array: what .npy files and random specs are read into, what a compiled
// function's arguments point at and what its results are copied into.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_RUNNER_HOSTTENSOR_H
#define QAT_RUNNER_HOSTTENSOR_H

#include "mlir/IR/Types.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>

namespace mlir::qat {

/// Element types that cross the boundary between qat-run (or a C program)
/// and compiled code. Integers are signless in MLIR; qat-run reads and prints
/// them as signed, like numpy's int8 ... int64.
enum class DType { F32, F64, F16, BF16, I1, I8, I16, I32, I64 };

/// The element type of `type`, or nullopt if it is none of the above.
std::optional<DType> getDType(Type type);
/// numpy's name of the type ("float32", "int8", "bool"); "bfloat16" for bf16.
StringRef getDTypeName(DType dtype);
/// Bytes per element in memory: i1 takes a byte, as in LLVM and numpy.
unsigned getDTypeSize(DType dtype);
bool isFloat(DType dtype);

/// IEEE round-to-nearest-even narrowing, as numpy's astype does for float16
/// and ml_dtypes for bfloat16.
uint16_t convertToBF16(double value);
uint16_t convertToF16(double value);
/// Exact widening of the 16-bit float formats.
float convertFromBF16(uint16_t bits);
float convertFromF16(uint16_t bits);

/// Product of the sizes, or nullopt on overflow (a corrupt .npy shape).
std::optional<int64_t> getNumElements(ArrayRef<int64_t> shape);

/// A dense row-major array owning 64-byte aligned storage, so that compiled
/// code may use aligned vector loads on it.
class HostTensor {
public:
  HostTensor() = default;
  /// Zero-initialized storage for `shape`; fails if the size overflows or
  /// the memory cannot be had (a typo in @SHAPE should not abort).
  static llvm::Expected<HostTensor> allocate(DType dtype,
                                             ArrayRef<int64_t> shape);

  DType getDType() const { return dtype; }
  ArrayRef<int64_t> getShape() const { return shape; }
  int64_t getRank() const { return shape.size(); }
  int64_t getNumElements() const { return numElements; }
  size_t getByteSize() const { return numElements * getDTypeSize(dtype); }
  char *getData() { return data.get(); }
  const char *getData() const { return data.get(); }

  /// Element `i` (row-major) as a double; exact for every type but i64
  /// values beyond 2^53.
  double getAsDouble(int64_t i) const;
  /// Element `i` as an integer (integer and bool types only).
  int64_t getAsInt(int64_t i) const;
  /// Stores `value` at `i`, rounding to the element type (16-bit floats:
  /// nearest even; integers: truncation of an integral value).
  void setFromDouble(int64_t i, double value);
  void setFromInt(int64_t i, int64_t value);

private:
  struct FreeDeleter {
    void operator()(char *ptr) const { std::free(ptr); }
  };

  DType dtype = DType::F32;
  SmallVector<int64_t> shape;
  int64_t numElements = 0;
  std::unique_ptr<char, FreeDeleter> data;
};

/// "(2, 3)", "(4,)", "()": how numpy writes a shape.
std::string formatShape(ArrayRef<int64_t> shape);

} // namespace mlir::qat

#endif // QAT_RUNNER_HOSTTENSOR_H
