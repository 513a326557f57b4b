//===- RowwiseFusion.h - Fusion groups and row kernels ----------*- C++ -*-===//
//
// Internal interface of convert-qat-to-gpu: how row-local qat ops are grouped
// (RowwiseFusion.cpp), how a group becomes one kernel
// (RowwiseKernelEmitter.cpp) and the whole-tensor reductions that per_tensor
// quantizers need (WholeTensorReduction.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef QAT_LIB_CONVERSION_QATTOGPU_ROWWISEFUSION_H
#define QAT_LIB_CONVERSION_QATTOGPU_ROWWISEFUSION_H

#include "RowLayout.h"

#include "qat/Dialect/QAT/IR/QATOps.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <optional>
#include <string>

namespace mlir::qat {

//===----------------------------------------------------------------------===//
// Fusion groups (RowwiseFusion.cpp)
//===----------------------------------------------------------------------===//

/// `rows` rows of `length` elements: the view of a tensor as [R, D], R the
/// product of the leading dimensions (ShapedType::kDynamic when one of them
/// is unknown until run time), D the last one (the logical row, i.e.
/// before packing two codes per byte).
struct RowShape {
  bool hasDynamicRows() const { return ShapedType::isDynamic(rows); }
  int64_t rows = 0;
  int64_t length = 0;
  bool operator==(const RowShape &other) const {
    return rows == other.rows && length == other.length;
  }
};

/// What a tensor is to a row kernel: a row of float values, one step per
/// quantization group, or integer codes.
enum class RowValueKind { Values, Steps, Codes };

/// What a result or an operand of a row-local qat op is to the kernels.
RowValueKind getResultKind(OpResult result);
RowValueKind getOperandKind(OpOperand &operand);

/// The row shape of a row-local qat op (that of its float input, or of the
/// result for qat.dequantize) or of a row elementwise linalg op (its
/// result's); std::nullopt for ops the row kernels do not compute
/// (qat.matmul, other ops).
std::optional<RowShape> getRowShape(Operation *op);

/// An elementwise linalg op that a row kernel can compute after the qat ops
/// that produce one of its operands (an optimizer's update of a weight from
/// its gradient): every loop parallel, every operand a float tensor (f32,
/// bf16, f16) of the result's shape read through the identity map, inits
/// that the body does not read, and a body of pure scalar ops (no
/// linalg.index) that takes only scalars from above. It joins the group of
/// such a producer, never forms one of its own.
bool isRowElementwise(Operation *op);

/// What the kernel of `op` reads: its operands (a linalg op's inputs, not
/// its inits) and the scalars an elementwise linalg op's body takes from
/// above.
SmallVector<Value> getReadValues(Operation *op);

/// The quantizer of a qat op, null for qat.hadamard.
QuantizerAttr getQuantizer(Operation *op);

/// Elements that share one step along the flattened [R, D] view: the whole
/// tensor for per_tensor (dynamic with dynamic rows), the row or the group
/// size otherwise.
int64_t getStepGroupLength(QuantizerAttr quantizer, RowShape shape);

/// A per_tensor qat.scale or qat.rms: its one value depends on every row, so
/// it is computed by whole-tensor reduction launches and never fused.
bool isWholeTensorScale(Operation *op);

/// A per_tensor qat.fake_quant_grad whose trust mask needs the standard
/// deviation of the whole input (computed by a reduction launch first,
/// unless the op is given it).
bool needsWholeTensorStd(Operation *op);

/// A per_tensor learned qat.fake_quant_grad: its step gradient sums over
/// every row (per-row partial sums, then a finishing launch).
bool needsWholeTensorStepGrad(Operation *op);

/// The qat ops that one launch (or, for a whole-tensor qat.scale, one pair
/// of reduction launches) computes.
struct FusionGroup {
  /// In block order.
  SmallVector<Operation *> ops;
  RowShape shape;
  llvm::SmallPtrSet<Operation *, 8> members;

