//===- GPUParallelizeReductions.cpp - Reductions on GPU threads -*- C++ -*-===//
//
// Puts the parallel dimensions of linalg ops outermost and splits reductions
// over every dimension (a loss summed into a scalar) into partial reductions
// on many GPU threads and a short final reduction of the partials.
//
//===----------------------------------------------------------------------===//

#include "qat/Transforms/Passes.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/Error.h"

namespace mlir::qat {
#define GEN_PASS_DEF_GPUPARALLELIZEREDUCTIONS
#include "qat/Transforms/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;

/// The op's combiner (the one op that folds a value into the accumulator,
/// e.g. arith.addf) and its neutral element, if the op is a full reduction
/// on tensors with one rank-0 result that is split-able.
static std::optional<std::pair<Operation *, TypedAttr>>
matchFullReduction(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != 0 || op.getNumReductionLoops() == 0 ||
      op->getNumResults() != 1)
    return std::nullopt;
  OpOperand *init = op.getDpsInitOperand(0);
  if (op.getMatchingIndexingMap(init).getNumResults() != 0)
    return std::nullopt;
  SmallVector<Operation *> combiners;
  if (!matchReduction(op.getRegionOutputArgs(), 0, combiners) ||
      combiners.size() != 1)
    return std::nullopt;
  std::optional<TypedAttr> neutral = arith::getNeutralElement(combiners[0]);
  if (!neutral)
    return std::nullopt;
  return std::make_pair(combiners[0], *neutral);
}

/// Parallel iterations a reduction with few of them is spread over: about
/// 65536 threads (half of what an H100's SMs hold at once) once
/// qat-gpu-vectorize-parallel-loops gives each thread 4 of them; and the
/// fewest elements a thread sums after the split.
constexpr int64_t kMinThreads = 262144;
constexpr int64_t kMinSlice = 16;

namespace {

/// A reduction over several dimensions, e.g. `sum_{i,j} f(x[i,j])`, becomes
/// partial sums `p[j] = sum_i f(x[i,j])` (one GPU thread each) and
/// `sum_j p[j]`. The dimension made parallel is the innermost one with at
/// least `minParallel` iterations (or a dynamic size): with row-major
/// operands, consecutive threads then read consecutive elements.
struct SplitMultiDimReduction : OpInterfaceRewritePattern<linalg::LinalgOp> {
  SplitMultiDimReduction(MLIRContext *context, int64_t minParallel)
      : OpInterfaceRewritePattern(context), minParallel(minParallel) {}

  LogicalResult matchAndRewrite(linalg::LinalgOp op,
                                PatternRewriter &rewriter) const override {
    auto match = matchFullReduction(op);
    if (!match || op.getNumLoops() < 2)
      return rewriter.notifyMatchFailure(op, "not a multi-dim full reduction");
    auto [combiner, neutral] = *match;

    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    std::optional<unsigned> split;
    for (unsigned d = ranges.size(); d-- > 0;) {
      if (ShapedType::isDynamic(ranges[d]) || ranges[d] >= minParallel) {
        split = d;
        break;
      }
    }
    if (!split)
      return rewriter.notifyMatchFailure(op, "no dimension is wide enough");

    Location loc = op.getLoc();
    OpOperand *init = op.getDpsInitOperand(0);
    Type elementType = getElementTypeOrSelf(init->get().getType());
    SmallVector<Range> loopRanges = op.createLoopRanges(rewriter, loc);
    Value empty = tensor::EmptyOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{loopRanges[*split].size},
        elementType);
    Value neutralValue = arith::ConstantOp::create(rewriter, loc, neutral);
    Value partialInit =
        linalg::FillOp::create(rewriter, loc, neutralValue, empty).result();

    // The partial op: the same body and inputs, dimension `split` parallel,
    // the accumulator indexed by it.
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    maps.back() =
        AffineMap::get(op.getNumLoops(), 0, rewriter.getAffineDimExpr(*split));
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    iterators[*split] = utils::IteratorType::parallel;
    auto partial = linalg::GenericOp::create(
        rewriter, loc, partialInit.getType(), op.getDpsInputs(),
        ValueRange{partialInit}, maps, iterators);
    rewriter.cloneRegionBefore(op->getRegion(0), partial.getRegion(),
                               partial.getRegion().begin());

    // The final reduction of the partials into the original accumulator,
    // with the original combiner.
    MLIRContext *context = rewriter.getContext();
    AffineMap identity = AffineMap::getMultiDimIdentityMap(1, context);
    AffineMap scalar = AffineMap::get(1, 0, context);
    BlockArgument accumulator = op.getRegionOutputArgs()[0];
    auto final = linalg::GenericOp::create(
        rewriter, loc, op->getResultTypes(), ValueRange{partial.getResult(0)},
        ValueRange{init->get()}, ArrayRef<AffineMap>{identity, scalar},
        ArrayRef<utils::IteratorType>{utils::IteratorType::reduction},
        [&](OpBuilder &b, Location bodyLoc, ValueRange args) {
          IRMapping mapping;
          for (Value operand : combiner->getOperands())
            mapping.map(operand, operand == accumulator ? args[1] : args[0]);
          Operation *combined = b.clone(*combiner, mapping);
          linalg::YieldOp::create(b, bodyLoc, combined->getResult(0));
        });
    rewriter.replaceOp(op, final->getResults());
    return success();
  }

  int64_t minParallel;
};

