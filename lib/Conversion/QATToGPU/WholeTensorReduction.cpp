//===- WholeTensorReduction.cpp - Reductions over whole tensors -*- C++ -*-===//
//
// The launches that per_tensor quantizers need: a reduction of every element
// of a tensor (sum of squares, largest magnitude, sum) to one value, and the
// host-side buffer plumbing shared with the row kernels.
//
//===----------------------------------------------------------------------===//

#include "RowwiseFusion.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::qat;

//===----------------------------------------------------------------------===//
// Host-side helpers
//===----------------------------------------------------------------------===//

Value mlir::qat::toReadOnlyBuffer(ImplicitLocOpBuilder &b, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  return bufferization::ToBufferOp::create(
      b, MemRefType::get(type.getShape(), type.getElementType()), tensor,
      /*read_only=*/true);
}

Value mlir::qat::viewAsRows(ImplicitLocOpBuilder &b, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  int64_t rank = type.getRank();
  if (rank == 2)
    return buffer;
  if (rank == 1)
    return memref::ExpandShapeOp::create(
        b, MemRefType::get({1, type.getDimSize(0)}, type.getElementType()),
        buffer, ArrayRef<ReassociationIndices>{{0, 1}});
  ReassociationIndices leading;
  for (int64_t dim = 0; dim < rank - 1; ++dim)
    leading.push_back(dim);
  return memref::CollapseShapeOp::create(
      b, buffer, ArrayRef<ReassociationIndices>{leading, {rank - 1}});
}

Value mlir::qat::viewAsFlat(ImplicitLocOpBuilder &b, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  if (type.getRank() == 1)
    return buffer;
  ReassociationIndices all;
  for (int64_t dim = 0; dim < type.getRank(); ++dim)
    all.push_back(dim);
  return memref::CollapseShapeOp::create(b, buffer,
                                         ArrayRef<ReassociationIndices>{all});
}

Value mlir::qat::allocBufferFor(ImplicitLocOpBuilder &b, RankedTensorType type,
                                Value like) {
  SmallVector<Value> sizes;
  for (auto [dim, size] : llvm::enumerate(type.getShape()))
    if (ShapedType::isDynamic(size))
      sizes.push_back(memref::DimOp::create(b, like, dim));
  return memref::AllocOp::create(
      b, MemRefType::get(type.getShape(), type.getElementType()), sizes);
}

Value mlir::qat::toTensor(ImplicitLocOpBuilder &b, Value buffer,
                          RankedTensorType type) {
  // restrict: no other tensor aliases the fresh allocation; writable: later
  // in-place bufferization may reuse it.
  return bufferization::ToTensorOp::create(b, type, buffer, b.getUnitAttr(),
                                           b.getUnitAttr());
}

gpu::LaunchOp mlir::qat::createLaunch(ImplicitLocOpBuilder &b, int64_t blocks,
                                      int64_t threadsX, int64_t threadsY,
                                      int64_t sharedFloats) {
  return createLaunch(b, arith::ConstantIndexOp::create(b, blocks), threadsX,
                      threadsY, sharedFloats);
}

gpu::LaunchOp mlir::qat::createLaunch(ImplicitLocOpBuilder &b, Value blocks,
                                      int64_t threadsX, int64_t threadsY,
                                      int64_t sharedFloats) {
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, value);
  };
  Value one = index(1);
  Value sharedBytes;
  if (sharedFloats > 0)
    sharedBytes =
        arith::ConstantIntOp::create(b, b.getI32Type(), sharedFloats * 4);
  auto launch = gpu::LaunchOp::create(b, blocks, one, one, index(threadsX),
                                      index(threadsY), one, sharedBytes);
  b.setInsertionPointToStart(&launch.getBody().front());
  gpu::TerminatorOp::create(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  return launch;
}

Value mlir::qat::getSharedFloats(ImplicitLocOpBuilder &b,
                                 int64_t sharedFloats) {
  Attribute workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  Value bytes = gpu::DynamicSharedMemoryOp::create(
      b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                         MemRefLayoutAttrInterface(), workgroup));
  return memref::ViewOp::create(
      b,
      MemRefType::get({sharedFloats}, b.getF32Type(),
                      MemRefLayoutAttrInterface(), workgroup),
      bytes, arith::ConstantIndexOp::create(b, 0), ValueRange());
}

