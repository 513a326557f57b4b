//===- UnpackCodes.cpp - Packed 4-bit codes as bytes for wgmma -*- C++ -*-===//
//
// wgmma has no 4-bit integer type, so a qat.matmul on packed codes that
// qat.quantize ops of the same function make reaches the s8 wgmma kernel with
// those codes made one a byte instead (a qat.dequantize of them reads them
// so too): no kernel unpacks anything.
//
//===----------------------------------------------------------------------===//

#include "MatmulKernel.h"

using namespace mlir;
using namespace mlir::qat;

/// `type` with its last dimension doubled: the codes one a byte.
static RankedTensorType getUnpackedType(RankedTensorType type) {
  SmallVector<int64_t> shape(type.getShape());
  shape.back() *= 2;
  return type.clone(shape);
}

/// The codes of `packed`, made by a packed qat.quantize, one a byte.
static Value unpack(RewriterBase &rewriter, Value packed) {
  auto quantize = packed.getDefiningOp<QuantizeOp>();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(quantize);
  auto unpacked = cast<QuantizeOp>(rewriter.clone(*quantize));
  unpacked.setPacked(false);
  unpacked.getResult().setType(getUnpackedType(quantize.getType()));
  // Dequantizing the unpacked codes gives the same values.
  for (Operation *user : llvm::make_early_inc_range(quantize->getUsers()))
    if (auto dequantize = dyn_cast<DequantizeOp>(user))
      rewriter.modifyOpInPlace(dequantize, [&] {
        dequantize.getInputMutable().assign(unpacked);
        dequantize.setPacked(false);
      });
  return unpacked;
}

bool mlir::qat::hasQuantizedPackedCodes(MatmulOp op) {
  auto isMadeByQuantize = [](Value codes) {
    auto quantize = codes.getDefiningOp<QuantizeOp>();
    return quantize && quantize.getPacked();
  };
  return op.getPacked() && isMadeByQuantize(op.getLhs()) &&
         isMadeByQuantize(op.getRhs());
}

MatmulOp mlir::qat::unpackCodes(RewriterBase &rewriter, MatmulOp op) {
  Value packedLhs = op.getLhs(), packedRhs = op.getRhs();
  Value lhs = unpack(rewriter, packedLhs);
  Value rhs = packedRhs == packedLhs ? lhs : unpack(rewriter, packedRhs);
  rewriter.setInsertionPoint(op);
  auto unpacked = MatmulOp::create(rewriter, op.getLoc(), op.getType(), lhs,
                                   rhs, op.getLhsScale(), op.getRhsScale(),
                                   op.getLhsQuantizer(), op.getRhsQuantizer(),
                                   /*packed=*/UnitAttr());
  unpacked->setDiscardableAttrs(op->getDiscardableAttrDictionary());
  rewriter.replaceOp(op, unpacked);
  // A packed qat.quantize whose users all moved to the unpacked codes.
  SmallPtrSet<Operation *, 2> producers;
  for (Value codes : {packedLhs, packedRhs})
    if (auto producer = codes.getDefiningOp<QuantizeOp>())
      producers.insert(producer);
  for (Operation *producer : producers)
    if (producer->use_empty())
      rewriter.eraseOp(producer);
  return unpacked;
}