/// convert-linalg-to-parallel-loops nests the loops in iterator order, and
/// only the outermost parallel loops become a kernel: a reduction dimension
/// in front of a parallel one (a column sum, linalg.reduce over dimension 0)
/// would leave a host loop that launches one kernel per iteration. This
/// puts the parallel dimensions first (named ops are generalized for it).
struct ParallelDimsOutermost : OpInterfaceRewritePattern<linalg::LinalgOp> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;

  LogicalResult matchAndRewrite(linalg::LinalgOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "not on tensors");
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    SmallVector<unsigned> order;
    for (auto [d, iterator] : llvm::enumerate(iterators))
      if (iterator == utils::IteratorType::parallel)
        order.push_back(d);
    for (auto [d, iterator] : llvm::enumerate(iterators))
      if (iterator != utils::IteratorType::parallel)
        order.push_back(d);
    if (llvm::equal(order, llvm::seq<unsigned>(0, iterators.size())))
      return rewriter.notifyMatchFailure(op, "parallel dimensions are first");
    auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
    if (!generic) {
      FailureOr<linalg::GenericOp> generalized =
          linalg::generalizeNamedOp(rewriter, op);
      if (failed(generalized))
        return rewriter.notifyMatchFailure(op, "cannot generalize");
      generic = *generalized;
    }
    return linalg::interchangeGenericOp(rewriter, generic, order);
  }
};

struct GPUParallelizeReductionsPass
    : qat::impl::GPUParallelizeReductionsBase<GPUParallelizeReductionsPass> {
  using GPUParallelizeReductionsBase::GPUParallelizeReductionsBase;

  /// min-parallel counts iterations of a dimension (at least 1);
  /// serial-limit counts elements (0: split every reduction it can).
  llvm::Error verifyOptions() const {
    if (minParallel < 1)
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "qat-gpu-parallelize-reductions: min-parallel=" + Twine(minParallel) +
              " is not an iteration count; expected 1 or more");
    if (serialLimit < 0)
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "qat-gpu-parallelize-reductions: serial-limit=" + Twine(serialLimit) +
              " is not an element count; expected 0 or more");
    return llvm::Error::success();
  }

  LogicalResult initializeOptions(
      StringRef options,
      function_ref<LogicalResult(const Twine &)> errorHandler) override {
    if (failed(Pass::initializeOptions(options, errorHandler)))
      return failure();
    if (llvm::Error error = verifyOptions())
      return errorHandler(llvm::toString(std::move(error)));
    return success();
  }

  void runOnOperation() override {
    if (llvm::Error error = verifyOptions()) {
      getOperation().emitError() << llvm::toString(std::move(error));
      return signalPassFailure();
    }
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    patterns.add<SplitMultiDimReduction>(context, minParallel);
    patterns.add<ParallelDimsOutermost>(context);
    // A 1-D reduction of N elements (and the final reduction above, if it
    // is still long) is split by linalg's own split-reduction into about
    // sqrt(N) strided partials: thread j sums elements j, j + R, j + 2R, ...
    // A long reduction dimension beside few parallel iterations (the partial
    // sums above, a column sum) is split too, into slices of consecutive
    // elements, so that about kMinThreads threads share it rather than each
    // of a few threads walking a whole column.
    int64_t limit = serialLimit;
    linalg::populateSplitReductionPattern(
        patterns, [limit](linalg::LinalgOp op) {
          linalg::SplitReductionOptions options;
          if (matchFullReduction(op) && op.getNumLoops() == 1) {
            int64_t size = op.getStaticLoopRanges()[0];
            if (ShapedType::isDynamic(size) || size <= limit)
              return options;
            // The largest divisor of the size up to sqrt(size): about as
            // many partials as each partial has elements. (A prime size
            // stays serial: split-reduction needs a divisor.)
            for (int64_t ratio = 2; ratio * ratio <= size; ++ratio)
              if (size % ratio == 0)
                options.ratio = ratio;
            options.innerParallel = true;
            options.index = 0;
            return options;
          }
          if (!op.hasPureTensorSemantics() || op.hasDynamicShape() ||
              op.getNumReductionLoops() != 1 || op.getNumDpsInits() != 1)
            return options;
          int64_t parallel = 1, size = 0;
          for (auto [range, iterator] : llvm::zip_equal(
                   op.getStaticLoopRanges(), op.getIteratorTypesArray()))
            if (iterator == utils::IteratorType::parallel)
              parallel *= range;
            else
              size = range;
          if (size <= limit || parallel >= kMinThreads)
            return options;
          // Slices of at least kMinSlice elements, as many as the threads
          // need, dividing the size.
          int64_t wanted = llvm::divideCeil(kMinThreads, parallel);
          for (int64_t ratio = 2; ratio <= wanted && size / ratio >= kMinSlice;
               ++ratio)
            if (size % ratio == 0)
              options.ratio = ratio;
          options.innerParallel = false;
          options.index = 0;
          return options;
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // Each accumulator's fill right before its reduction: a fill and the
    // loop that reads it then share a kernel (parallel-loop fusion, or one
    // single-thread kernel for a scalar), where a kernel between them kept
    // them two launches.
    getOperation().walk([](linalg::FillOp fill) {
      if (!fill.hasPureTensorSemantics() || !fill->hasOneUse())
        return;
      Operation *user = *fill->getUsers().begin();
      if (user->getBlock() == fill->getBlock())
        fill->moveBefore(user);
    });
  }
};

} // namespace