void mlir::qat::lowerSubgroupReductions(Operation *launch) {
  RewritePatternSet patterns(launch->getContext());
  populateGpuLowerSubgroupReduceToShufflePatterns(patterns, kWarpThreads);
  populateGpuLowerClusteredSubgroupReduceToShufflePatterns(patterns,
                                                           kWarpThreads);
  // The greedy driver also folds the unrolled body and uniques its
  // constants (at the top of the launch body, see
  // registerGPULaunchConstantMaterialization), which keeps the emitted IR
  // readable.
  (void)applyPatternsGreedily(launch, std::move(patterns));
}

//===----------------------------------------------------------------------===//
// Whole-tensor reductions
//===----------------------------------------------------------------------===//

namespace {

/// Threads per CTA of the reduction kernels: 8 warps, a common choice for
/// streaming reductions (enough loads in flight per SM with several CTAs
/// resident, a cheap final combine of 8 warp totals).
constexpr int64_t kReductionThreads = 256;
/// Chunks each thread reduces before the work is split over more CTAs.
constexpr int64_t kReductionChunksPerThread = 8;
/// At most this many partial results (the second launch reads them all).
constexpr int64_t kMaxReductionBlocks = 1024;

enum class ElementTransform { Square, Abs, Identity };

/// A count of a reduction launch: a constant (built where it is used, inside
/// the launch body), or an index computed on the host (dynamic rows).
struct Extent {
  int64_t count = 0;
  Value dynamic;

  Value build(ImplicitLocOpBuilder &b) const {
    return dynamic ? dynamic : arith::ConstantIndexOp::create(b, count);
  }
};

/// One reduction launch over `chunks` vectors of `width` elements of the
/// 1-D buffer `input` with `blocks` CTAs: CTA p reduces chunks p*256 + t,
/// stepping by `stride` = blocks*256 (coalesced), the warps combine by a
/// subgroup reduction and 8 shared-memory slots, and thread 0 hands the
/// CTA's total to `finish`. Every thread sums its chunks in a fixed order
/// and the tree is fixed, so results do not vary between runs.
void emitReductionLaunch(
    ImplicitLocOpBuilder &b, Value input, int64_t width, Extent chunks,
    ElementTransform transform, bool maximum, Extent blocks, Extent stride,
    function_ref<void(ImplicitLocOpBuilder &, Value, Value)> finish) {
  auto type = cast<MemRefType>(input.getType());
  Type element = type.getElementType();
  int64_t bytes = element.getIntOrFloatBitWidth() / 8;
  auto vectorType = VectorType::get({width}, element);
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, value);
  };
  auto combine = [&](ImplicitLocOpBuilder &builder, Value lhs,
                     Value rhs) -> Value {
    if (maximum)
      return arith::MaximumFOp::create(builder, lhs, rhs);
    return arith::AddFOp::create(builder, lhs, rhs);
  };

  int64_t warps = kReductionThreads / kWarpThreads;
  OpBuilder::InsertPoint host = b.saveInsertionPoint();
  gpu::LaunchOp launch =
      blocks.dynamic ? createLaunch(b, blocks.dynamic, kReductionThreads, 1,
                                    /*sharedFloats=*/warps)
                     : createLaunch(b, blocks.count, kReductionThreads, 1,
                                    /*sharedFloats=*/warps);
  {
    Value tx = launch.getThreadIds().x;
    Value bx = launch.getBlockIds().x;
    Value slots = getSharedFloats(b, warps);
    Value start = arith::AddIOp::create(
        b, arith::MulIOp::create(b, bx, index(kReductionThreads)), tx);
    Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f));
    auto loop = scf::ForOp::create(
        b, start, chunks.build(b), stride.build(b), ValueRange{zero},
        [&](OpBuilder &nested, Location loc, Value c, ValueRange iterArgs) {
          ImplicitLocOpBuilder inner(loc, nested);
          Value column = arith::MulIOp::create(
              inner, c, arith::ConstantIndexOp::create(inner, width));
          Value vector = vector::LoadOp::create(
              inner, vectorType, input, ValueRange{column},
              /*nontemporal=*/false,
              llvm::MaybeAlign(std::min<int64_t>(width * bytes, 16)));
          Value accumulator = iterArgs[0];
          for (int64_t l = 0; l < width; ++l) {
            Value value = vector::ExtractOp::create(inner, vector, l);
            if (!element.isF32())
              value = arith::ExtFOp::create(inner, inner.getF32Type(), value);
            if (transform == ElementTransform::Square)
              value = arith::MulFOp::create(inner, value, value);
            else if (transform == ElementTransform::Abs)
              value = math::AbsFOp::create(inner, value);
            accumulator = combine(inner, accumulator, value);
          }
          scf::YieldOp::create(inner, accumulator);
        });
    Value warpTotal = gpu::SubgroupReduceOp::create(
        b, loop.getResult(0),
        maximum ? gpu::AllReduceOperation::MAXIMUMF
                : gpu::AllReduceOperation::ADD,
        /*uniform=*/true);
    Value warp = arith::DivUIOp::create(b, tx, index(kWarpThreads));
    Value lane = arith::RemUIOp::create(b, tx, index(kWarpThreads));
    Value leader =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, index(0));
    auto storeIf = scf::IfOp::create(b, leader, /*withElseRegion=*/false);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPoint(storeIf.thenBlock()->getTerminator());
      memref::StoreOp::create(b, warpTotal, slots, ValueRange{warp});
    }
    gpu::BarrierOp::create(b);
    Value first =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tx, index(0));
    auto finishIf = scf::IfOp::create(b, first, /*withElseRegion=*/false);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPoint(finishIf.thenBlock()->getTerminator());
      Value total;
      for (int64_t w = 0; w < warps; ++w) {
        Value slot = memref::LoadOp::create(b, slots, ValueRange{index(w)});
        total = total ? combine(b, total, slot) : slot;
      }
      finish(b, bx, total);
    }
  }
  b.restoreInsertionPoint(host);
  lowerSubgroupReductions(launch);
}

} // namespace

