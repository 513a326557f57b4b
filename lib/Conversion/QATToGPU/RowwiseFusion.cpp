//===- RowwiseFusion.cpp - Fusion groups of row-local qat ops ---*- C++ -*-===//
//
// Partitions the row-local qat ops of a block into groups that one GPU
// kernel computes, reading each external input once and keeping the values
// that only the group uses on chip.
//
//===----------------------------------------------------------------------===//

#include "RowwiseFusion.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"

#include <limits>

using namespace mlir;
using namespace mlir::qat;

//===----------------------------------------------------------------------===//
// Row shapes and roles
//===----------------------------------------------------------------------===//

/// The float tensor whose rows the op walks; none for ops the row kernels
/// leave to convert-qat-to-linalg's kernels: the backward of a stochastic
/// rounding (its draws would have to follow the estimator's reductions).
static RankedTensorType getRowTensorType(Operation *op) {
  if (auto grad = dyn_cast<FakeQuantGradOp>(op); grad && grad.getSeed())
    return {};
  if (auto hadamard = dyn_cast<HadamardOp>(op))
    return hadamard.getInput().getType();
  if (auto scale = dyn_cast<ScaleOp>(op))
    return scale.getInput().getType();
  if (auto rms = dyn_cast<RmsOp>(op))
    return rms.getInput().getType();
  if (auto quantize = dyn_cast<QuantizeOp>(op))
    return quantize.getInput().getType();
  if (auto dequantize = dyn_cast<DequantizeOp>(op))
    return dequantize.getType();
  if (auto fakeQuant = dyn_cast<FakeQuantOp>(op))
    return fakeQuant.getInput().getType();
  if (auto grad = dyn_cast<FakeQuantGradOp>(op))
    return grad.getInput().getType();
  if (isRowElementwise(op))
    return cast<RankedTensorType>(op->getResult(0).getType());
  return {};
}

bool mlir::qat::isRowElementwise(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp || !linalgOp.hasPureTensorSemantics() ||
      op->getNumResults() == 0 ||
      linalgOp.getNumParallelLoops() != linalgOp.getNumLoops())
    return false;
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  if (resultType.getRank() == 0 ||
      resultType.isDynamicDim(resultType.getRank() - 1))
    return false;
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<RankedTensorType>(operand.get().getType());
    Type element = type ? type.getElementType() : Type();
    if (!type || type.getShape() != resultType.getShape() ||
        !(element.isF32() || element.isBF16() || element.isF16()) ||
        !linalgOp.getMatchingIndexingMap(&operand).isIdentity())
      return false;
  }
  for (OpOperand &init : linalgOp.getDpsInitsMutable())
    if (linalgOp.payloadUsesValueFromOperand(&init))
      return false;
  auto isScalar = [](Type type) { return type.isIntOrIndexOrFloat(); };
  for (Operation &bodyOp : linalgOp.getBlock()->without_terminator())
    if (isa<linalg::IndexOp>(bodyOp) || bodyOp.getNumRegions() != 0 ||
        !isMemoryEffectFree(&bodyOp) ||
        !llvm::all_of(bodyOp.getOperandTypes(), isScalar) ||
        !llvm::all_of(bodyOp.getResultTypes(), isScalar))
      return false;
  return true;
}

SmallVector<Value> mlir::qat::getReadValues(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp)
    return SmallVector<Value>(op->getOperands());
  SmallVector<Value> read(linalgOp.getDpsInputs());
  llvm::SetVector<Value> fromAbove;
  getUsedValuesDefinedAbove(op->getRegion(0), fromAbove);
  llvm::append_range(read, fromAbove);
  return read;
}

