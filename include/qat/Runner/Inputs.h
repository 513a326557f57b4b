//===- Inputs.h - The data qat-run passes to a function ---------*- C++ -*-===//
//
// Input specifications (a .npy file, or seeded random or constant data) and
// their materialization as host arrays checked against the entry signature.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_RUNNER_INPUTS_H
#define QAT_RUNNER_INPUTS_H

#include "qat/Runner/HostTensor.h"
#include "qat/Runner/Signature.h"

#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace mlir::qat {

/// One --arg value. Syntax:
///   PATH.npy             a NumPy file
///   normal[:MEAN,STD]    Gaussian samples (default 0,1), float types only
///   uniform[:LOW,HIGH]   floats in [LOW, HIGH) (default 0,1), or integers in
///                        the closed range [LOW, HIGH]
///   const:VALUE          every element VALUE (true/false for i1)
///   iota                 0, 1, 2, ... in row-major order
/// A generated input may end in @SHAPE (e.g. normal:0,1@8x16) to size the
/// dynamic dimensions of its argument.
struct InputSpec {
  enum class Kind { File, Normal, Uniform, Const, Iota };
  Kind kind = Kind::File;
  /// The text as given, for messages.
  std::string text;
  std::string path;
  /// normal: mean, std; uniform: low, high; const: value.
  double first = 0, second = 0;
  bool hasParams = false;
  /// The parameters as written: integer arguments read them exactly (a
  /// double cannot hold every int64).
  SmallVector<std::string, 2> paramTexts = {"0", "1"};
  std::optional<SmallVector<int64_t>> shape;
};

/// Parses the text of one --arg.
llvm::Expected<InputSpec> parseInputSpec(StringRef text);

/// The data for argument `index` of `signature`. Files must match the
/// argument's dtype and shape; bf16 arguments read float32 files and f16
/// arguments float16 or float32 files, rounded to nearest even. Random data
/// is drawn from a stream seeded by `seed` and `index`, so changing one
/// argument's spec does not change the data of the others.
llvm::Expected<HostTensor> materializeInput(const InputSpec &spec,
                                            const EntrySignature &signature,
                                            unsigned index, uint64_t seed);

} // namespace mlir::qat

#endif // QAT_RUNNER_INPUTS_H