/// The number of CTAs of the first launch for `chunks` vectors: enough for
/// kReductionChunksPerThread a thread, at most kMaxReductionBlocks.
static int64_t getReductionBlocks(int64_t chunks) {
  return std::clamp<int64_t>(
      llvm::divideCeil(chunks, kReductionThreads * kReductionChunksPerThread),
      1, kMaxReductionBlocks);
}

void mlir::qat::emitWholeTensorReduction(
    ImplicitLocOpBuilder &b, Value input, TensorReductionKind kind,
    function_ref<Value(ImplicitLocOpBuilder &, Value)> epilogue, Value output,
    int64_t rowLength) {
  auto type = cast<MemRefType>(input.getType());
  int64_t bytes = type.getElementType().getIntOrFloatBitWidth() / 8;
  bool dynamic = type.isDynamicDim(0);
  assert((!dynamic || rowLength > 0) &&
         "a dynamic reduction needs the static row length");
  // Dynamic rows: every vector lies within a row of the static length.
  int64_t width =
      getVectorWidth(16 / bytes, {dynamic ? rowLength : type.getNumElements()});
  ElementTransform transform =
      kind == TensorReductionKind::SumOfSquares ? ElementTransform::Square
      : kind == TensorReductionKind::AbsMax     ? ElementTransform::Abs
                                                : ElementTransform::Identity;
  bool maximum = kind == TensorReductionKind::AbsMax;
  Type resultType = cast<MemRefType>(output.getType()).getElementType();
  auto storeResult = [&](ImplicitLocOpBuilder &nested, Value, Value total) {
    Value result = epilogue(nested, total);
    if (resultType != result.getType())
      result = arith::TruncFOp::create(nested, resultType, result);
    Value zero = arith::ConstantIndexOp::create(nested, 0);
    memref::StoreOp::create(nested, result, output, ValueRange{zero});
  };
  auto storePartial = [](Value partials) {
    return [partials](ImplicitLocOpBuilder &nested, Value block, Value total) {
      memref::StoreOp::create(nested, total, partials, ValueRange{block});
    };
  };
  Extent one{1, {}}, oneStride{kReductionThreads, {}};

  if (dynamic) {
    // The counts on the host, from the buffer's size: chunks = N / width,
    // blocks = clamp(ceil(chunks / 2048), 1, 1024). Always two launches
    // (the second one reduces `blocks` partials, perhaps one), so that the
    // code does not depend on N; no rows reduce nothing, and the epilogue
    // sees the empty total (0).
    auto index = [&](int64_t value) -> Value {
      return arith::ConstantIndexOp::create(b, value);
    };
    Value elements = memref::DimOp::create(b, input, 0);
    Value chunks = arith::DivUIOp::create(b, elements, index(width));
    Value blocks = arith::MinUIOp::create(
        b,
        arith::MaxUIOp::create(
            b,
            arith::CeilDivUIOp::create(
                b, chunks,
                index(kReductionThreads * kReductionChunksPerThread)),
            index(1)),
        index(kMaxReductionBlocks));
    Value stride = arith::MulIOp::create(b, blocks, index(kReductionThreads));
    Value partials = memref::AllocOp::create(
        b, MemRefType::get({kMaxReductionBlocks}, b.getF32Type()));
    emitReductionLaunch(b, input, width, {0, chunks}, transform, maximum,
                        {0, blocks}, {0, stride}, storePartial(partials));
    emitReductionLaunch(b, partials, 1, {0, blocks}, ElementTransform::Identity,
                        maximum, one, oneStride, storeResult);
    return;
  }

  int64_t chunks = type.getNumElements() / width;
  int64_t blocks = getReductionBlocks(chunks);
  Extent stride{blocks * kReductionThreads, {}};
  if (blocks == 1) {
    emitReductionLaunch(b, input, width, {chunks, {}}, transform, maximum, one,
                        stride, storeResult);
    return;
  }
  // More than one CTA: per-CTA partials, then one CTA combines them (a
  // grid-wide barrier would need a cooperative launch).
  Value partials =
      memref::AllocOp::create(b, MemRefType::get({blocks}, b.getF32Type()));
  emitReductionLaunch(b, input, width, {chunks, {}}, transform, maximum,
                      {blocks, {}}, stride, storePartial(partials));
  int64_t partialWidth = getVectorWidth(4, {blocks});
  emitReductionLaunch(b, partials, partialWidth, {blocks / partialWidth, {}},
                      ElementTransform::Identity, maximum, one, oneStride,
                      storeResult);
}