std::optional<RowShape> mlir::qat::getRowShape(Operation *op) {
  RankedTensorType type = getRowTensorType(op);
  // The verifiers reject rank 0 and a dynamic last dimension; stay
  // defensive anyway.
  if (!type || type.getRank() == 0 || type.isDynamicDim(type.getRank() - 1))
    return std::nullopt;
  RowShape shape;
  shape.length = type.getShape().back();
  shape.rows = 1;
  for (int64_t dim : type.getShape().drop_back()) {
    if (ShapedType::isDynamic(dim)) {
      shape.rows = ShapedType::kDynamic;
      break;
    }
    shape.rows *= dim;
  }
  return shape;
}

QuantizerAttr mlir::qat::getQuantizer(Operation *op) {
  return TypeSwitch<Operation *, QuantizerAttr>(op)
      .Case<ScaleOp, RmsOp, QuantizeOp, DequantizeOp, FakeQuantOp,
            FakeQuantGradOp>([](auto op) { return op.getQuantizer(); })
      .Default([](Operation *) { return QuantizerAttr(); });
}

int64_t mlir::qat::getStepGroupLength(QuantizerAttr quantizer, RowShape shape) {
  if (quantizer.getGranularity() == Granularity::PerTensor)
    return shape.hasDynamicRows() ? ShapedType::kDynamic
                                  : shape.rows * shape.length;
  return quantizer.getGroupLength(shape.length);
}

static bool isPerTensor(Operation *op) {
  QuantizerAttr quantizer = getQuantizer(op);
  return quantizer && quantizer.getGranularity() == Granularity::PerTensor;
}

bool mlir::qat::isWholeTensorScale(Operation *op) {
  return isa<ScaleOp, RmsOp>(op) && isPerTensor(op);
}

bool mlir::qat::needsWholeTensorStd(Operation *op) {
  auto grad = dyn_cast<FakeQuantGradOp>(op);
  return grad && isPerTensor(op) &&
         grad.getEstimator().getGroupStatistic() ==
             GroupStatistic::RootMeanSquare &&
         !grad.getStd();
}

bool mlir::qat::needsWholeTensorStepGrad(Operation *op) {
  auto grad = dyn_cast<FakeQuantGradOp>(op);
  return grad && isPerTensor(op) && grad.getScaleGrad();
}

RowValueKind mlir::qat::getResultKind(OpResult result) {
  Operation *op = result.getOwner();
  if (isa<ScaleOp, RmsOp>(op))
    return RowValueKind::Steps;
  if (isa<QuantizeOp>(op))
    return RowValueKind::Codes;
  if (isa<FakeQuantGradOp>(op) && result.getResultNumber() == 1)
    return RowValueKind::Steps;
  return RowValueKind::Values;
}

RowValueKind mlir::qat::getOperandKind(OpOperand &operand) {
  Operation *op = operand.getOwner();
  unsigned index = operand.getOperandNumber();
  if (isa<DequantizeOp>(op))
    return index == 0 ? RowValueKind::Codes : RowValueKind::Steps;
  if (isa<QuantizeOp, FakeQuantOp>(op))
    return index == 0 ? RowValueKind::Values : RowValueKind::Steps;
  // (The step, and the trust estimator's deviation when given.)
  if (isa<FakeQuantGradOp>(op))
    return index >= 2 ? RowValueKind::Steps : RowValueKind::Values;
  return RowValueKind::Values;
}

/// Whether the value `result` can stay on chip between its producer and the
/// op of `use` when both are in one kernel.
static bool isFusableEdge(OpResult result, OpOperand &use) {
  Operation *producer = result.getOwner();
  Operation *consumer = use.getOwner();
  if (producer->getBlock() != consumer->getBlock())
    return false;
  std::optional<RowShape> producerShape = getRowShape(producer);
  std::optional<RowShape> consumerShape = getRowShape(consumer);
  // Both row-local, and row r of one is row r of the other.
  if (!producerShape || !consumerShape || !(*producerShape == *consumerShape))
    return false;
  if (isWholeTensorScale(producer) || isWholeTensorScale(consumer))
    return false;
  RowValueKind kind = getResultKind(result);
  if (kind != getOperandKind(use))
    return false;
  // Steps are held one per chunk of a row; both sides must agree on which
  // elements share a step.
  if (kind == RowValueKind::Steps &&
      getStepGroupLength(getQuantizer(producer), *producerShape) !=
          getStepGroupLength(getQuantizer(consumer), *consumerShape))
    return false;
  // The whole-tensor standard deviation is reduced from memory by a launch
  // that runs before the group's kernel.
  if (needsWholeTensorStd(consumer) && use.getOperandNumber() == 1)
    return false;
  // The whole-tensor step gradient is finished by a launch after the kernel.
  if (needsWholeTensorStepGrad(producer) && result.getResultNumber() == 1)
    return false;
  return true;
}

