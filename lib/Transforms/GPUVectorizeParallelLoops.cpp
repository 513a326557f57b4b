//===- GPUVectorizeParallelLoops.cpp - V elements a GPU thread --*- C++ -*-===//
//
// Rewrites a host scf.parallel so that each iteration of its innermost
// dimension handles a vector of consecutive elements.
//
//===----------------------------------------------------------------------===//

#include "qat/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::qat {
#define GEN_PASS_DEF_GPUVECTORIZEPARALLELLOOPS
#include "qat/Transforms/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;

namespace {

/// The widest access a thread makes, in bytes (ld.global.v4.b32).
constexpr int64_t kMaxVectorBytes = 16;
constexpr int64_t kMaxWidth = 8;

/// Which values of a loop body depend on the vectorized induction variable.
class Varying {
public:
  explicit Varying(Value inductionVar) { varying.insert(inductionVar); }

  bool contains(Value value) const { return varying.contains(value); }
  bool anyOf(ValueRange values) const {
    return llvm::any_of(values, [&](Value v) { return contains(v); });
  }

  /// Propagates through `body` until nothing changes: an op's results vary
  /// with any varying operand, a loop's carried values with a varying init
  /// or yield.
  void propagate(Block &body) {
    bool changed = true;
    auto mark = [&](Value value) { changed |= varying.insert(value).second; };
    while (changed) {
      changed = false;
      body.walk([&](Operation *op) {
        if (auto loop = dyn_cast<scf::ForOp>(op)) {
          auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
          for (auto [i, arg] : llvm::enumerate(loop.getRegionIterArgs())) {
            if (contains(loop.getInitArgs()[i]) ||
                contains(yield.getOperand(i)) || contains(arg)) {
              mark(arg);
              mark(loop.getResult(i));
            }
          }
          return;
        }
        if (anyOf(op->getOperands()))
          for (Value result : op->getResults())
            mark(result);
      });
    }
  }

private:
  llvm::DenseSet<Value> varying;
};

/// Whether `type`'s row strides and offset are static multiples of
/// `width` elements and its last stride is 1: every `width`-element vector
/// starting at a multiple of `width` in the last index is then aligned to
/// its size in a buffer aligned to 16 bytes.
bool allowsAlignedVectors(MemRefType type, int64_t width) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)) || strides.empty() ||
      strides.back() != 1 || ShapedType::isDynamic(offset) ||
      offset % width != 0)
    return false;
  return llvm::all_of(ArrayRef(strides).drop_back(), [&](int64_t stride) {
    return !ShapedType::isDynamic(stride) && stride % width == 0;
  });
}

/// What a vectorizable body needs: the buffers it accesses as vectors,
/// checked for a width later.
struct BodyPlan {
  SmallVector<MemRefType> vectorBuffers;
  int64_t widestElementBytes = 0;
};

/// An op of a body that the rewrite knows: its varying operands are the
/// last index of a load or store, the stored value, elementwise operands,
/// or a nested loop's carried values.
bool isVectorizable(Operation *op, Value inductionVar, const Varying &varying,
                    BodyPlan &plan) {
  auto lastIndexOnly = [&](ValueRange indices) {
    return !indices.empty() && indices.back() == inductionVar &&
           !varying.anyOf(indices.drop_back());
  };
  // A vector of sub-byte elements (i1, i4) packs them in memory, where the
  // buffer keeps one a byte: only whole bytes are vectorized.
  auto addBuffer = [&](MemRefType type) {
    Type element = type.getElementType();
    if (!element.isIntOrFloat() || element.getIntOrFloatBitWidth() % 8 != 0)
      return false;
    plan.vectorBuffers.push_back(type);
    plan.widestElementBytes = std::max<int64_t>(
        plan.widestElementBytes, element.getIntOrFloatBitWidth() / 8);
    return true;
  };
  if (auto load = dyn_cast<memref::LoadOp>(op)) {
    if (!varying.anyOf(load.getIndices()))
      return true;
    return lastIndexOnly(load.getIndices()) && addBuffer(load.getMemRefType());
  }
  if (auto store = dyn_cast<memref::StoreOp>(op)) {
    if (!varying.anyOf(store.getIndices()))
      return !varying.contains(store.getValueToStore());
    return lastIndexOnly(store.getIndices()) &&
           addBuffer(store.getMemRefType());
  }
  if (auto loop = dyn_cast<scf::ForOp>(op))
    return !varying.contains(loop.getLowerBound()) &&
           !varying.contains(loop.getUpperBound()) &&
           !varying.contains(loop.getStep());
  if (isa<scf::YieldOp>(op))
    return true;
  // Executed once where it ran `width` times: only pure ops may be uniform.
  if (!isMemoryEffectFree(op) || op->getNumRegions() != 0)
    return false;
  if (!varying.anyOf(op->getOperands()))
    return true;
  auto isScalar = [](Type type) { return type.isIntOrFloat(); };
  return OpTrait::hasElementwiseMappableTraits(op) &&
         llvm::all_of(op->getOperandTypes(), isScalar) &&
         llvm::all_of(op->getResultTypes(), isScalar);
}