  bool contains(Operation *op) const { return members.contains(op); }
  bool isWholeTensorScale() const {
    return ops.size() == 1 && qat::isWholeTensorScale(ops.front());
  }
};

/// Partitions the row-local qat ops of `block` into fusion groups, returned
/// in an order in which they can be emitted one after the other (every group
/// after the groups that produce its inputs). `canEmit` tells whether a
/// candidate group of several ops fits one kernel; a single op always forms
/// a group (and reports why it cannot be emitted when it cannot).
SmallVector<FusionGroup>
formFusionGroups(Block &block, function_ref<bool(const FusionGroup &)> canEmit);

//===----------------------------------------------------------------------===//
// Row kernels (RowwiseKernelEmitter.cpp)
//===----------------------------------------------------------------------===//

/// What convert-qat-to-gpu's options ask of the row kernels.
struct RowKernelOptions {
  /// Elements of a row tensor a thread aims to hold (the plain layout).
  int64_t elementsPerThread = 16;
  /// Whether bf16 Hadamard blocks of 128 may exchange their values through
  /// shared memory instead of shuffling them (RowKernelPlan::layouts).
  bool hadamardExchange = true;
};

/// How a fusion group maps onto the GPU. Element `i` of a row lives in
/// chunk `c = i / V` (V consecutive elements, one vector load), and each of
/// the row's T threads holds C chunks, placed by the plan's layout
/// (RowLayout): consecutive threads touch consecutive 16-byte pieces
/// (coalesced), and a Hadamard butterfly of stride h pairs elements of the
/// same thread or of two threads of the row (shuffles within a warp, shared
/// memory across warps).
struct RowKernelPlan {
  /// The rows the kernel computes: the group's, or each split in
  /// `segments` consecutive parts that CTAs compute apart (see
  /// RowKernelPlan::get).
  RowShape shape;
  int64_t segments = 1;
  /// V: elements per vector access (16 bytes of the widest float type).
  int64_t vectorWidth = 1;
  /// K = D / V.
  int64_t chunks = 1;
  /// T: threads per row: a power of two, or a multiple of 32 that every
  /// Hadamard block and power-of-two reduction group of the row (in chunks)
  /// divides (see RowKernelPlan::get).
  int64_t threadsPerRow = 1;
  /// C = ceil(K / T).
  int64_t chunksPerThread = 1;
  /// Rows one CTA computes side by side (blockDim.y), so that short rows
  /// still give CTAs of at least 128 threads.
  int64_t rowsPerBlock = 1;
  /// ceil(R / rowsPerBlock); ShapedType::kDynamic when R is known only at
  /// run time, where the host computes it from the buffers' sizes.
  int64_t blocks = 1;
  /// The layouts the kernel holds row tensors in. The first one is where
  /// every input is read unless a consumer in another layout reads it
  /// first. A second one (the first's exchanged form, RowLayout::
  /// getExchanged) is there for groups in the quad layout whose Hadamard
  /// blocks are all 128 elements of V = 8 and whose reductions and steps
  /// span whole rows (QuEST's forward): a transform then does its stages in
  /// registers, exchanges its values through shared memory into the other
  /// layout, and does the remaining two stages in registers too, instead of
  /// shuffling every element in the stages of lane bits. Its result stays
  /// in the other layout: consumers of a tensor held there (elementwise
  /// math, row reductions, stores, the next Hadamard transform, which swaps
  /// back) use it there, and their other inputs are read there.
  SmallVector<RowLayout, 2> layouts;
  /// Floats of shared memory for the exchanges (one region per warp).
  int64_t exchangeSharedFloats = 0;
  /// Whether the last chunk of a thread may lie beyond the row (K % T != 0)
  /// and whether the last CTA has rows beyond R.
  bool guardChunks = false;
  bool guardRows = false;
  /// Floats of shared memory for the cross-warp Hadamard stages (a padded
  /// copy of each row of the CTA), 0 when every stage stays within a warp.
  int64_t hadamardSharedFloats = 0;
  /// All shared memory: the Hadamard row, the exchange regions, and one
  /// region per reduction.
  int64_t sharedFloats = 0;

  /// Plans `group`, or fails with the reason in `reason` (when given).
  static FailureOr<RowKernelPlan> get(const FusionGroup &group,
                                      const RowKernelOptions &options,
                                      std::string *reason);