//===----------------------------------------------------------------------===//
// Group formation
//===----------------------------------------------------------------------===//

namespace {

/// Greedy fusion over one block, in block order.
///
/// Each op joins the groups of the producers it is connected to by a fusable
/// edge (all of them if legal, otherwise the first one that is), or starts a
/// group. A candidate group is legal when
///  * every edge inside it is fusable (same rows, matching roles);
///  * it can be emitted at one point of the block: every external input is
///    defined before every use outside the group of a result of the group
///    (lo < hi below). This also excludes cycles through ops outside the
///    group (a path group -> op -> group gives lo >= hi), and it lets the
///    kernel be emitted right after its last input without moving any other
///    op;
///  * its kernel fits the register and shared-memory budget (`canEmit`).
/// Sibling ops (two consumers of one tensor with no edge between them) are
/// not merged: the brief groups along producer-consumer edges, and a shared
/// input is cheap to read twice compared with the registers it would hold.
class GroupBuilder {
public:
  GroupBuilder(Block &block, function_ref<bool(const FusionGroup &)> canEmit)
      : block(block), canEmit(canEmit) {
    int64_t index = 0;
    for (Operation &op : block)
      position[&op] = index++;
  }

  SmallVector<FusionGroup> run();

private:
  bool isLegal(const FusionGroup &group) const;
  FusionGroup makeGroup(ArrayRef<unsigned> ids, Operation *op) const;
  void commit(ArrayRef<unsigned> ids, FusionGroup group);
  SmallVector<FusionGroup> topologicalOrder();

  Block &block;
  function_ref<bool(const FusionGroup &)> canEmit;
  DenseMap<Operation *, int64_t> position;
  /// Group slots; merged-away groups are left empty.
  SmallVector<FusionGroup> groups;
  DenseMap<Operation *, unsigned> groupOf;
};

} // namespace

FusionGroup GroupBuilder::makeGroup(ArrayRef<unsigned> ids,
                                    Operation *op) const {
  FusionGroup group;
  for (unsigned id : ids)
    llvm::append_range(group.ops, groups[id].ops);
  group.ops.push_back(op);
  llvm::sort(group.ops, [&](Operation *a, Operation *b) {
    return position.lookup(a) < position.lookup(b);
  });
  group.members.insert(group.ops.begin(), group.ops.end());
  group.shape = *getRowShape(op);
  return group;
}

bool GroupBuilder::isLegal(const FusionGroup &group) const {
  int64_t lo = -1;
  int64_t hi = std::numeric_limits<int64_t>::max();
  for (Operation *op : group.ops) {
    for (OpOperand &operand : op->getOpOperands()) {
      Operation *def = operand.get().getDefiningOp();
      if (def && group.contains(def) &&
          !isFusableEdge(cast<OpResult>(operand.get()), operand))
        return false;
    }
    for (Value read : getReadValues(op)) {
      Operation *def = read.getDefiningOp();
      if (def && !group.contains(def) && def->getBlock() == &block)
        lo = std::max(lo, position.lookup(def));
    }
    for (Value result : op->getResults()) {
      for (Operation *user : result.getUsers()) {
        if (group.contains(user))
          continue;
        if (Operation *ancestor = block.findAncestorOpInBlock(*user))
          hi = std::min(hi, position.lookup(ancestor));
      }
    }
  }
  return lo < hi && canEmit(group);
}