/// The element count of a whole-tensor statistic: the constant, or max(N, 1)
/// of the flat buffer's N in f32, computed on the host (no rows: the
/// statistics of an all-zero tensor, not 0/0).
static GroupLength getWholeTensorLength(ImplicitLocOpBuilder &b, Value flat) {
  auto type = cast<MemRefType>(flat.getType());
  if (!type.isDynamicDim(0))
    return std::max<int64_t>(type.getNumElements(), 1);
  return GroupLength(emitNonZeroCount(b, flat));
}

Value mlir::qat::emitNonZeroCount(ImplicitLocOpBuilder &b, Value flat) {
  Value elements = arith::MaxUIOp::create(b, memref::DimOp::create(b, flat, 0),
                                          arith::ConstantIndexOp::create(b, 1));
  return arith::UIToFPOp::create(
      b, b.getF32Type(),
      arith::IndexCastUIOp::create(b, b.getI64Type(), elements));
}

Value mlir::qat::emitWholeTensorScale(ImplicitLocOpBuilder &b, ScaleOp op) {
  QuantizerAttr quantizer = op.getQuantizer();
  RankedTensorType inputType = op.getInput().getType();
  Value input = viewAsFlat(b, toReadOnlyBuffer(b, op.getInput()));
  GroupLength elements = getWholeTensorLength(b, input);
  Value output = allocBufferFor(b, op.getType());
  TensorReductionKind kind =
      quantizer.getStepStatistic() == GroupStatistic::SumOfSquares
          ? TensorReductionKind::SumOfSquares
          : TensorReductionKind::AbsMax;
  emitWholeTensorReduction(
      b, input, kind,
      [&](ImplicitLocOpBuilder &nested, Value total) {
        return emitStepFromReduction(nested, quantizer, total, elements);
      },
      viewAsFlat(b, output), inputType.getShape().back());
  return toTensor(b, output, op.getType());
}

Value mlir::qat::emitWholeTensorDeviation(ImplicitLocOpBuilder &b, Value total,
                                          const GroupLength &elements) {
  Value count = elements.runtime;
  if (!count)
    count =
        arith::ConstantOp::create(b, b.getF32FloatAttr(float(elements.count)));
  Value mean = arith::DivFOp::create(b, total, count);
  return emitSqrt(b, mean);
}

Value mlir::qat::emitWholeTensorRms(ImplicitLocOpBuilder &b, RmsOp op) {
  Value input = viewAsFlat(b, toReadOnlyBuffer(b, op.getInput()));
  GroupLength elements = getWholeTensorLength(b, input);
  Value output = allocBufferFor(b, op.getType());
  emitWholeTensorReduction(
      b, input, TensorReductionKind::SumOfSquares,
      [&](ImplicitLocOpBuilder &nested, Value total) {
        return emitWholeTensorDeviation(nested, total, elements);
      },
      viewAsFlat(b, output), op.getInput().getType().getShape().back());
  return toTensor(b, output, op.getType());
}
