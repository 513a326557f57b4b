//===- GPUFuseReductionSiblings.cpp - A map in its sibling reduction ------===//
//
// Fuses an elementwise linalg op into a reduction that reads the same
// tensors, so that one kernel reads them once for both.
//
//===----------------------------------------------------------------------===//

#include "qat/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::qat {
#define GEN_PASS_DEF_GPUFUSEREDUCTIONSIBLINGS
#include "qat/Transforms/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;

namespace {

/// The tensor a reduction's input reads, seen through the expand_shape that
/// splitting the reduction put in front of it.
struct InputSource {
  Value tensor;
  tensor::ExpandShapeOp expand;
};

InputSource getSource(Value input) {
  if (auto expand = input.getDefiningOp<tensor::ExpandShapeOp>())
    return {expand.getSrc(), expand};
  return {input, nullptr};
}

/// Whether two expand_shapes (or two absent ones) split alike.
bool sameSplit(tensor::ExpandShapeOp a, tensor::ExpandShapeOp b) {
  if (!a || !b)
    return !a && !b;
  return a.getReassociationIndices() == b.getReassociationIndices() &&
         a.getResultType().getShape() == b.getResultType().getShape();
}

/// An elementwise op: every loop parallel, every map the identity, one
/// result, no index-dependent body.
bool isElementwiseMap(linalg::GenericOp op) {
  return op.hasPureTensorSemantics() && op.getNumDpsInits() == 1 &&
         op.getNumDpsInputs() >= 1 &&
         op.getNumParallelLoops() == op.getNumLoops() &&
         llvm::all_of(op.getIndexingMapsArray(),
                      [](AffineMap map) { return map.isIdentity(); }) &&
         op.getBody()->getOps<linalg::IndexOp>().empty();
}

/// The most reduction iterations of a fused op: each of its GPU threads
/// also computes that many elements of the map, which would otherwise have
/// a thread each (qat-gpu-parallelize-reductions cuts long reductions into
/// slices of fewer).
constexpr int64_t kMaxReductionIterations = 256;

/// A reduction whose inputs are each read once per iteration, with few
/// enough iterations per thread.
bool isReduction(linalg::GenericOp op) {
  int64_t iterations = 1;
  for (auto [range, iterator] :
       llvm::zip(op.getStaticLoopRanges(), op.getIteratorTypesArray()))
    if (iterator == utils::IteratorType::reduction)
      iterations =
          ShapedType::isDynamic(range) || ShapedType::isDynamic(iterations)
              ? ShapedType::kDynamic
              : iterations * range;
  return op.hasPureTensorSemantics() && op.getNumReductionLoops() > 0 &&
         !ShapedType::isDynamic(iterations) &&
         iterations <= kMaxReductionIterations &&
         llvm::all_of(op.getDpsInputOperands(), [&](OpOperand *input) {
           return op.getMatchingIndexingMap(input).isPermutation();
         });
}

/// How `map` reads the reduction's inputs: for each input of `map`, the
/// reduction input that reads the same tensor, all through the same map and
/// split (so that an iteration of the reduction reads the elements one
/// iteration of `map` reads).
struct Match {
  SmallVector<unsigned> inputs;
  AffineMap indexing;
  tensor::ExpandShapeOp expand;
};

std::optional<Match> matchSiblings(linalg::GenericOp reduction,
                                   linalg::GenericOp map) {
  Match match;
  for (Value input : map.getDpsInputs()) {
    std::optional<unsigned> found;
    for (OpOperand *candidate : reduction.getDpsInputOperands()) {
      InputSource source = getSource(candidate->get());
      if (source.tensor != input)
        continue;
      AffineMap indexing = reduction.getMatchingIndexingMap(candidate);
      if (!match.inputs.empty() && (indexing != match.indexing ||
                                    !sameSplit(source.expand, match.expand)))
        continue;
      found = candidate->getOperandNumber();
      match.indexing = indexing;
      match.expand = source.expand;
      break;
    }
    if (!found)
      return std::nullopt;
    match.inputs.push_back(*found);
  }
  return match;
}

/// Whether `first`'s results are used only where `second` dominates: the
/// fused op takes `second`'s place.
bool usedOnlyAfter(Operation *first, Operation *second,
                   DominanceInfo &dominance) {
  return llvm::all_of(first->getUsers(), [&](Operation *user) {
    return dominance.properlyDominates(second, user);
  });
}

/// Replaces `reduction` and `map` by one op at the later of the two: the
/// reduction's loops, inputs and outputs, plus `map`'s output indexed like
/// the inputs it reads (its elements in the split view), computed by
/// `map`'s body on the reduction's input values.
void fuse(linalg::GenericOp reduction, linalg::GenericOp map, Match match,
          Operation *later, RewriterBase &rewriter) {
  Location loc = map.getLoc();
  rewriter.setInsertionPoint(later);
  Value mapInit = map.getDpsInits()[0];
  if (match.expand) {
    auto type = RankedTensorType::get(match.expand.getResultType().getShape(),
                                      getElementTypeOrSelf(mapInit.getType()));
    mapInit = tensor::ExpandShapeOp::create(
        rewriter, loc, type, mapInit, match.expand.getReassociationIndices(),
        match.expand.getMixedOutputShape());
  }
  SmallVector<Value> inits(reduction.getDpsInits());
  inits.push_back(mapInit);
  SmallVector<AffineMap> maps = reduction.getIndexingMapsArray();
  maps.push_back(match.indexing);
  auto fused = linalg::GenericOp::create(
      rewriter, loc, ValueRange(inits).getTypes(), reduction.getDpsInputs(),
      inits, maps, reduction.getIteratorTypesArray());
  rewriter.cloneRegionBefore(reduction.getRegion(), fused.getRegion(),
                             fused.getRegion().begin());
  Block *body = fused.getBody();
  BlockArgument mapOutput =
      body->addArgument(getElementTypeOrSelf(mapInit.getType()), loc);

  IRMapping mapping;
  for (auto [arg, input] : llvm::zip(map.getRegionInputArgs(), match.inputs))
    mapping.map(arg, body->getArgument(input));
  mapping.map(map.getRegionOutputArgs()[0], mapOutput);
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  rewriter.setInsertionPoint(yield);
  for (Operation &op : map.getBody()->without_terminator())
    rewriter.clone(op, mapping);
  SmallVector<Value> yielded(yield.getValues());
  yielded.push_back(mapping.lookupOrDefault(
      cast<linalg::YieldOp>(map.getBody()->getTerminator()).getValues()[0]));
  rewriter.replaceOpWithNewOp<linalg::YieldOp>(yield, yielded);

  rewriter.setInsertionPointAfter(fused);
  Value mapResult = fused->getResults().back();
  if (match.expand)
    mapResult = tensor::CollapseShapeOp::create(
        rewriter, loc, map.getResultTypes()[0], mapResult,
        match.expand.getReassociationIndices());
  rewriter.replaceOp(map, mapResult);
  rewriter.replaceOp(reduction, fused->getResults().drop_back());
}

struct GPUFuseReductionSiblingsPass
    : qat::impl::GPUFuseReductionSiblingsBase<GPUFuseReductionSiblingsPass> {
  void runOnOperation() override {
    DominanceInfo &dominance = getAnalysis<DominanceInfo>();
    IRRewriter rewriter(&getContext());
    bool changed = true;
    while (changed) {
      changed = false;
      SmallVector<linalg::GenericOp> reductions, maps;
      getOperation().walk([&](linalg::GenericOp op) {
        if (isReduction(op))
          reductions.push_back(op);
        else if (isElementwiseMap(op))
          maps.push_back(op);
      });
      for (linalg::GenericOp reduction : reductions) {
        for (linalg::GenericOp map : maps) {
          if (reduction->getBlock() != map->getBlock())
            continue;
          std::optional<Match> match = matchSiblings(reduction, map);
          if (!match)
            continue;
          bool mapFirst = map->isBeforeInBlock(reduction);
          Operation *first =
              mapFirst ? map.getOperation() : reduction.getOperation();
          Operation *later =
              mapFirst ? reduction.getOperation() : map.getOperation();
          // Neither reads the other's result, and what the first one makes
          // is used after the later one only.
          if (!usedOnlyAfter(first, later, dominance))
            continue;
          fuse(reduction, map, *match, later, rewriter);
          changed = true;
          break;
        }
        if (changed)
          break;
      }
    }
  }
};

} // namespace