void GroupBuilder::commit(ArrayRef<unsigned> ids, FusionGroup group) {
  unsigned target = groups.size();
  if (ids.empty()) {
    groups.emplace_back();
  } else {
    target = ids.front();
    for (unsigned id : ids.drop_front())
      groups[id] = FusionGroup();
  }
  for (Operation *op : group.ops)
    groupOf[op] = target;
  groups[target] = std::move(group);
}

SmallVector<FusionGroup> GroupBuilder::run() {
  for (Operation &op : block) {
    std::optional<RowShape> shape = getRowShape(&op);
    if (!shape)
      continue;
    SmallVector<unsigned> candidates;
    auto linalgOp = dyn_cast<linalg::LinalgOp>(&op);
    if (!isWholeTensorScale(&op)) {
      for (OpOperand &operand : op.getOpOperands()) {
        auto result = dyn_cast<OpResult>(operand.get());
        if (!result || (linalgOp && linalgOp.isDpsInit(&operand)))
          continue;
        auto it = groupOf.find(result.getOwner());
        if (it == groupOf.end() || !isFusableEdge(result, operand) ||
            llvm::is_contained(candidates, it->second))
          continue;
        candidates.push_back(it->second);
      }
    }
    bool merged = false;
    if (candidates.size() > 1) {
      FusionGroup group = makeGroup(candidates, &op);
      if (isLegal(group)) {
        commit(candidates, std::move(group));
        merged = true;
      }
    }
    for (unsigned id : candidates) {
      if (merged)
        break;
      FusionGroup group = makeGroup({id}, &op);
      if (isLegal(group)) {
        commit({id}, std::move(group));
        merged = true;
      }
    }
    // (An elementwise linalg op alone stays linalg.)
    if (!merged && !isRowElementwise(&op))
      commit({}, makeGroup({}, &op));
  }
  return topologicalOrder();
}

/// Producers before consumers; among ready groups, the one whose first op
/// comes first, so that the output follows the input's order.
SmallVector<FusionGroup> GroupBuilder::topologicalOrder() {
  SmallVector<unsigned> live;
  for (auto [id, group] : llvm::enumerate(groups))
    if (!group.ops.empty())
      live.push_back(id);
  DenseMap<unsigned, llvm::SetVector<unsigned>> producers;
  for (unsigned id : live) {
    for (Operation *op : groups[id].ops) {
      for (Value operand : op->getOperands()) {
        Operation *def = operand.getDefiningOp();
        auto it = def ? groupOf.find(def) : groupOf.end();
        if (it != groupOf.end() && it->second != id)
          producers[id].insert(it->second);
      }
    }
  }
  SmallVector<FusionGroup> ordered;
  llvm::DenseSet<unsigned> done;
  while (ordered.size() < live.size()) {
    std::optional<unsigned> next;
    for (unsigned id : live) {
      if (done.contains(id) || llvm::any_of(producers[id], [&](unsigned p) {
            return !done.contains(p);
          }))
        continue;
      if (!next || position.lookup(groups[id].ops.front()) <
                       position.lookup(groups[*next].ops.front()))
        next = id;
    }
    // Legal groups form an acyclic graph (see GroupBuilder); a cycle would be
    // a bug in isLegal. The ops of groups left out stay qat ops, which later
    // passes reject, rather than being miscompiled.
    assert(next && "fusion groups depend on each other cyclically");
    if (!next)
      break;
    done.insert(*next);
    ordered.push_back(std::move(groups[*next]));
  }
  return ordered;
}

SmallVector<FusionGroup>
mlir::qat::formFusionGroups(Block &block,
                            function_ref<bool(const FusionGroup &)> canEmit) {
  return GroupBuilder(block, canEmit).run();
}
