//===- UnpackCodes.cpp - Packed 4-bit codes as bytes for wgmma -*- C++ -*-===//
//
// wgmma has no 4-bit integer type, so a qat.matmul on packed codes reaches
// the s8 wgmma kernel with one code a byte. Codes that a qat.quantize of the
// same function makes are made unpacked instead (a qat.dequantize of them
// reads them so too); codes that arrive packed (arguments, stored weights)
// are unpacked by a kernel of their own, 8 bytes in and 16 out a thread, at
// memory speed. (The elementwise pipeline would make a linalg unpacking a
// byte a thread, which costs about what wgmma saves at smaller shapes.)
//
//===----------------------------------------------------------------------===//

#include "MatmulKernel.h"

#include "qat/Dialect/QAT/IR/QuantizerMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::qat;

/// `type` with its last dimension doubled: the codes one a byte.
static RankedTensorType getUnpackedType(RankedTensorType type) {
  SmallVector<int64_t> shape(type.getShape());
  shape.back() *= 2;
  return type.clone(shape);
}

constexpr int64_t kUnpackThreads = 256;

gpu::GPUFuncOp mlir::qat::buildUnpackCodesKernel(OpBuilder &builder,
                                                 Location loc,
                                                 gpu::GPUModuleOp module,
                                                 int64_t kBytes) {
  ImplicitLocOpBuilder b(loc, builder);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  Type i8 = b.getI8Type();
  auto packedType = MemRefType::get({ShapedType::kDynamic, kBytes}, i8);
  auto unpackedType = MemRefType::get({ShapedType::kDynamic, 2 * kBytes}, i8);
  auto func = gpu::GPUFuncOp::create(
      b, "qat_unpack_codes", b.getFunctionType({packedType, unpackedType}, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr(
      {static_cast<int32_t>(kUnpackThreads), int32_t(1), int32_t(1)}));
  Block *entry = &func.getBody().front();
  b.setInsertionPointToStart(entry);
  Value packed = entry->getArgument(0), unpacked = entry->getArgument(1);
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, value);
  };

  // Thread t of the grid takes chunk t of the row-major bytes.
  int64_t chunksPerRow = kBytes / kUnpackChunkBytes;
  Value chunk = arith::AddIOp::create(
      b,
      arith::MulIOp::create(b, gpu::BlockIdOp::create(b, gpu::Dimension::x),
                            index(kUnpackThreads)),
      gpu::ThreadIdOp::create(b, gpu::Dimension::x));
  Value row = arith::DivUIOp::create(b, chunk, index(chunksPerRow));
  auto inBounds = scf::IfOp::create(
      b,
      arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row,
                            memref::DimOp::create(b, packed, 0)),
      /*withElseRegion=*/false);
  b.setInsertionPointToStart(inBounds.thenBlock());
  Value column = arith::MulIOp::create(
      b, arith::RemUIOp::create(b, chunk, index(chunksPerRow)),
      index(kUnpackChunkBytes));
  auto bytesType = VectorType::get({kUnpackChunkBytes}, i8);
  Value bytes = vector::LoadOp::create(
      b, bytesType, packed, ValueRange{row, column},
      /*nontemporal=*/false, llvm::MaybeAlign(kUnpackChunkBytes));
  auto [low, high] = unpackCodePair(b, b.getLoc(), bytes);
  SmallVector<int64_t> interleaved;
  for (int64_t j = 0; j < kUnpackChunkBytes; ++j)
    interleaved.append({j, j + kUnpackChunkBytes});
  Value codes = vector::ShuffleOp::create(b, low, high, interleaved);
  vector::StoreOp::create(
      b, codes, unpacked,
      ValueRange{row, arith::MulIOp::create(b, column, index(2))},
      /*nontemporal=*/false, llvm::MaybeAlign(2 * kUnpackChunkBytes));
  b.setInsertionPointToEnd(entry);
  gpu::ReturnOp::create(b);
  return func;
}

/// The packed qat.quantize that makes `codes`, or null.
static QuantizeOp getPackedProducer(Value codes) {
  auto quantize = codes.getDefiningOp<QuantizeOp>();
  return quantize && quantize.getPacked() ? quantize : QuantizeOp();
}