/// The vector width of `loop`'s innermost dimension, or 0 where it is not
/// vectorizable.
int64_t chooseWidth(scf::ParallelOp loop, const Varying &varying) {
  unsigned dim = loop.getNumLoops() - 1;
  std::optional<int64_t> lower = getConstantIntValue(loop.getLowerBound()[dim]);
  std::optional<int64_t> upper = getConstantIntValue(loop.getUpperBound()[dim]);
  std::optional<int64_t> step = getConstantIntValue(loop.getStep()[dim]);
  if (lower != 0 || !upper || step != 1)
    return 0;
  Value inductionVar = loop.getInductionVars()[dim];
  BodyPlan plan;
  // The induction variable itself may only index: anything computed from
  // it (an index, a cast) has no vector form here.
  for (Operation *user : inductionVar.getUsers())
    if (!isa<memref::LoadOp, memref::StoreOp>(user))
      return 0;
  WalkResult result = loop.getBody()->walk([&](Operation *op) {
    if (isa<scf::ReduceOp>(op))
      return WalkResult::advance();
    if (!isVectorizable(op, inductionVar, varying, plan))
      return WalkResult::interrupt();
    for (Value value : op->getResults())
      if (varying.contains(value) && !value.getType().isIntOrFloat())
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  if (result.wasInterrupted() || plan.vectorBuffers.empty())
    return 0;
  for (int64_t width =
           std::min(kMaxWidth, kMaxVectorBytes / plan.widestElementBytes);
       width >= 2; width /= 2) {
    if (*upper % width == 0 &&
        llvm::all_of(plan.vectorBuffers, [&](MemRefType type) {
          return allowsAlignedVectors(type, width);
        }))
      return width;
  }
  return 0;
}

/// Rebuilds a loop body with `width` lanes of the innermost dimension.
class BodyVectorizer {
public:
  BodyVectorizer(OpBuilder &b, const Varying &varying, int64_t width)
      : b(b), varying(varying), width(width) {}

  IRMapping mapping;

  void rebuild(Block &body) {
    for (Operation &op : body.without_terminator())
      rebuild(&op);
  }

private:
  OpBuilder &b;
  const Varying &varying;
  int64_t width;

  VectorType vectorOf(Type type) { return VectorType::get({width}, type); }

  /// `value` in the new body as a vector: varying values are vectors
  /// already, uniform ones are broadcast where they are used.
  Value asVector(Value value, Location loc) {
    Value mapped = mapping.lookupOrDefault(value);
    if (varying.contains(value))
      return mapped;
    return vector::BroadcastOp::create(b, loc, vectorOf(value.getType()),
                                       mapped);
  }

  llvm::MaybeAlign alignmentOf(MemRefType type) {
    return llvm::MaybeAlign(std::min<int64_t>(
        kMaxVectorBytes,
        width * llvm::divideCeil(type.getElementTypeBitWidth(), 8)));
  }

  SmallVector<Value> mapped(ValueRange values) {
    return llvm::map_to_vector(
        values, [&](Value v) { return mapping.lookupOrDefault(v); });
  }

  void rebuild(Operation *op) {
    Location loc = op->getLoc();
    // A loop varies when anything in it does.
    WalkResult varies = op->walk([&](Operation *nested) {
      return varying.anyOf(nested->getOperands()) ||
                     varying.anyOf(nested->getResults())
                 ? WalkResult::interrupt()
                 : WalkResult::advance();
    });
    if (!varies.wasInterrupted()) {
      b.clone(*op, mapping);
      return;
    }
    if (auto load = dyn_cast<memref::LoadOp>(op)) {
      auto vector = vector::LoadOp::create(
          b, loc, vectorOf(load.getType()),
          mapping.lookupOrDefault(load.getMemRef()), mapped(load.getIndices()),
          /*nontemporal=*/false, alignmentOf(load.getMemRefType()));
      mapping.map(load.getResult(), vector.getResult());
      return;
    }
    if (auto store = dyn_cast<memref::StoreOp>(op)) {
      vector::StoreOp::create(b, loc, asVector(store.getValueToStore(), loc),
                              mapping.lookupOrDefault(store.getMemRef()),
                              mapped(store.getIndices()),
                              /*nontemporal=*/false,
                              alignmentOf(store.getMemRefType()));
      return;
    }
    if (auto loop = dyn_cast<scf::ForOp>(op)) {
      rebuildLoop(loop);
      return;
    }
    // An elementwise op: a uniform i1 condition of a select stays scalar.
    SmallVector<Value> operands;
    for (Value operand : op->getOperands()) {
      bool scalarCondition = isa<arith::SelectOp>(op) &&
                             operand == op->getOperand(0) &&
                             !varying.contains(operand);
      operands.push_back(scalarCondition ? mapping.lookupOrDefault(operand)
                                         : asVector(operand, loc));
    }
    OperationState state(
        loc, op->getName(), operands,
        llvm::map_to_vector(op->getResultTypes(),
                            [&](Type t) -> Type { return vectorOf(t); }),
        op->getAttrs());
    Operation *vectorOp = b.create(state);
    mapping.map(op->getResults(), vectorOp->getResults());
  }

  void rebuildLoop(scf::ForOp loop) {
    Location loc = loop.getLoc();
    SmallVector<Value> inits;
    for (auto [init, arg] :
         llvm::zip(loop.getInitArgs(), loop.getRegionIterArgs()))
      inits.push_back(varying.contains(arg) ? asVector(init, loc)
                                            : mapping.lookupOrDefault(init));
    auto vectorLoop = scf::ForOp::create(
        b, loc, mapping.lookupOrDefault(loop.getLowerBound()),
        mapping.lookupOrDefault(loop.getUpperBound()),
        mapping.lookupOrDefault(loop.getStep()), inits);
    Block *body = vectorLoop.getBody();
    mapping.map(loop.getInductionVar(), vectorLoop.getInductionVar());
    mapping.map(loop.getRegionIterArgs(), vectorLoop.getRegionIterArgs());
    OpBuilder::InsertionGuard guard(b);
    // The new loop has a yield only when it carries values.
    if (body->mightHaveTerminator())
      b.setInsertionPoint(body->getTerminator());
    else
      b.setInsertionPointToEnd(body);
    rebuild(*loop.getBody());
    auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
    SmallVector<Value> yielded;
    for (auto [value, arg] :
         llvm::zip(yield.getOperands(), loop.getRegionIterArgs()))
      yielded.push_back(varying.contains(arg) ? asVector(value, yield.getLoc())
                                              : mapping.lookupOrDefault(value));
    // The builder inserts before that implicit yield: erasing it would leave
    // the insertion point dangling.
    if (body->mightHaveTerminator())
      body->getTerminator()->erase();
    b.setInsertionPointToEnd(body);
    scf::YieldOp::create(b, yield.getLoc(), yielded);
    mapping.map(loop.getResults(), vectorLoop.getResults());
  }
};

/// The new loop counts vectors with step 1 (scf::tileParallelLoop's
/// in-bounds check scales a tiled induction variable by its step once too
/// often), and each iteration starts at element `width` times its index.
void vectorize(scf::ParallelOp loop, int64_t width, const Varying &varying) {
  unsigned dim = loop.getNumLoops() - 1;
  Location loc = loop.getLoc();
  OpBuilder b(loop);
  SmallVector<Value> upper(loop.getUpperBound());
  upper[dim] = arith::ConstantIndexOp::create(
      b, loc, *getConstantIntValue(upper[dim]) / width);
  auto vectorLoop = scf::ParallelOp::create(b, loc, loop.getLowerBound(), upper,
                                            loop.getStep(), ValueRange{});
  b.setInsertionPoint(vectorLoop.getBody()->getTerminator());
  BodyVectorizer vectorizer(b, varying, width);
  vectorizer.mapping.map(loop.getInductionVars(),
                         vectorLoop.getInductionVars());
  Value first =
      arith::MulIOp::create(b, loc, vectorLoop.getInductionVars()[dim],
                            arith::ConstantIndexOp::create(b, loc, width));
  vectorizer.mapping.map(loop.getInductionVars()[dim], first);
  vectorizer.rebuild(*loop.getBody());
  loop.erase();
}

struct GPUVectorizeParallelLoopsPass
    : qat::impl::GPUVectorizeParallelLoopsBase<GPUVectorizeParallelLoopsPass> {
  void runOnOperation() override {
    SmallVector<scf::ParallelOp> loops;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (qat::isGPULaunchCandidate(loop))
        loops.push_back(loop);
    });
    for (scf::ParallelOp loop : loops) {
      Varying varying(loop.getInductionVars().back());
      varying.propagate(*loop.getBody());
      if (int64_t width = chooseWidth(loop, varying))
        vectorize(loop, width, varying);
    }
  }
};

} // namespace