  /// Floats of shared memory a reduction over groups of `groupLength`
  /// elements of a row needs (0 when shuffles suffice).
  int64_t getReductionSharedFloats(int64_t groupLength) const;

  /// Whether the first warp of a row computes the row's step (or trust
  /// deviation) and the step's reciprocal for the others: rows of 2 to 8
  /// warps.
  bool usesFirstWarpValues() const;

  /// The layout a Hadamard transform leaves its result in, for an input
  /// held in `layouts[layout]`.
  unsigned getLayoutAfterHadamard(unsigned layout) const {
    return (layout + 1) % layouts.size();
  }
};

/// The most elements of one row tensor a thread keeps in registers.
constexpr int64_t kMaxElementsPerThread = 32;
/// Floats of a warp's exchange region (RowKernelPlan::layouts): 4 pairs of
/// blocks, 35 granules of 4 floats each; see RowKernelEmitter::exchangeLayout.
constexpr int64_t kExchangeFloats = 4 * 35 * 4;
/// Static shared memory a kernel may use without opting in.
constexpr int64_t kMaxSharedBytes = 48 * 1024;
/// NVIDIA's warp.
constexpr int64_t kWarpThreads = 32;
/// A cross-warp reduction over at most this many warps has every thread add
/// the warp totals one after the other (8 shared-memory loads and adds);
/// over more, a second subgroup reduction combines them.
constexpr int64_t kSerialWarpTotals = 8;
/// Threads per row (one CTA) of a group without a Hadamard transform; see
/// RowKernelPlan::get.
constexpr int64_t kMaxElementwiseRowThreads = 512;

/// Emits the launch (and the reduction launches of per_tensor statistics)
/// that computes `group` at the builder's insertion point. Fills
/// `replacements` with the tensor that replaces each result used outside the
/// group.
void emitRowKernel(ImplicitLocOpBuilder &b, const FusionGroup &group,
                   const RowKernelPlan &plan,
                   DenseMap<Value, Value> &replacements);

//===----------------------------------------------------------------------===//
// Whole-tensor reductions (WholeTensorReduction.cpp)
//===----------------------------------------------------------------------===//

/// What a whole-tensor reduction sums or maximizes.
enum class TensorReductionKind {
  /// sum(x^2)
  SumOfSquares,
  /// max|x|
  AbsMax,
  /// sum(x)
  Sum,
};

/// Emits launches that reduce the N elements of the 1-D buffer `input` and
/// store `epilogue(total)` (an f32, truncated to the element type of
/// `output`) into `output[0]`. N may be dynamic (the flattened buffer of a
/// tensor of dynamic rows), a multiple of the static `rowLength`: the
/// counts of the launches are then computed on the host.
void emitWholeTensorReduction(
    ImplicitLocOpBuilder &b, Value input, TensorReductionKind kind,
    function_ref<Value(ImplicitLocOpBuilder &, Value)> epilogue, Value output,
    int64_t rowLength = 0);

/// max(N, 1) in f32 for the N elements of the 1-D buffer `flat` (dynamic),
/// computed on the host: the count of a whole-tensor statistic over dynamic
/// rows, as the linalg route counts it.
Value emitNonZeroCount(ImplicitLocOpBuilder &b, Value flat);

/// Emits the per_tensor qat.scale `op` at the builder's insertion point and
/// returns the tensor of its step.
Value emitWholeTensorScale(ImplicitLocOpBuilder &b, ScaleOp op);

/// Emits the per_tensor qat.rms `op` at the builder's insertion point and
/// returns the tensor of its deviation.
Value emitWholeTensorRms(ImplicitLocOpBuilder &b, RmsOp op);

/// sqrt(total / elements), the deviation of a whole tensor from its sum of
/// squares (the trust estimator's and qat.rms's, computed alike).
Value emitWholeTensorDeviation(ImplicitLocOpBuilder &b, Value total,
                               const GroupLength &elements);

/// sqrt(value), correctly rounded on the GPU.
Value emitSqrt(ImplicitLocOpBuilder &b, Value value);

/// value / divisor (f32, IEEE division) for a constant divisor, without
/// the division sequence where the divisor (in [2^-32, 2^32]) and the value
/// allow.
Value emitDivideByConstant(ImplicitLocOpBuilder &b, Value value,
                           double divisor);

/// The dialect's scalar math (QuantizerMath.h) with the row kernels'
/// primitives: the same bits as the defaults, computed with full-rate FP32
/// and integer instructions in place of conversions, divisions and libdevice
/// calls (RowwiseKernelEmitter.cpp says why and in which ranges).
class GPUQuantMath : public QuantMath {
public:
  explicit GPUQuantMath(ImplicitLocOpBuilder &b)
      : QuantMath(b, b.getLoc()), b(b) {}

