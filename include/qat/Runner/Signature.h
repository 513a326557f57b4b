//===- Signature.h - The entry function qat-run calls -----------*- C++ -*-===//
//
// Finding the entry function of a module and describing its arguments and
// results: element type, shape, and how each crosses the C boundary (a memref
// descriptor, or a scalar passed by value).
//
//===----------------------------------------------------------------------===//

#ifndef QAT_RUNNER_SIGNATURE_H
#define QAT_RUNNER_SIGNATURE_H

#include "qat/Runner/HostTensor.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mlir::qat {

/// Name of the function attribute that keeps the tensor-level signature of a
/// function through lowering: the LLVM dialect loses element types and
/// shapes, and qat-run needs them to run a module it did not lower itself.
constexpr StringLiteral kSignatureAttrName = "qat.signature";

/// One argument or result of the entry function.
struct BoundaryValue {
  /// The type as written: tensor<2x?xf32>, memref<4xi8> or a scalar like f32.
  Type type;
  DType dtype;
  /// Scalars are passed by value; tensors and memrefs as memref descriptors.
  bool isScalar = false;
  /// ShapedType::kDynamic where the signature has '?'; empty for scalars.
  SmallVector<int64_t> shape;

  int64_t getRank() const { return shape.size(); }
};

/// The entry function: its name and its tensor-level signature.
struct EntrySignature {
  std::string name;
  FunctionType type;
  SmallVector<BoundaryValue> args;
  SmallVector<BoundaryValue> results;
};

/// Finds the function to run: `requested` if not empty, else `main`, else the
/// only public function with a body. The error lists the candidates.
llvm::Expected<Operation *> findEntryFunction(ModuleOp module,
                                              StringRef requested);

/// The signature of `entry` (a func.func, or an llvm.func whose signature is
/// taken from `signatureOverride` if not empty, else from its qat.signature
/// attribute). Fails on types that qat-run cannot pass.
llvm::Expected<EntrySignature>
getEntrySignature(Operation *entry, StringRef signatureOverride = "");

/// The LLVM dialect type of the function that the default func-to-llvm
/// lowering (no bare pointers) makes of `signature`: every memref expands to
/// allocated pointer, aligned pointer, offset, sizes and strides; several
/// results are returned as a struct.
Type getLoweredFunctionType(MLIRContext *context,
                            const EntrySignature &signature);

/// "argument 1" / "result 0" with the type, for messages.
std::string describeArg(const EntrySignature &signature, unsigned index);
std::string describeResult(const EntrySignature &signature, unsigned index);

} // namespace mlir::qat

#endif // QAT_RUNNER_SIGNATURE_H
