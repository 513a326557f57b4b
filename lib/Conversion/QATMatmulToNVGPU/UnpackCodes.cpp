//===- UnpackCodes.cpp - Packed 4-bit codes as bytes for wgmma -*- C++ -*-===//
//
// wgmma has no 4-bit integer type, so a qat.matmul on packed codes reaches
// the s8 wgmma kernel with one code a byte. Codes that a qat.quantize makes
// in the same function are made unpacked instead (its users that read
// packed codes, qat.dequantize, read them unpacked too); other packed codes
// (function arguments, stored weights) are unpacked by an elementwise linalg
// op, a kernel of its own later in the pipeline.
//
//===----------------------------------------------------------------------===//

#include "MatmulKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::qat;

/// `type` with its last dimension doubled: the codes one a byte.
static RankedTensorType getUnpackedType(RankedTensorType type) {
  SmallVector<int64_t> shape(type.getShape());
  shape.back() *= 2;
  return type.clone(shape);
}

/// Elementwise, as a linalg op: byte j of a row holds element 2j in its low
/// nibble and 2j+1 in its high nibble (docs/semantics.md); each nibble is a
/// 4-bit two's complement code, sign-extended to the byte.
static Value unpackWithLinalg(OpBuilder &b, Location loc, Value packed) {
  auto type = cast<RankedTensorType>(packed.getType());
  int64_t rank = type.getRank();
  SmallVector<int64_t> pairShape(type.getShape());
  pairShape.push_back(2);
  SmallVector<Value> dynamicSizes;
  for (int64_t d = 0; d < rank; ++d)
    if (type.isDynamicDim(d))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, packed, d));
  Value init = tensor::EmptyOp::create(b, loc, pairShape, type.getElementType(),
                                       dynamicSizes);
  MLIRContext *context = b.getContext();
  AffineMap pairs = AffineMap::getMultiDimIdentityMap(rank + 1, context);
  AffineMap bytes = pairs.getMajorSubMap(rank);
  SmallVector<utils::IteratorType> iterators(rank + 1,
                                             utils::IteratorType::parallel);
  auto unpack = linalg::GenericOp::create(
      b, loc, init.getType(), ValueRange{packed}, ValueRange{init},
      ArrayRef<AffineMap>{bytes, pairs}, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        Type i8 = args[0].getType();
        Value one = arith::ConstantIntOp::create(nested, nestedLoc, i8, 1);
        Value four = arith::ConstantIntOp::create(nested, nestedLoc, i8, 4);
        // Element 2j + h: shift its nibble to the top, then arithmetically
        // back down (shift left by 4 for the low nibble, by 0 for the high).
        Value h = arith::IndexCastOp::create(
            nested, nestedLoc, i8,
            linalg::IndexOp::create(nested, nestedLoc, rank));
        Value up = arith::MulIOp::create(
            nested, nestedLoc, arith::SubIOp::create(nested, nestedLoc, one, h),
            four);
        Value top = arith::ShLIOp::create(nested, nestedLoc, args[0], up);
        Value code = arith::ShRSIOp::create(nested, nestedLoc, top, four);
        linalg::YieldOp::create(nested, nestedLoc, code);
      });
  SmallVector<ReassociationIndices> rows;
  for (int64_t d = 0; d + 1 < rank; ++d)
    rows.push_back({d});
  rows.push_back({rank - 1, rank});
  return tensor::CollapseShapeOp::create(b, loc, getUnpackedType(type),
                                         unpack.getResult(0), rows);
}

/// The codes of `packed`, an operand of `matmul`, one a byte.
static Value unpack(RewriterBase &rewriter, MatmulOp matmul, Value packed) {
  auto quantize = packed.getDefiningOp<QuantizeOp>();
  if (!quantize || !quantize.getPacked()) {
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPoint(matmul);
    return unpackWithLinalg(rewriter, packed.getLoc(), packed);
  }
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

MatmulOp mlir::qat::unpackCodes(RewriterBase &rewriter, MatmulOp op) {
  Value packedLhs = op.getLhs(), packedRhs = op.getRhs();
  Value lhs = unpack(rewriter, op, packedLhs);
  Value rhs = packedRhs == packedLhs ? lhs : unpack(rewriter, op, packedRhs);
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