  Value divideByConstant(Value x, double d) override;
  Value sqrt(Value x) override;
  Value roundEven(Value y, bool keepZeroSign) override;
  Value roundToI32(Value y) override;
  Value cos(Value theta, double maxAbs) override;

private:
  ImplicitLocOpBuilder &b;
};

/// The step of `quantizer` from the statistic of its group (`total` is
/// sum(x^2) for rms_gaussian, max|x| for absmax).
Value emitStepFromReduction(ImplicitLocOpBuilder &b, QuantizerAttr quantizer,
                            Value total, const GroupLength &groupLength);

//===----------------------------------------------------------------------===//
// Host-side helpers shared by the emitters
//===----------------------------------------------------------------------===//

/// `bufferization.to_buffer %tensor read_only` with an identity layout.
Value toReadOnlyBuffer(ImplicitLocOpBuilder &b, Value tensor);

/// Views a buffer as [R, last] (collapsing the leading dimensions, or
/// expanding a 1-D buffer to [1, N]).
Value viewAsRows(ImplicitLocOpBuilder &b, Value buffer);

/// Views a buffer as 1-D.
Value viewAsFlat(ImplicitLocOpBuilder &b, Value buffer);

/// `memref.alloc` of a buffer for a tensor of `type`; its dynamic sizes are
/// those of the buffer `like` at the same positions (row tensors of a group
/// share their leading dimensions).
Value allocBufferFor(ImplicitLocOpBuilder &b, RankedTensorType type,
                     Value like = {});

/// `bufferization.to_tensor %buffer restrict writable`.
Value toTensor(ImplicitLocOpBuilder &b, Value buffer, RankedTensorType type);

/// The largest power of two <= maxWidth that divides every value of
/// `divides`.
int64_t getVectorWidth(int64_t maxWidth, ArrayRef<int64_t> divides);

/// A gpu.launch of `blocks` x 1 x 1 CTAs of `threadsX` x `threadsY` x 1
/// threads with `sharedFloats` floats of dynamic shared memory. Its body
/// holds only the terminator; the builder is left before it.
///
/// Shared memory is dynamic (gpu.dynamic_shared_memory) rather than a
/// workgroup attribution of the launch: ownership-based buffer deallocation,
/// which runs on the host function after bufferization, takes an
/// attribution for a memref argument of the launch body and adds an
/// ownership argument next to it, which gpu.launch then rejects.
gpu::LaunchOp createLaunch(ImplicitLocOpBuilder &b, int64_t blocks,
                           int64_t threadsX, int64_t threadsY,
                           int64_t sharedFloats);
/// The same with a grid size computed at run time (an index value).
gpu::LaunchOp createLaunch(ImplicitLocOpBuilder &b, Value blocks,
                           int64_t threadsX, int64_t threadsY,
                           int64_t sharedFloats);

/// In a launch body: its dynamic shared memory as memref<N x f32, 3>.
Value getSharedFloats(ImplicitLocOpBuilder &b, int64_t sharedFloats);

/// Lowers the gpu.subgroup_reduce ops of `launch` to butterfly shuffles
/// (convert-gpu-to-nvvm only lowers i32 subgroup reductions, to redux.sync,
/// so an f32 one would be left illegal) and folds the kernel body.
void lowerSubgroupReductions(Operation *launch);

} // namespace mlir::qat

#endif // QAT_LIB_CONVERSION_QATTOGPU_ROWWISEFUSION_H
