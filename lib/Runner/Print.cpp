//===- Print.cpp - numpy-like printing of host arrays -----------*- C++ -*-===//
//
// Shortest round-trip float formatting and numpy's nested layout.
//
//===----------------------------------------------------------------------===//

#include "qat/Runner/Print.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace mlir;
using namespace mlir::qat;

/// Rounds `value` to the precision of `dtype`, to test a printed value.
static double roundToDType(double value, DType dtype) {
  switch (dtype) {
  case DType::F32:
    return static_cast<float>(value);
  case DType::F16:
    return convertFromF16(convertToF16(value));
  case DType::BF16:
    return convertFromBF16(convertToBF16(value));
  default:
    return value;
  }
}

/// Digits that always suffice to round-trip `dtype`: ceil(1 + p*log10(2)).
static int getMaxDigits(DType dtype) {
  switch (dtype) {
  case DType::F64:
    return 17;
  case DType::F32:
    return 9;
  case DType::F16:
    return 5;
  default:
    return 4;
  }
}

static std::string formatFloat(double value, DType dtype,
                               const PrintOptions &options) {
  if (std::isnan(value))
    return "nan";
  if (std::isinf(value))
    return value > 0 ? "inf" : "-inf";
  char buffer[64];
  if (options.fullPrecision) {
    // The shortest %g that reads back to the same value of the type, as
    // numpy and Python print floats.
    for (int digits = 1; digits <= getMaxDigits(dtype); ++digits) {
      std::snprintf(buffer, sizeof(buffer), "%.*g", digits, value);
      if (roundToDType(std::strtod(buffer, nullptr), dtype) == value)
        break;
    }
  } else {
    std::snprintf(buffer, sizeof(buffer), "%.*g",
                  static_cast<int>(options.precision), value);
  }
  std::string text = buffer;
  // Keep floats recognizable as floats: 1.0, not 1.
  if (text.find_first_of(".e") == std::string::npos)
    text += ".0";
  return text;
}

std::string mlir::qat::formatElement(const HostTensor &tensor, int64_t index,
                                     const PrintOptions &options) {
  DType dtype = tensor.getDType();
  if (isFloat(dtype))
    return formatFloat(tensor.getAsDouble(index), dtype, options);
  if (dtype == DType::I1)
    return tensor.getAsInt(index) ? "True" : "False";
  return std::to_string(tensor.getAsInt(index));
}

namespace {
/// numpy's _formatArray: brackets per dimension, rows on their own lines,
/// one blank line more per dimension between higher-rank blocks.
class ArrayPrinter {
public:
  ArrayPrinter(const HostTensor &tensor, const PrintOptions &options)
      : tensor(tensor), options(options), shape(tensor.getShape()) {
    summarize =
        options.threshold > 0 && tensor.getNumElements() > options.threshold;
    strides.assign(shape.size(), 1);
    for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d)
      strides[d] = strides[d + 1] * shape[d + 1];
  }

  void print(llvm::raw_ostream &os) {
    if (shape.empty()) {
      os << formatElement(tensor, 0, options) << "\n";
      return;
    }
    // The first pass only measures the column width.
    visit(nullptr, 0, 0);
    visit(&os, 0, 0);
    os << "\n";
  }

private:
  /// Indices of dimension `dim` to show; -1 stands for the '...'.
  SmallVector<int64_t> getIndices(int64_t dim) const {
    SmallVector<int64_t> indices;
    int64_t size = shape[dim];
    if (summarize && size > 2 * options.edgeItems) {
      for (int64_t i = 0; i < options.edgeItems; ++i)
        indices.push_back(i);
      indices.push_back(-1);
      for (int64_t i = size - options.edgeItems; i < size; ++i)
        indices.push_back(i);
      return indices;
    }
    for (int64_t i = 0; i < size; ++i)
      indices.push_back(i);
    return indices;
  }

  /// Writes `text` (or only measures when `os` is null), tracking the
  /// column for line wrapping.
  void write(llvm::raw_ostream *os, StringRef text) {
    if (!os)
      return;
    *os << text;
    size_t newline = text.rfind('\n');
    column = newline == StringRef::npos ? column + text.size()
                                        : text.size() - newline - 1;
  }

  void visit(llvm::raw_ostream *os, int64_t dim, int64_t base) {
    int64_t rank = shape.size();
    write(os, "[");
    SmallVector<int64_t> indices = getIndices(dim);
    for (auto [position, index] : llvm::enumerate(indices)) {
      if (position > 0) {
        write(os, ",");
        if (dim == rank - 1) {
          // Rows longer than the line wrap under their first element.
          if (column + 1 + width > options.lineWidth)
            write(os, "\n" + std::string(dim + 1, ' '));
          else
            write(os, " ");
        } else {
          write(os,
                std::string(rank - 1 - dim, '\n') + std::string(dim + 1, ' '));
        }
      }
      if (index < 0) {
        write(os, "...");
      } else if (dim == rank - 1) {
        std::string text = formatElement(tensor, base + index, options);
        width = std::max(width, text.size());
        write(os, std::string(width - text.size(), ' ') + text);
      } else {
        visit(os, dim + 1, base + index * strides[dim]);
      }
    }
    write(os, "]");
  }

  const HostTensor &tensor;
  const PrintOptions &options;
  ArrayRef<int64_t> shape;
  SmallVector<int64_t> strides;
  bool summarize = false;
  size_t width = 0;
  size_t column = 0;
};
} // namespace

void mlir::qat::printTensor(llvm::raw_ostream &os, const HostTensor &tensor,
                            const PrintOptions &options) {
  ArrayPrinter(tensor, options).print(os);
}