/// The codes of `quantize` made one a byte; a qat.dequantize of them reads
/// those.
static Value makeUnpacked(RewriterBase &rewriter, QuantizeOp quantize) {
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(quantize);
  auto unpacked = cast<QuantizeOp>(rewriter.clone(*quantize));
  unpacked.setPacked(false);
  unpacked.getResult().setType(getUnpackedType(quantize.getType()));
  for (Operation *user : llvm::make_early_inc_range(quantize->getUsers()))
    if (auto dequantize = dyn_cast<DequantizeOp>(user))
      rewriter.modifyOpInPlace(dequantize, [&] {
        dequantize.getInputMutable().assign(unpacked);
        dequantize.setPacked(false);
      });
  return unpacked;
}

/// `packed`, an operand of `matmul`, unpacked by a launch of `kernel`
/// (buildUnpackCodesKernel) before `matmul`.
static Value launchUnpack(RewriterBase &rewriter, MatmulOp matmul, Value packed,
                          gpu::GPUFuncOp kernel) {
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(matmul);
  auto type = cast<RankedTensorType>(packed.getType());
  ImplicitLocOpBuilder b(matmul.getLoc(), rewriter);
  auto memrefType = [](RankedTensorType t) {
    return MemRefType::get(t.getShape(), t.getElementType());
  };
  Value buffer = bufferization::ToBufferOp::create(b, memrefType(type), packed,
                                                   /*read_only=*/true);
  SmallVector<Value> dynamicRows;
  Value rows = type.isDynamicDim(0)
                   ? Value(memref::DimOp::create(b, buffer, 0))
                   : arith::ConstantIndexOp::create(b, type.getDimSize(0));
  if (type.isDynamicDim(0))
    dynamicRows.push_back(rows);
  RankedTensorType unpackedType = getUnpackedType(type);
  Value result =
      memref::AllocOp::create(b, memrefType(unpackedType), dynamicRows);
  auto argTypes = kernel.getArgumentTypes();
  Value chunks =
      arith::MulIOp::create(b, rows,
                            arith::ConstantIndexOp::create(
                                b, type.getDimSize(1) / kUnpackChunkBytes));
  Value one = arith::ConstantIndexOp::create(b, 1);
  gpu::LaunchFuncOp::create(
      b, kernel,
      gpu::KernelDim3{
          arith::CeilDivUIOp::create(
              b, chunks, arith::ConstantIndexOp::create(b, kUnpackThreads)),
          one, one},
      gpu::KernelDim3{arith::ConstantIndexOp::create(b, kUnpackThreads), one,
                      one},
      /*dynamicSharedMemorySize=*/Value(),
      ValueRange{
          memref::CastOp::create(b, cast<MemRefType>(argTypes[0]), buffer),
          memref::CastOp::create(b, cast<MemRefType>(argTypes[1]), result)});
  // The kernel writes every element of the fresh buffer.
  return bufferization::ToTensorOp::create(b, unpackedType, result,
                                           /*restrict=*/true,
                                           /*writable=*/true);
}

bool mlir::qat::canUnpackCodes(MatmulOp op) {
  return op.getPacked() &&
         ((getPackedProducer(op.getLhs()) && getPackedProducer(op.getRhs())) ||
          op.getLhs().getType().getDimSize(1) % kUnpackChunkBytes == 0);
}

MatmulOp mlir::qat::unpackCodes(RewriterBase &rewriter, MatmulOp op,
                                function_ref<gpu::GPUFuncOp()> getKernel) {
  Value packedLhs = op.getLhs(), packedRhs = op.getRhs();
  auto unpackOperand = [&](Value packed) {
    if (QuantizeOp quantize = getPackedProducer(packed))
      return makeUnpacked(rewriter, quantize);
    return launchUnpack(rewriter, op, packed, getKernel());
  };
  Value lhs = unpackOperand(packedLhs);
  Value rhs = packedRhs == packedLhs ? lhs : unpackOperand(packedRhs);
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
    if (QuantizeOp producer = getPackedProducer(codes))
      producers.insert(producer);
  for (Operation *producer : producers)
    if (producer->use_empty())
      rewriter.eraseOp(producer);
  return unpacked;
}
