//===- RowwiseKernelEmitter.cpp - One fused kernel per group ----*- C++ -*-===//
//
// Plans and emits the gpu.launch that computes a fusion group of row-local
// qat ops: one row per group of threads, values in registers, reductions by
// subgroup reductions and shared memory, the Hadamard transform as
// butterflies.
//
//===----------------------------------------------------------------------===//

#include "RowwiseFusion.h"

#include "qat/Conversion/GPUShapeChecks/GPUShapeChecks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <limits>
#include <numeric>

using namespace mlir;
using namespace mlir::qat;

//===----------------------------------------------------------------------===//
// Planning
//===----------------------------------------------------------------------===//

/// The most values an op hands from the first warp of a row to the others
/// (RowKernelEmitter::computeInFirstWarp): a step, its reciprocal, and the
/// deviation of a qat.rms of the same tensor.
constexpr int64_t kFirstWarpValues = 3;

/// Rows of groups without row reductions are split over CTAs of at most
/// this many threads (see RowKernelPlan::get).
constexpr int64_t kMaxSegmentThreads = 512;

/// Whether `type` is a float type the kernels load and store (computing in
/// f32 throughout).
static bool isSupportedFloat(Type type) {
  return type.isF32() || type.isBF16() || type.isF16();
}

bool RowKernelPlan::usesFirstWarpValues() const {
  return threadsPerRow > kWarpThreads &&
         threadsPerRow <= kWarpThreads * kSerialWarpTotals;
}

int64_t RowKernelPlan::getReductionSharedFloats(int64_t groupLength) const {
  int64_t chunksPerGroup = groupLength / vectorWidth;
  int64_t warpsPerRow = threadsPerRow / kWarpThreads;
  if (chunksPerGroup >= chunks) {
    // One slot per warp of the summation order (RowLayout::getRowLanes);
    // the other layouts hold no more lanes than the first.
    int64_t warps = layouts.front().getRowLanes() / kWarpThreads;
    return warps > 1 ? rowsPerBlock * warps : 0;
  }
  if (llvm::isPowerOf2_64(chunksPerGroup)) {
    int64_t values = chunksPerGroup >= threadsPerRow
                         ? chunksPerThread / (chunksPerGroup / threadsPerRow)
                         : chunksPerThread;
    int64_t lanes = std::min(chunksPerGroup, threadsPerRow);
    return lanes > kWarpThreads ? rowsPerBlock * values * warpsPerRow : 0;
  }
  return rowsPerBlock * chunksPerThread * threadsPerRow;
}

/// The group lengths of the in-kernel reductions of `op`, in the order the
/// emitter allocates their shared memory.
static SmallVector<int64_t> getReductionGroupLengths(Operation *op,
                                                     RowShape shape) {
  SmallVector<int64_t> lengths;
  QuantizerAttr quantizer = getQuantizer(op);
  // (A qat.rms next to an rms_gaussian qat.scale of the same tensor shares
  // its reduction; the plan counts both.)
  if (isa<ScaleOp, RmsOp>(op))
    lengths.push_back(getStepGroupLength(quantizer, shape));
  if (auto grad = dyn_cast<FakeQuantGradOp>(op)) {
    if (grad.getEstimator().getGroupStatistic() ==
            GroupStatistic::RootMeanSquare &&
        !grad.getStd() && !needsWholeTensorStd(op))
      lengths.push_back(getStepGroupLength(quantizer, shape));
    if (grad.getScaleGrad())
      lengths.push_back(needsWholeTensorStepGrad(op)
                            ? shape.length
                            : getStepGroupLength(quantizer, shape));
  }
  return lengths;
}

int64_t mlir::qat::getVectorWidth(int64_t maxWidth, ArrayRef<int64_t> divides) {
  int64_t width = maxWidth;
  while (width > 1 &&
         llvm::any_of(divides, [&](int64_t n) { return n % width != 0; }))
    width /= 2;
  return width;
}

/// Whether every Hadamard transform of `group` has blocks of 128 and every
/// reduction spans whole rows (QuEST's groups): what the exchanged layout
/// assumes.
static bool hasQuESTBlocks(const FusionGroup &group) {
  for (Operation *op : group.ops) {
    if (auto hadamard = dyn_cast<HadamardOp>(op))
      if (hadamard.getBlock() != 128)
        return false;
    for (int64_t groupLength : getReductionGroupLengths(op, group.shape))
      if (groupLength < group.shape.length)
        return false;
  }
  return true;
}

FailureOr<RowKernelPlan> RowKernelPlan::get(const FusionGroup &group,
                                            const RowKernelOptions &options,
                                            std::string *reason) {
  auto fail = [&](const Twine &message) -> FailureOr<RowKernelPlan> {
    if (reason)
      *reason = message.str();
    return failure();
  };
  auto typeName = [](Type type) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << type;
    return text;
  };

  // The row kernels reduce the statistics the dialect's estimators declare
  // today (none, or the group's root mean square).
  for (Operation *op : group.ops)
    if (auto grad = dyn_cast<FakeQuantGradOp>(op))
      if (GroupStatistic statistic = grad.getEstimator().getGroupStatistic();
          statistic != GroupStatistic::None &&
          statistic != GroupStatistic::RootMeanSquare) {
        std::string estimator;
        llvm::raw_string_ostream os(estimator);
        os << grad.getEstimator();
        return fail("the row kernels do not reduce the per-group statistic "
                    "that the estimator " +
                    estimator + " asks for");
      }

  RowKernelPlan plan;
  plan.shape = group.shape;
  // A group that reduces nothing over a row (QuEST's backward given the
  // deviation) can split long rows over several CTAs: a row of 11008
  // elements is then two CTAs of 352 threads, three an SM, instead of one
  // of 704 whose 22 warps load and compute in lockstep. The parts keep
  // whole Hadamard blocks, quantization groups and 16-element chunks.
  bool reducesRows = false;
  int64_t unit = 16;
  for (Operation *op : group.ops) {
    reducesRows |= !getReductionGroupLengths(op, plan.shape).empty() ||
                   needsWholeTensorStd(op) ||
                   llvm::any_of(op->getResults(), [](OpResult result) {
                     return getResultKind(result) == RowValueKind::Steps;
                   });
    if (auto hadamard = dyn_cast<HadamardOp>(op))
      unit = std::lcm(unit, int64_t(hadamard.getBlock()));
    if (QuantizerAttr quantizer = getQuantizer(op))
      if (quantizer.getGranularity() == Granularity::PerGroup)
        unit = std::lcm(unit, quantizer.getGroupSize());
  }
  int64_t perThread = std::max<int64_t>(1, options.elementsPerThread);
  if (!reducesRows && group.shape.length / perThread > kMaxSegmentThreads) {
    for (int64_t parts = 2; group.shape.length / parts >= unit; ++parts) {
      int64_t part = group.shape.length / parts;
      if (group.shape.length % parts == 0 && part % unit == 0 &&
          part / perThread <= kMaxSegmentThreads) {
        plan.segments = parts;
        plan.shape = {group.shape.hasDynamicRows() ? ShapedType::kDynamic
                                                   : group.shape.rows * parts,
                      part};
        break;
      }
    }
  }
  int64_t length = plan.shape.length;

  // Element types, the widest float of the rows, and what the vector width
  // must divide so that a chunk never straddles two steps or half a byte.
  int64_t widestFloatBytes = 2;
  bool packed = false;
  SmallVector<int64_t> divides = {length};
  for (Operation *op : group.ops) {
    // (type, whether it is a row of values), steps are read as scalars.
    SmallVector<std::pair<Type, bool>> types;
    for (OpOperand &operand : op->getOpOperands())
      if (isa<RankedTensorType>(operand.get().getType())) // (not a seed)
        types.emplace_back(operand.get().getType(),
                           getOperandKind(operand) != RowValueKind::Steps);
    for (OpResult result : op->getResults())
      types.emplace_back(result.getType(),
                         getResultKind(result) != RowValueKind::Steps);
    for (auto [type, isRow] : types) {
      Type element = cast<RankedTensorType>(type).getElementType();
      if (isa<FloatType>(element)) {
        if (!isSupportedFloat(element))
          return fail("element type '" + typeName(element) +
                      "' is not supported by the GPU row kernels (f32, bf16 "
                      "or f16)");
        if (isRow)
          widestFloatBytes = std::max<int64_t>(
              widestFloatBytes, element.getIntOrFloatBitWidth() / 8);
        continue;
      }
      unsigned width = element.getIntOrFloatBitWidth();
      if (width != 8 && width != 16 && width != 32 && width != 64)
        return fail("code type '" + typeName(element) +
                    "' is not byte-addressable on the GPU; store codes as i8 "
                    "(or packed)");
    }
    if (auto quantize = dyn_cast<QuantizeOp>(op))
      packed |= quantize.getPacked();
    if (auto dequantize = dyn_cast<DequantizeOp>(op))
      packed |= dequantize.getPacked();
    if (QuantizerAttr quantizer = getQuantizer(op))
      if (quantizer.getGranularity() == Granularity::PerGroup)
        divides.push_back(quantizer.getGroupSize());
  }
  plan.vectorWidth = getVectorWidth(16 / widestFloatBytes, divides);
  if (packed && plan.vectorWidth < 2)
    return fail("packed codes need quantization groups of an even length, so "
                "that a byte never holds codes of two groups");

  // Threads per row: enough that each holds about `elementsPerThread`
  // elements per row tensor (registers stay bounded and each thread has
  // several 16-byte loads in flight), at most 1024. A power of two keeps
  // every butterfly partner and reduction cluster an aligned group of lanes
  // of one chunk round j for any block and group size.
  //
  // A row is one CTA, and a long row's CTA can hold the register file of an
  // SM alone: at 704 threads, two CTAs fit 64K registers only below 41
  // registers a thread. Without a Hadamard transform (elementwise math and
  // row reductions) a row takes at most kMaxElementwiseRowThreads threads,
  // which hold more chunks each (two CTAs an SM instead of one). The QuEST
  // kernels keep the wider CTA: their registers grow faster with the chunks.
  // Measurements: docs/gpu-row-kernels.md, "Measurements behind the plan".
  plan.chunks = length / plan.vectorWidth;
  bool hasHadamard = llvm::any_of(
      group.ops, [](Operation *op) { return isa<HadamardOp>(op); });
  // (More threads where fewer would hold over kMaxElementsPerThread.)
  int64_t maxThreads =
      hasHadamard
          ? 1024
          : std::clamp<int64_t>(llvm::divideCeil(length, kMaxElementsPerThread),
                                kMaxElementwiseRowThreads, 1024);
  int64_t chunkTarget =
      std::max<int64_t>(1, options.elementsPerThread / plan.vectorWidth);
  int64_t wanted = llvm::divideCeil(plan.chunks, chunkTarget);
  plan.threadsPerRow =
      std::min<int64_t>(int64_t(llvm::bit_floor(uint64_t(maxThreads))),
                        int64_t(llvm::PowerOf2Ceil(wanted)));
  plan.chunksPerThread = llvm::divideCeil(plan.chunks, plan.threadsPerRow);
  // Any multiple of the row's aligned structures (warps, Hadamard blocks
  // and power-of-two reduction groups, in chunks) serves as well, and wastes
  // less of the last chunk round: rows of 11008 bf16 elements (1376 chunks)
  // take 704 threads of 2 chunks each rather than 1024 threads of which a
  // third are idle in the second round.
  if (wanted > kWarpThreads) {
    int64_t unit = kWarpThreads;
    for (Operation *op : group.ops) {
      if (auto hadamard = dyn_cast<HadamardOp>(op))
        unit = std::max<int64_t>(unit, int64_t(hadamard.getBlock()) /
                                           plan.vectorWidth);
      for (int64_t groupLength : getReductionGroupLengths(op, plan.shape)) {
        int64_t groupChunks = groupLength / plan.vectorWidth;
        if (groupChunks < plan.chunks && llvm::isPowerOf2_64(groupChunks))
          unit = std::max(unit, groupChunks);
      }
    }
    int64_t unitThreads = maxThreads / unit * unit;
    if (unitThreads > 0) {
      int64_t rounds = std::max<int64_t>(
          chunkTarget, llvm::divideCeil(plan.chunks, unitThreads));
      int64_t threads =
          llvm::alignTo(llvm::divideCeil(plan.chunks, rounds), unit);
      if (threads * rounds < plan.threadsPerRow * plan.chunksPerThread) {
        plan.threadsPerRow = threads;
        plan.chunksPerThread = rounds;
      }
    }
  }
  int64_t elements = plan.chunksPerThread * plan.vectorWidth;
  if (elements > kMaxElementsPerThread)
    return fail("rows of " + Twine(length) +
                " elements are too long for the fused GPU row kernels: with "
                "1024 threads per row each thread would hold " +
                Twine(elements) +
                " elements of every row tensor in "
                "registers, at most " +
                Twine(kMaxElementsPerThread) + " fit (rows of at most " +
                Twine(1024 * kMaxElementsPerThread) + " elements)");

  // The paired layout (see RowLayout): a butterfly stage of every Hadamard
  // block in registers where each thread holds two chunks of the same
  // blocks. Reductions keep the summation order of the plain layout (one
  // exchange between the two halves of each warp, then the warp's butterfly
  // with the lane bits renamed), which this does for reductions over whole
  // rows only.
  RowLayout layout = RowLayout::getPlain(plan.threadsPerRow,
                                         plan.chunksPerThread, plan.chunks);
  if (plan.chunksPerThread == 2 && plan.threadsPerRow % kWarpThreads == 0) {
    // The smallest and largest Hadamard blocks, in chunks.
    int64_t blockChunks = 0, maxBlockChunks = 0;
    bool wholeRows = true;
    for (Operation *op : group.ops) {
      if (auto hadamard = dyn_cast<HadamardOp>(op)) {
        int64_t chunksOfBlock = int64_t(hadamard.getBlock()) / plan.vectorWidth;
        blockChunks =
            blockChunks ? std::min(blockChunks, chunksOfBlock) : chunksOfBlock;
        maxBlockChunks = std::max(maxBlockChunks, chunksOfBlock);
      }
      for (int64_t groupLength : getReductionGroupLengths(op, plan.shape))
        wholeRows &= groupLength / plan.vectorWidth >= plan.chunks;
    }
    // Bit 3 where the blocks allow: a warp's accesses then cover whole
    // 128-byte lines. Blocks beyond a warp's 32 chunks need T >= 64 (the
    // stages of their upper bits then pair warps, through shared memory).
    if (wholeRows && blockChunks >= 4 &&
        (maxBlockChunks <= kWarpThreads || plan.threadsPerRow > kWarpThreads)) {
      int64_t pairBit = std::min<int64_t>(3, llvm::Log2_64(blockChunks) - 1);
      // The quad layout: half the threads, two butterfly stages in
      // registers, for QuEST's forward (fewer instructions per element for
      // more registers). Groups with a gradient keep the paired layout,
      // whose registers stay within bounds (docs/gpu-row-kernels.md,
      // "Measurements behind the plan").
      bool backward = llvm::any_of(
          group.ops, [](Operation *op) { return isa<FakeQuantGradOp>(op); });
      if (pairBit == 3 && blockChunks >= 16 && maxBlockChunks <= 32 &&
          plan.threadsPerRow % 64 == 0 && !backward) {
        plan.threadsPerRow /= 2;
        plan.chunksPerThread = 4;
        layout = RowLayout::getQuad(plan.threadsPerRow, plan.chunks);
      } else {
        layout = RowLayout::getPaired(plan.threadsPerRow, plan.chunks, pairBit);
      }
    }
  }
  plan.layouts.push_back(layout);

  // Short rows share a CTA so that it still has at least 128 threads (4
  // warps): fewer would cap the resident warps per SM by the CTA limit.
  // With dynamic rows the grid is ceil(R / rowsPerBlock) computed by the
  // host at run time; only a CTA of several rows can have rows beyond R (a
  // guard on every access slowed the kernels down: docs/benchmarks.md,
  // dynamic rows).
  plan.rowsPerBlock = std::max<int64_t>(1, 128 / plan.threadsPerRow);
  plan.guardChunks = plan.chunks % plan.threadsPerRow != 0;
  if (plan.shape.hasDynamicRows()) {
    plan.blocks = ShapedType::kDynamic;
    plan.guardRows = plan.rowsPerBlock > 1;
  } else {
    plan.rowsPerBlock = std::min(plan.rowsPerBlock, plan.shape.rows);
    plan.blocks = llvm::divideCeil(plan.shape.rows, plan.rowsPerBlock);
    if (plan.blocks > kMaxGridX)
      return fail(Twine(plan.shape.rows) + " rows need " + Twine(plan.blocks) +
                  " CTAs, more than a 1-D grid launches (" + Twine(kMaxGridX) +
                  ")");
    plan.guardRows = plan.shape.rows % plan.rowsPerBlock != 0;
  }

  // Shared memory: a padded copy of the CTA's rows when a Hadamard stage
  // pairs threads of different warps (block > 32 * V), one region per
  // reduction that combines warps.
  for (Operation *op : group.ops) {
    auto hadamard = dyn_cast<HadamardOp>(op);
    if (hadamard &&
        int64_t(hadamard.getBlock()) > kWarpThreads * plan.vectorWidth &&
        plan.threadsPerRow > kWarpThreads)
      plan.hadamardSharedFloats = plan.rowsPerBlock * plan.chunksPerThread *
                                  plan.threadsPerRow * plan.vectorWidth;
  }
  plan.sharedFloats = plan.hadamardSharedFloats;
  for (Operation *op : group.ops)
    for (int64_t groupLength : getReductionGroupLengths(op, plan.shape))
      plan.sharedFloats += plan.getReductionSharedFloats(groupLength);
  // Per op with a reduction over whole rows, and per row, the values that
  // the first warp computes for the others (see
  // RowKernelEmitter::computeInFirstWarp).
  if (plan.usesFirstWarpValues())
    for (Operation *op : group.ops)
      if (llvm::any_of(
              getReductionGroupLengths(op, plan.shape),
              [&](int64_t groupLength) { return groupLength >= length; }))
        plan.sharedFloats += plan.rowsPerBlock * kFirstWarpValues;
  // The exchanged layout where its shared memory fits; without it the
  // stages across lanes are shuffles. Only the quad layout (the forward):
  // in the paired one (the backward) the exchange gained nothing (docs/
  // gpu-row-kernels.md, "Measurements behind the plan").
  if (options.hadamardExchange && hasHadamard && plan.vectorWidth == 8 &&
      layout.hasExchangedForm()) {
    bool eligible = hasQuESTBlocks(group);
    for (Operation *op : group.ops)
      if (QuantizerAttr quantizer = getQuantizer(op))
        eligible &= quantizer.getGranularity() != Granularity::PerGroup;
    int64_t warps = plan.rowsPerBlock * plan.threadsPerRow / kWarpThreads;
    int64_t floats = warps * kExchangeFloats;
    if (eligible && (plan.sharedFloats + floats) * 4 <= kMaxSharedBytes) {
      plan.layouts.push_back(layout.getExchanged());
      plan.exchangeSharedFloats = floats;
      plan.sharedFloats += floats;
    }
  }
  if (plan.sharedFloats * 4 > kMaxSharedBytes)
    return fail("the fused GPU row kernel would need " +
                Twine(plan.sharedFloats * 4) +
                " bytes of shared memory (Hadamard stages across warps and "
                "reductions over rows of " +
                Twine(length) + " elements), more than the " +
                Twine(kMaxSharedBytes) + " a kernel may use statically");
  return plan;
}

//===----------------------------------------------------------------------===//
// Math shared by the emitters
//===----------------------------------------------------------------------===//

static Value constantF32(ImplicitLocOpBuilder &b, double value) {
  return arith::ConstantOp::create(b, b.getF32FloatAttr(float(value)));
}

Value mlir::qat::emitSqrt(ImplicitLocOpBuilder &b, Value value) {
  // An f32 math.sqrt becomes libdevice's __nv_sqrtf, which picks
  // sqrt.approx.f32 unless __CUDA_PREC_SQRT is set, and MLIR's NVVM target
  // does not set it (llvm.intr.sqrt is rewritten to the same call, and NVVM
  // intrinsics or inline PTX have no memory effects that buffer deallocation
  // accepts). The f64 root is sqrt.rn.f64, and rounding it to f32 gives the
  // correctly rounded f32 root (double rounding is innocuous for square
  // roots when 53 >= 2*24 + 2), which is what the reference and PyTorch
  // compute. It runs once per quantization group.
  Value wide = arith::ExtFOp::create(b, b.getF64Type(), value);
  return arith::TruncFOp::create(b, b.getF32Type(),
                                 math::SqrtOp::create(b, wide));
}

Value mlir::qat::emitDivideByConstant(ImplicitLocOpBuilder &b, Value value,
                                      double divisor) {
  // A power of two: LLVM multiplies by its exact reciprocal. Outside the
  // range of the correction: the division itself.
  int exponent;
  if (std::frexp(divisor, &exponent) == 0.5 || !(divisor >= 0x1p-32) ||
      !(divisor <= 0x1p32) || double(float(divisor)) != divisor)
    return arith::DivFOp::create(b, value, constantF32(b, divisor));
  // Markstein's correction with y = 1/d correctly rounded, as in
  // divideBySteps (same ranges): three instructions where div.rn.f32 takes
  // about ten and a branch. One value per row, so the threads of a row
  // take the same side.
  llvm::APFloat reciprocal(1.0f);
  reciprocal.divide(llvm::APFloat(float(divisor)),
                    llvm::APFloat::rmNearestTiesToEven);
  Value d = constantF32(b, divisor);
  Value y = constantF32(b, double(reciprocal.convertToFloat()));
  Value magnitude = math::AbsFOp::create(b, value);
  auto compare = [&](arith::CmpFPredicate predicate, Value lhs, double rhs) {
    return arith::CmpFOp::create(b, predicate, lhs, constantF32(b, rhs));
  };
  Value inRange = arith::AndIOp::create(
      b, compare(arith::CmpFPredicate::OLE, magnitude, 0x1p64),
      arith::OrIOp::create(
          b, compare(arith::CmpFPredicate::OGE, magnitude, 0x1p-64),
          compare(arith::CmpFPredicate::OEQ, value, 0.0)));
  auto ifOp = scf::IfOp::create(b, TypeRange{b.getF32Type()}, inRange,
                                /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  Value q = arith::MulFOp::create(b, value, y);
  Value e = math::FmaOp::create(b, d, q, arith::NegFOp::create(b, value));
  scf::YieldOp::create(
      b, ValueRange{math::FmaOp::create(b, e, arith::NegFOp::create(b, y), q)});
  b.setInsertionPointToStart(ifOp.elseBlock());
  scf::YieldOp::create(b, ValueRange{arith::DivFOp::create(b, value, d)});
  return ifOp.getResult(0);
}

Value mlir::qat::emitStepFromReduction(ImplicitLocOpBuilder &b,
                                       QuantizerAttr quantizer, Value total,
                                       const GroupLength &groupLength) {
  GPUQuantMath math(b);
  return quantizer.buildStep(math, total, groupLength);
}

//===----------------------------------------------------------------------===//
// Exact arithmetic off the conversion and special-function units
//===----------------------------------------------------------------------===//
//
// The row kernels are bound by instruction issue (docs/gpu-row-kernels.md:
// the schedulers issue most cycles while DRAM stays far from its
// bandwidth): per element they may spend only about as many
// instructions as moving its bytes takes, and few of them on the units that
// run at 16 lanes per clock and SM on sm_80/sm_90, an eighth of the FP32
// rate: conversions (cvt.rni for roundeven, cvt.rzi for fptosi) and MUFU
// (the reciprocal inside every div.rn.f32). The helpers below compute the
// same bits as roundeven, fptosi and x / s, and cos within 1.7e-7, with
// full-rate FP32 and integer instructions, in stated ranges that the
// callers guarantee or check.

/// 1.5 * 2^23. For |y| <= 2^22, y + kRoundingShift lies in [2^23, 2^24),
/// where consecutive floats are 1 apart: the addition rounds y to an integer
/// half to even (the constant is even), and the sum's bit pattern is
/// kRoundingShiftBits + round(y).
constexpr float kRoundingShift = 12582912.0f;
constexpr int32_t kRoundingShiftBits = 0x4B400000;

static Value constantI32(ImplicitLocOpBuilder &b, int64_t value) {
  return arith::ConstantOp::create(b, b.getI32IntegerAttr(int32_t(value)));
}

static Value bitsOf(ImplicitLocOpBuilder &b, Value value) {
  return arith::BitcastOp::create(b, b.getI32Type(), value);
}

/// y + 1.5 * 2^23 (see kRoundingShift).
static Value addRoundingShift(ImplicitLocOpBuilder &b, Value y) {
  return arith::AddFOp::create(b, y, constantF32(b, kRoundingShift));
}

/// roundeven(y) for |y| <= 2^22 (any result otherwise). With `keepZeroSign`
/// a result of zero has y's sign, as roundeven gives it (-0.3 -> -0);
/// without, it may be +0.
static Value roundEvenSmall(ImplicitLocOpBuilder &b, Value y,
                            bool keepZeroSign) {
  Value rounded = arith::SubFOp::create(b, addRoundingShift(b, y),
                                        constantF32(b, kRoundingShift));
  if (!keepZeroSign)
    return rounded;
  return math::CopySignOp::create(b, rounded, y);
}

namespace {

/// The largest |theta| for which emitCos's argument reduction is accurate
/// (that of libdevice's cosf fast path, whose constants it uses).
constexpr double kCosFastPathLimit = 105615.0;

/// cos(theta) for |theta| <= 105615 in 14 full-rate instructions: j =
/// rint(theta / pi) (the rounding shift), r = theta - j*pi in three fused
/// steps (Cody-Waite with libdevice's parts of pi/2, doubled), and cos r on
/// [-pi/2, pi/2] as an even polynomial of degree 10 (a least-maximum-error
/// fit of cos(sqrt(u)), u = r^2), its sign flipped for odd j. Its error is
/// at most 1.7e-7 (measured over 2e8 arguments with this f32 sequence;
/// libdevice's cosf: 8.7e-8). libdevice's cosf takes twice the
/// instructions: a quadrant (theta / (pi/2)) picks a sine or a cosine
/// polynomial through selects, its quadrant costs 2 conversions, and each
/// element branches to a Payne-Hanek reduction through local memory for
/// larger arguments. Callers use this only where |theta| is bounded.
Value emitCos(ImplicitLocOpBuilder &b, Value theta) {
  auto bitsConstant = [&](uint32_t bits) {
    return constantF32(b, llvm::bit_cast<float>(bits));
  };
  // 1/pi, and pi = c1 + c2 + c3 (2x libdevice's pi/2 parts).
  Value shifted = math::FmaOp::create(b, theta, bitsConstant(0x3EA2F983),
                                      constantF32(b, kRoundingShift));
  Value j = arith::SubFOp::create(b, shifted, constantF32(b, kRoundingShift));
  Value r = math::FmaOp::create(b, j, bitsConstant(0xC0490FDA), theta);
  r = math::FmaOp::create(b, j, bitsConstant(0xB4222168), r);
  r = math::FmaOp::create(b, j, bitsConstant(0xA84234C5), r);
  Value u = arith::MulFOp::create(b, r, r);
  Value z = bitsConstant(0xB48BD8DF);
  for (uint32_t coefficient :
       {0x37CFB3B1u, 0xBAB60999u, 0x3D2AAAA2u, 0xBF000000u, 0x3F800000u})
    z = math::FmaOp::create(b, z, u, bitsConstant(coefficient));
  // (-1)^j: the low bit of the shifted sum is j's parity.
  Value sign = arith::ShLIOp::create(b, bitsOf(b, shifted), constantI32(b, 31));
  Value flipped = arith::XOrIOp::create(b, bitsOf(b, z), sign);
  return arith::BitcastOp::create(b, b.getF32Type(), flipped);
}

} // namespace

Value GPUQuantMath::divideByConstant(Value x, double d) {
  return emitDivideByConstant(b, x, d);
}

Value GPUQuantMath::sqrt(Value x) { return emitSqrt(b, x); }

Value GPUQuantMath::roundEven(Value y, bool keepZeroSign) {
  return roundEvenSmall(b, y, keepZeroSign);
}

/// The low bits of the shifted sum are the rounded value (see
/// kRoundingShift): no conversion instruction.
Value GPUQuantMath::roundToI32(Value y) {
  return arith::SubIOp::create(b, bitsOf(b, addRoundingShift(b, y)),
                               ::constantI32(b, kRoundingShiftBits));
}

Value GPUQuantMath::cos(Value theta, double maxAbs) {
  // Some slack over the bound for the rounding of the angle's factors.
  if (maxAbs * (1 + 0x1p-20) <= kCosFastPathLimit)
    return emitCos(b, theta);
  return math::CosOp::create(b, theta);
}

namespace {

//===----------------------------------------------------------------------===//
// RowKernelEmitter
//===----------------------------------------------------------------------===//

/// An external input of a group as the kernel reads it: a row of floats,
/// a row of codes (`detail`: packed or not), or steps shared by groups of
/// `detail` elements.
using InputLoad = std::tuple<Value, RowValueKind, int64_t>;

/// Emits one group: host-side buffers, the launch, the kernel body.
///
/// The body is straight-line code over the C * V elements a thread holds of
/// each row tensor (fully unrolled at emission time): every value of the
/// group is a list of f32 SSA values (i32 for codes, one f32 per chunk for
/// steps), so values that only the group uses never leave registers. Memory
/// accesses (and the rare exact-division fallback) are the only guarded
/// operations (scf.if), so that every thread reaches every shuffle and
/// barrier.
///
/// Why one row per CTA rather than a CTA that walks rows and loads the next
/// one while it computes the current one: with a loop in the kernel, ptxas
/// kept two to three times the registers (loop-invariant constants and
/// interleaved rows), and every variant (2 to 4 rows a thread, as a loop or
/// unrolled) ran slower. The kernels are bound by instruction issue, not by
/// memory latency; see docs/gpu-row-kernels.md.
class RowKernelEmitter {
public:
  RowKernelEmitter(ImplicitLocOpBuilder &b, const FusionGroup &group,
                   const RowKernelPlan &plan)
      : b(b), group(group), plan(plan), V(plan.vectorWidth),
        T(plan.threadsPerRow), C(plan.chunksPerThread), K(plan.chunks),
        RB(plan.rowsPerBlock) {}

  void emit(DenseMap<Value, Value> &replacements);

private:
  // Host side.
  Value getInputBuffer(Value tensor);
  bool isOutput(Value result) const;
  Value viewAsSegments(Value rows);
  void emitDynamicGrid(Value rows);

  // Kernel body.
  void emitBody(gpu::LaunchOp launch);
  void emitOp(Operation *op);
  void emitHadamard(HadamardOp op);
  void emitScale(ScaleOp op);
  void emitRms(RmsOp op);
  void drawFor(GPUQuantMath &math, Value seed, int64_t j, int64_t l);
  void emitQuantize(QuantizeOp op);
  void emitDequantize(DequantizeOp op);
  void emitFakeQuant(FakeQuantOp op);
  void emitFakeQuantGrad(FakeQuantGradOp op);
  void emitElementwise(linalg::LinalgOp op);

  SmallVector<Value> loadRaw(const InputLoad &load);
  ArrayRef<Value> getRaw(const InputLoad &load);
  SmallVector<Value> loadValues(Value tensor, unsigned layout);
  void appendUnpacked(Value vector, SmallVector<Value> &elements);
  ArrayRef<Value> getValues(Value tensor);
  ArrayRef<Value> getCodes(Value tensor, bool packed);
  SmallVector<Value> loadCodes(Value tensor, bool packed);
  ArrayRef<Value> inOpLayout(Value tensor, ArrayRef<Value> held,
                             DenseMap<Value, SmallVector<Value>> &otherLayout);
  ArrayRef<Value> getSteps(Value tensor, QuantizerAttr quantizer);
  SmallVector<Value> divideBySteps(ArrayRef<Value> x, ArrayRef<Value> step,
                                   bool exactForTiny = false);
  void setMagnitudeBound(ArrayRef<Value> x, ArrayRef<Value> totals,
                         double limit);
  ArrayRef<Value> getSumsOfSquares(ArrayRef<Value> x, int64_t groupLength);
  Value emitDeviation(Value total, int64_t groupLength) {
    GPUQuantMath math(b);
    return QuantizerAttr::buildRootMeanSquare(math, total, groupLength);
  }
  SmallVector<Value> getDeviations(ArrayRef<Value> totals, int64_t groupLength,
                                   Value reciprocalStep = Value());
  void setValues(Value result, SmallVector<Value> elements,
                 bool representable = false);
  void setCodes(Value result, SmallVector<Value> elements, bool packed);
  void setSteps(Value result, int64_t groupLength, SmallVector<Value> steps);

  SmallVector<Value> reduceGroups(Combine kind, SmallVector<Value> partials,
                                  int64_t groupLength);
  SmallVector<Value> reduceClusters(Combine kind, ArrayRef<Value> partials,
                                    int64_t lanes);
  SmallVector<Value> combineWarps(Combine kind, ArrayRef<Value> warpTotals,
                                  int64_t lanes, const RowLayout &layout);
  SmallVector<Value> reduceThroughSharedMemory(Combine kind,
                                               ArrayRef<Value> partials,
                                               int64_t chunksPerGroup);
  SmallVector<Value> hadamard(Value input, int64_t block);
  void stagesInRegisters(SmallVector<Value> &values, int64_t indexBits);
  SmallVector<Value> exchangeLayout(ArrayRef<Value> values);
  SmallVector<Value>
  computeInFirstWarp(function_ref<SmallVector<Value>()> compute);

  // Building blocks.
  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(b, value);
  }
  Value both(Value lhs, Value rhs) {
    if (!lhs)
      return rhs;
    if (!rhs)
      return lhs;
    return arith::AndIOp::create(b, lhs, rhs);
  }
  Value allocShared(int64_t floats) {
    int64_t offset = sharedUsed;
    sharedUsed += floats;
    assert(sharedUsed <= plan.sharedFloats && "shared memory plan exceeded");
    return index(offset);
  }
  Value loadIf(Value condition, Type type, function_ref<Value()> load);
  void storeIf(Value condition, function_ref<void()> store);
  Value loadShared(Value offset);
  void storeShared(Value value, Value offset);
  Value vectorLoad(Value buffer, Value column, VectorType type);
  void vectorStore(Value vector, Value buffer, Value column);

  ImplicitLocOpBuilder &b;
  const FusionGroup &group;
  const RowKernelPlan &plan;
  const int64_t V, T, C, K, RB;

  // Host side: read-only views of the inputs, allocations of the outputs.
  DenseMap<Value, Value> inputBuffers;
  DenseMap<Value, Value> inputRows;
  DenseMap<Value, Value> outputBuffers;
  DenseMap<Value, Value> outputRows;
  DenseMap<Operation *, Value> wholeTensorStd;
  DenseMap<Operation *, Value> stepGradPartials;

  /// With dynamic rows: the kernel's rows R * S (an index) and the grid,
  /// computed before the launch, and per op LSQ's step-gradient factor
  /// 1 / sqrt(N * Qp) of the run-time element count N.
  Value rowCount, blockCount;
  DenseMap<Operation *, Value> stepGradFactors;

  // Kernel side.
  Value tx, ty, row, rowValid, shared;
  /// The loads of each external input, made where first needed.
  DenseMap<InputLoad, SmallVector<Value>> raw;
  /// Per row tensor (its first and last elements), a reduction over its
  /// groups that bounds every element: per chunk, the group's total and the
  /// largest total for which every element of the group has |x| <= 2^64
  /// (see divideBySteps).
  DenseMap<std::pair<Value, Value>, std::pair<SmallVector<Value>, double>>
      magnitudeBounds;
  /// x / s per (first and last elements, first and last steps, exactness
  /// for tiny inputs).
  DenseMap<std::tuple<Value, Value, Value, Value, unsigned>, SmallVector<Value>>
      quotients;
  /// Per row tensor as held (first and last elements) and group length: the
  /// groups' sums of squares, one per chunk (an rms_gaussian step and the
  /// deviation of the same tensor share one reduction).
  DenseMap<std::tuple<Value, Value, int64_t>, SmallVector<Value>> sumsOfSquares;
  /// Deviations the first warp computed with a step (see emitScale), per
  /// row total.
  DenseMap<Value, Value> firstWarpDeviation;
  int64_t sharedUsed = 0;
  /// Whether threads may still read the Hadamard row copy.
  bool hadamardCopyInUse = false;
  /// Per chunk j of the thread in the plan's first layout: its index in the
  /// row, whether it lies in the row (null when always), and whether it may
  /// be accessed (null when always).
  SmallVector<Value> chunk, chunkInRow, valid;
  /// Per layout of the plan, the index in the row of the thread's chunk j
  /// (the first one's is `chunk`).
  SmallVector<SmallVector<Value>, 2> layoutChunks;
  DenseMap<Value, SmallVector<Value>> values, codes;
  /// 1/s of steps whose reciprocal the first warp computed.
  DenseMap<Value, Value> reciprocalOf;
  DenseMap<std::pair<Value, int64_t>, SmallVector<Value>> steps;

  // Plans of several layouts (RowKernelPlan::layouts).
  /// The layout (an index into the plan's) that each tensor's values or
  /// codes are held in, when not the first, and the other layout's copy of
  /// tensors that an op used there.
  DenseMap<Value, unsigned> layoutOf;
  DenseMap<Value, SmallVector<Value>> otherLayoutValues, otherLayoutCodes;
  /// The layout the op being emitted works in: that of its row operands
  /// held in a later one, if any.
  unsigned opLayout = 0;
  /// The thread's addresses in its warp's exchange region for granule 0,
  /// as the lane coordinate with the large and the small stride (see
  /// exchangeLayout), and whether lanes may still read the region.
  Value exchangeWideBase, exchangeNarrowBase;
  bool exchangeInUse = false;
};

} // namespace

//===----------------------------------------------------------------------===//
// Memory access
//===----------------------------------------------------------------------===//

Value RowKernelEmitter::loadIf(Value condition, Type type,
                               function_ref<Value()> load) {
  if (!condition)
    return load();
  Value zero =
      arith::ConstantOp::create(b, cast<TypedAttr>(b.getZeroAttr(type)));
  auto ifOp = scf::IfOp::create(b, TypeRange{type}, condition,
                                /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  scf::YieldOp::create(b, load());
  b.setInsertionPointToStart(ifOp.elseBlock());
  scf::YieldOp::create(b, zero);
  return ifOp.getResult(0);
}

void RowKernelEmitter::storeIf(Value condition, function_ref<void()> store) {
  if (!condition) {
    store();
    return;
  }
  auto ifOp = scf::IfOp::create(b, condition, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  store();
}

Value RowKernelEmitter::loadShared(Value offset) {
  return memref::LoadOp::create(b, shared, ValueRange{offset});
}

void RowKernelEmitter::storeShared(Value value, Value offset) {
  memref::StoreOp::create(b, value, shared, ValueRange{offset});
}

/// A vector access at [row, column] of a 2-D row buffer. Its alignment is
/// the access size (at most 16 bytes): every row starts at a multiple of the
/// vector (V divides the row), and device allocations are 256-byte aligned.
Value RowKernelEmitter::vectorLoad(Value buffer, Value column,
                                   VectorType type) {
  int64_t bytes =
      type.getNumElements() * type.getElementType().getIntOrFloatBitWidth() / 8;
  return vector::LoadOp::create(b, type, buffer, ValueRange{row, column},
                                /*nontemporal=*/false,
                                llvm::MaybeAlign(std::min<int64_t>(bytes, 16)));
}

void RowKernelEmitter::vectorStore(Value vector, Value buffer, Value column) {
  auto type = cast<VectorType>(vector.getType());
  int64_t bytes =
      type.getNumElements() * type.getElementType().getIntOrFloatBitWidth() / 8;
  vector::StoreOp::create(b, vector, buffer, ValueRange{row, column},
                          /*nontemporal=*/false,
                          llvm::MaybeAlign(std::min<int64_t>(bytes, 16)));
}

//===----------------------------------------------------------------------===//
// Values of the group
//===----------------------------------------------------------------------===//

/// The loads of `load` for the current row: one vector per chunk for rows of
/// values or codes, one scalar per row or per chunk for steps.
SmallVector<Value> RowKernelEmitter::loadRaw(const InputLoad &load) {
  auto [tensor, kind, detail] = load;
  Value buffer = inputRows.lookup(tensor);
  Type element = cast<RankedTensorType>(tensor.getType()).getElementType();
  SmallVector<Value> loaded;
  if (kind != RowValueKind::Steps) {
    // Two codes per byte when packed.
    int64_t width = kind == RowValueKind::Codes && detail ? V / 2 : V;
    auto type = VectorType::get({width}, element);
    for (int64_t j = 0; j < C; ++j) {
      Value column = arith::MulIOp::create(b, chunk[j], index(width));
      loaded.push_back(loadIf(
          valid[j], type, [&] { return vectorLoad(buffer, column, type); }));
    }
    return loaded;
  }
  Value zero = index(0);
  // (A per_tensor group over dynamic rows has a dynamic length.)
  if (ShapedType::isDynamic(detail) ||
      (!plan.shape.hasDynamicRows() &&
       detail >= plan.shape.rows * plan.shape.length)) {
    // per_tensor: one step for every row.
    loaded.push_back(memref::LoadOp::create(b, buffer, ValueRange{zero, zero}));
  } else if (detail >= plan.shape.length) {
    // One step per row, the same address for every thread of the row (of
    // the whole row when CTAs compute parts of it).
    Value stepRow =
        plan.segments > 1
            ? arith::DivUIOp::create(b, row, index(plan.segments)).getResult()
            : row;
    loaded.push_back(loadIf(rowValid, element, [&] {
      return memref::LoadOp::create(b, buffer, ValueRange{stepRow, zero});
    }));
  } else {
    // V divides the group length, so a chunk lies in exactly one group.
    int64_t chunksPerGroup = detail / V;
    for (int64_t j = 0; j < C; ++j) {
      Value groupIndex =
          arith::DivUIOp::create(b, chunk[j], index(chunksPerGroup));
      loaded.push_back(loadIf(valid[j], element, [&] {
        return memref::LoadOp::create(b, buffer, ValueRange{row, groupIndex});
      }));
    }
  }
  return loaded;
}

ArrayRef<Value> RowKernelEmitter::getRaw(const InputLoad &load) {
  auto it = raw.find(load);
  if (it != raw.end())
    return it->second;
  return raw[load] = loadRaw(load);
}

/// Appends the f32 values of a loaded vector of floats. A bf16 is the high
/// half of its f32: per 32-bit word, a shift for the low element and a mask
/// for the high one (extf of each half took a byte permute and a shift for
/// the high one).
void RowKernelEmitter::appendUnpacked(Value vector,
                                      SmallVector<Value> &elements) {
  auto type = cast<VectorType>(vector.getType());
  int64_t width = type.getNumElements();
  if (type.getElementType().isBF16() && width % 2 == 0) {
    auto words = VectorType::get({width / 2}, b.getI32Type());
    Value highMask = constantI32(b, int64_t(0xFFFF0000u) - (int64_t(1) << 32));
    Value bits = vector::BitCastOp::create(b, words, vector);
    for (int64_t w = 0; w < width / 2; ++w) {
      Value word = vector::ExtractOp::create(b, bits, w);
      for (Value half :
           {arith::ShLIOp::create(b, word, constantI32(b, 16)).getResult(),
            arith::AndIOp::create(b, word, highMask).getResult()})
        elements.push_back(arith::BitcastOp::create(b, b.getF32Type(), half));
    }
    return;
  }
  for (int64_t l = 0; l < width; ++l) {
    Value element = vector::ExtractOp::create(b, vector, l);
    if (!element.getType().isF32())
      element = arith::ExtFOp::create(b, b.getF32Type(), element);
    elements.push_back(element);
  }
}

/// An external input's values, extended to f32, in the plan's layout
/// `layout`.
SmallVector<Value> RowKernelEmitter::loadValues(Value tensor, unsigned layout) {
  SmallVector<Value> elements;
  if (layout == 0) {
    for (Value vector : getRaw({tensor, RowValueKind::Values, 0}))
      appendUnpacked(vector, elements);
    return elements;
  }
  // (The later layouts' chunks of a thread lie in one Hadamard block, in the
  // row or beyond it as a whole, as do the first layout's: its chunk 0
  // tells.)
  Value buffer = inputRows.lookup(tensor);
  auto type = VectorType::get(
      {V}, cast<RankedTensorType>(tensor.getType()).getElementType());
  for (Value slotChunk : layoutChunks[layout]) {
    Value column = arith::MulIOp::create(b, slotChunk, index(V));
    appendUnpacked(loadIf(valid[0], type,
                          [&] { return vectorLoad(buffer, column, type); }),
                   elements);
  }
  return elements;
}

/// `held`, the values or codes of `tensor` as held, in the layout of the op
/// being emitted: exchanged once into `otherLayout` where they differ.
ArrayRef<Value>
RowKernelEmitter::inOpLayout(Value tensor, ArrayRef<Value> held,
                             DenseMap<Value, SmallVector<Value>> &otherLayout) {
  if (layoutOf.lookup(tensor) == opLayout)
    return held;
  SmallVector<Value> &other = otherLayout[tensor];
  if (other.empty())
    other = exchangeLayout(held);
  return other;
}

/// The values of `tensor` in the layout of the op being emitted. An
/// external input is read once, in the layout of its first reader.
ArrayRef<Value> RowKernelEmitter::getValues(Value tensor) {
  auto it = values.find(tensor);
  if (it == values.end()) {
    layoutOf[tensor] = opLayout;
    it = values.try_emplace(tensor, loadValues(tensor, opLayout)).first;
  }
  return inOpLayout(tensor, it->second, otherLayoutValues);
}

/// The codes of `tensor` in the layout of the op being emitted (external
/// codes are read in the plan's first layout).
ArrayRef<Value> RowKernelEmitter::getCodes(Value tensor, bool packed) {
  auto it = codes.find(tensor);
  if (it == codes.end())
    it = codes.try_emplace(tensor, loadCodes(tensor, packed)).first;
  return inOpLayout(tensor, it->second, otherLayoutCodes);
}

SmallVector<Value> RowKernelEmitter::loadCodes(Value tensor, bool packed) {
  Type element = cast<RankedTensorType>(tensor.getType()).getElementType();
  Type i32 = b.getI32Type();
  SmallVector<Value> elements;
  for (Value vector : getRaw({tensor, RowValueKind::Codes, packed})) {
    if (!packed) {
      for (int64_t l = 0; l < V; ++l) {
        Value code = vector::ExtractOp::create(b, vector, l);
        if (element.getIntOrFloatBitWidth() < 32)
          code = arith::ExtSIOp::create(b, i32, code);
        else if (element.getIntOrFloatBitWidth() > 32)
          code = arith::TruncIOp::create(b, i32, code);
        elements.push_back(code);
      }
      continue;
    }
    // Two codes per byte.
    for (int64_t l = 0; l < V / 2; ++l) {
      Value byte = vector::ExtractOp::create(b, vector, l);
      auto [low, high] = unpackCodePair(b, b.getLoc(), byte);
      elements.push_back(arith::ExtSIOp::create(b, i32, low));
      elements.push_back(arith::ExtSIOp::create(b, i32, high));
    }
  }
  return elements;
}

ArrayRef<Value> RowKernelEmitter::getSteps(Value tensor,
                                           QuantizerAttr quantizer) {
  int64_t groupLength = getStepGroupLength(quantizer, plan.shape);
  auto key = std::make_pair(tensor, groupLength);
  auto it = steps.find(key);
  if (it != steps.end())
    return it->second;
  auto extend = [&](Value step) -> Value {
    if (step.getType().isF32())
      return step;
    return arith::ExtFOp::create(b, b.getF32Type(), step);
  };
  ArrayRef<Value> loaded = getRaw({tensor, RowValueKind::Steps, groupLength});
  SmallVector<Value> perChunk;
  if (loaded.size() == 1)
    perChunk.assign(C, extend(loaded.front()));
  else
    for (Value step : loaded)
      perChunk.push_back(extend(step));
  return steps[key] = std::move(perChunk);
}

/// Records that `totals` (one per chunk of `x`: its group's sum of squares,
/// or maximum of magnitudes) bound the elements of `x`: every element of a
/// group whose total is at most `limit` has |x| <= 2^64. A sum of
/// non-negative terms is at least each rounded term, and x^2 >= 2^128
/// rounds to infinity in f32, so a finite sum of squares (limit FLT_MAX)
/// means |x| < 2^64 for each of its elements; a maximum of magnitudes
/// bounds them directly (limit 2^64). NaN propagates into either total.
void RowKernelEmitter::setMagnitudeBound(ArrayRef<Value> x,
                                         ArrayRef<Value> totals, double limit) {
  magnitudeBounds[{x.front(), x.back()}] = {SmallVector<Value>(totals), limit};
}

/// x / s for the C * V elements of a thread (s = step[j] for chunk j), with
/// the bits of arith.divf (IEEE division) but without its reciprocal on the
/// special-function unit for every element: one correctly rounded
/// reciprocal y = 1/s per distinct step, then Markstein's correction
///   q = x*y,  e = fma(s, q, -x),  q' = fma(e, -y, q)
/// which rounds x/s correctly when s and x/s are far from the limits of
/// the exponent range (the remainder e is exact and q is within an ulp).
/// The ranges used here, 0 < s in [2^-32, 2^32] and |x| in [2^-64, 2^64] or
/// x = +-0, keep every intermediate normal; the sequence was compared with
/// IEEE division on 3.8e9 pairs in them (every mantissa of x for 400 steps,
/// the rest random, signs of zero included) without a difference. The signs
/// are placed so that no negated result is needed: -x and -y are negated
/// inputs, and x = -0 gives -0. Outside the ranges (a huge input, a zero,
/// negative or non-finite step) the thread divides with arith.divf; NaN
/// inputs give NaN either way.
///
/// Inputs below 2^-64 take the fast path too unless `exactForTiny`: their
/// quotient may then differ from IEEE's in its last bits below |x| = 2^-100,
/// where |x/s| < 2^-68, and no code, level, mask or gradient of the row
/// kernels can tell (they depend on v only through round(v + 1/2),
/// round(v), comparisons with the integers qn and qp, and cos of a multiple
/// of v, all exact there). The LSQ step gradient sums v itself and asks for
/// the exact quotient.
SmallVector<Value> RowKernelEmitter::divideBySteps(ArrayRef<Value> x,
                                                   ArrayRef<Value> step,
                                                   bool exactForTiny) {
  auto key = std::make_tuple(x.front(), x.back(), step.front(), step.back(),
                             unsigned(exactForTiny));
  auto cached = quotients.find(key);
  if (cached != quotients.end())
    return cached->second;
  Value unsafe;
  auto orInto = [&](Value flag) {
    unsafe = unsafe ? arith::OrIOp::create(b, unsafe, flag).getResult() : flag;
  };
  auto compare = [&](arith::CmpFPredicate predicate, Value lhs, double rhs) {
    return arith::CmpFOp::create(b, predicate, lhs, constantF32(b, rhs));
  };
  DenseMap<Value, std::pair<Value, Value>> reciprocals;
  for (Value s : step) {
    auto [it, inserted] = reciprocals.try_emplace(s);
    if (!inserted)
      continue;
    Value y = reciprocalOf.lookup(s);
    if (!y)
      y = arith::DivFOp::create(b, constantF32(b, 1.0), s);
    it->second = {y, arith::NegFOp::create(b, y)};
    // Ordered comparisons: a NaN step is out of range.
    Value inRange =
        arith::AndIOp::create(b, compare(arith::CmpFPredicate::OGE, s, 0x1p-32),
                              compare(arith::CmpFPredicate::OLE, s, 0x1p32));
    orInto(arith::XOrIOp::create(
        b, inRange, arith::ConstantOp::create(b, b.getBoolAttr(true))));
  }
  auto bound = magnitudeBounds.find({x.front(), x.back()});
  if (!exactForTiny && bound != magnitudeBounds.end()) {
    // A sum of squares (or maximum of magnitudes) of the elements that
    // stays at most `limit` bounds every one of them: one comparison per
    // group instead of one per element. NaN totals fail it.
    auto [totals, limit] = bound->second;
    DenseSet<Value> seen;
    for (Value total : totals)
      if (seen.insert(total).second)
        orInto(compare(arith::CmpFPredicate::UGT, total, limit));
  }
  for (Value element : x) {
    if (!exactForTiny && bound != magnitudeBounds.end())
      break;
    Value magnitude = math::AbsFOp::create(b, element);
    Value outside = compare(arith::CmpFPredicate::OGT, magnitude, 0x1p64);
    if (exactForTiny)
      outside = arith::OrIOp::create(
          b, outside,
          arith::AndIOp::create(
              b, compare(arith::CmpFPredicate::OLT, magnitude, 0x1p-64),
              compare(arith::CmpFPredicate::ONE, element, 0.0)));
    orInto(outside);
  }
  // Decide first, then divide in one branch or the other: the quotients of
  // a branch replace its inputs one by one, so no more registers are live
  // than with divisions in place.
  SmallVector<Type> types(x.size(), b.getF32Type());
  auto ifOp = scf::IfOp::create(b, types, unsafe, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    SmallVector<Value> exact;
    for (auto [i, element] : llvm::enumerate(x))
      exact.push_back(arith::DivFOp::create(b, element, step[i / V]));
    scf::YieldOp::create(b, exact);
    b.setInsertionPointToStart(ifOp.elseBlock());
    SmallVector<Value> fast;
    for (auto [i, element] : llvm::enumerate(x)) {
      Value s = step[i / V];
      auto [y, negY] = reciprocals.lookup(s);
      Value q = arith::MulFOp::create(b, element, y);
      Value e = math::FmaOp::create(b, s, q, arith::NegFOp::create(b, element));
      fast.push_back(math::FmaOp::create(b, e, negY, q));
    }
    scf::YieldOp::create(b, fast);
  }
  SmallVector<Value> results(ifOp.getResults());
  return quotients[key] = results;
}

/// A value of a narrower float type rounded as if it had gone through memory:
/// fused consumers see exactly what an unfused one would read.
static Value roundTo(ImplicitLocOpBuilder &b, Type element, Value value,
                     Value *narrow = nullptr) {
  if (element.isF32()) {
    if (narrow)
      *narrow = value;
    return value;
  }
  Value truncated = arith::TruncFOp::create(b, element, value);
  if (narrow)
    *narrow = truncated;
  return arith::ExtFOp::create(b, b.getF32Type(), truncated);
}

/// With `representable`, the elements are known to be values of the result's
/// element type already (rounding them is the identity), and fused
/// consumers use them as they are; only stores round.
void RowKernelEmitter::setValues(Value result, SmallVector<Value> elements,
                                 bool representable) {
  Type element = cast<RankedTensorType>(result.getType()).getElementType();
  SmallVector<Value> narrow(elements.size());
  if (representable) {
    if (isOutput(result))
      for (auto [value, stored] : llvm::zip(elements, narrow))
        stored = element.isF32()
                     ? value
                     : arith::TruncFOp::create(b, element, value).getResult();
  } else if (element.isBF16() && V % 2 == 0) {
    // Pairs: one packed rounding (cvt.rn.bf16x2.f32) for two elements, and
    // the f32 values read back from the packed bits (a bf16 is the high
    // half of its f32), which keeps LLVM from splitting the pair.
    auto wide = VectorType::get({2}, b.getF32Type());
    auto pair = VectorType::get({2}, element);
    Value highMask = constantI32(b, int64_t(0xFFFF0000u) - (int64_t(1) << 32));
    for (size_t i = 0; i < elements.size(); i += 2) {
      Value packed = arith::TruncFOp::create(
          b, pair,
          vector::FromElementsOp::create(
              b, wide, ValueRange{elements[i], elements[i + 1]}));
      Value bits = vector::BitCastOp::create(
          b, VectorType::get({1}, b.getI32Type()), packed);
      bits = vector::ExtractOp::create(b, bits, int64_t(0));
      SmallVector<Value, 2> halves = {
          arith::ShLIOp::create(b, bits, constantI32(b, 16)),
          arith::AndIOp::create(b, bits, highMask)};
      for (auto [k, half] : llvm::enumerate(halves)) {
        narrow[i + k] = vector::ExtractOp::create(b, packed, int64_t(k));
        elements[i + k] = arith::BitcastOp::create(b, b.getF32Type(), half);
      }
    }
  } else {
    for (auto [value, stored] : llvm::zip(elements, narrow))
      value = roundTo(b, element, value, &stored);
  }
  if (isOutput(result)) {
    Value buffer = outputRows.lookup(result);
    auto type = VectorType::get({V}, element);
    ArrayRef<Value> chunks = layoutChunks[opLayout];
    for (int64_t j = 0; j < C; ++j) {
      SmallVector<Value> lanes(ArrayRef<Value>(narrow).slice(j * V, V));
      Value column = arith::MulIOp::create(b, chunks[j], index(V));
      storeIf(valid[j], [&] {
        vectorStore(vector::FromElementsOp::create(b, type, lanes), buffer,
                    column);
      });
    }
  }
  layoutOf[result] = opLayout;
  values[result] = std::move(elements);
}

/// i32 codes as one word of nibbles, code l in bits [4l, 4l+4) (element 2i
/// is the low nibble of byte i): one shift-add and one masked or per code.
static Value packNibbles(ImplicitLocOpBuilder &b, ArrayRef<Value> codes) {
  Value word;
  for (auto [l, original] : llvm::enumerate(codes)) {
    Value code = original;
    if (l > 0)
      code = arith::ShLIOp::create(b, code, constantI32(b, 4 * l));
    code =
        arith::AndIOp::create(b, code, constantI32(b, int64_t(0xF) << (4 * l)));
    word = word ? arith::OrIOp::create(b, word, code).getResult() : code;
  }
  return word;
}

void RowKernelEmitter::setCodes(Value result, SmallVector<Value> elements,
                                bool packed) {
  layoutOf[result] = opLayout;
  ArrayRef<Value> chunks = layoutChunks[opLayout];
  if (isOutput(result) && packed &&
      plan.layouts[opLayout].hasContiguousChunks()) {
    // The thread's C consecutive chunks: one store (16 bytes for the 32
    // codes of the exchanged layout).
    SmallVector<Value> words;
    for (int64_t j = 0; j < C; ++j)
      words.push_back(
          packNibbles(b, ArrayRef<Value>(elements).slice(j * V, V)));
    Value buffer = outputRows.lookup(result);
    Type element = cast<RankedTensorType>(result.getType()).getElementType();
    Value column = arith::MulIOp::create(b, chunks[0], index(V / 2));
    storeIf(valid[0], [&] {
      Value vector = vector::BitCastOp::create(
          b, VectorType::get({C * V / 2}, element),
          vector::FromElementsOp::create(
              b, VectorType::get({C}, b.getI32Type()), words));
      vectorStore(vector, buffer, column);
    });
  } else if (isOutput(result)) {
    Value buffer = outputRows.lookup(result);
    Type element = cast<RankedTensorType>(result.getType()).getElementType();
    unsigned width = element.getIntOrFloatBitWidth();
    for (int64_t j = 0; j < C; ++j) {
      SmallVector<Value> lanes;
      Value word;
      if (packed) {
        // Packed in registers, stored as V/2 bytes.
        word = packNibbles(b, ArrayRef<Value>(elements).slice(j * V, V));
        // (V <= 8: 16 bytes of a float type of at least 2 bytes.)
        if (V < 8)
          word = arith::TruncIOp::create(b, b.getIntegerType(4 * V), word);
      } else {
        for (int64_t l = 0; l < V; ++l) {
          Value code = elements[j * V + l];
          if (width < 32)
            code = arith::TruncIOp::create(b, element, code);
          else if (width > 32)
            code = arith::ExtSIOp::create(b, element, code);
          lanes.push_back(code);
        }
      }
      auto type = VectorType::get({packed ? V / 2 : V}, element);
      Value column =
          arith::MulIOp::create(b, chunks[j], index(packed ? V / 2 : V));
      storeIf(valid[j], [&] {
        Value vector =
            word ? vector::BitCastOp::create(
                       b, type,
                       vector::BroadcastOp::create(
                           b, VectorType::get({1}, word.getType()), word))
                       .getResult()
                 : vector::FromElementsOp::create(b, type, lanes).getResult();
        vectorStore(vector, buffer, column);
      });
    }
  }
  codes[result] = std::move(elements);
}

void RowKernelEmitter::setSteps(Value result, int64_t groupLength,
                                SmallVector<Value> perChunk) {
  Type element = cast<RankedTensorType>(result.getType()).getElementType();
  // Round each distinct step once (a per-row step is one value for all
  // chunks); keep the narrow form for the stores.
  DenseMap<Value, std::pair<Value, Value>> roundedOf;
  SmallVector<Value> stored;
  for (Value &step : perChunk) {
    auto [it, inserted] = roundedOf.try_emplace(step);
    if (inserted) {
      Value narrow;
      Value rounded = roundTo(b, element, step, &narrow);
      it->second = {rounded, narrow};
    }
    stored.push_back(it->second.second);
    step = it->second.first;
  }
  if (isOutput(result)) {
    Value buffer = outputRows.lookup(result);
    if (groupLength >= plan.shape.length) {
      // One step per row, written by the row's first thread.
      Value first =
          arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tx, index(0));
      Value zero = index(0);
      storeIf(both(rowValid, first), [&] {
        memref::StoreOp::create(b, stored[0], buffer, ValueRange{row, zero});
      });
    } else {
      // Each group's step is written by the thread holding its first chunk.
      int64_t chunksPerGroup = groupLength / V;
      for (int64_t j = 0; j < C; ++j) {
        Value offset =
            arith::RemUIOp::create(b, chunk[j], index(chunksPerGroup));
        Value first = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, offset,
                                            index(0));
        Value groupIndex =
            arith::DivUIOp::create(b, chunk[j], index(chunksPerGroup));
        storeIf(both(valid[j], first), [&] {
          memref::StoreOp::create(b, stored[j], buffer,
                                  ValueRange{row, groupIndex});
        });
      }
    }
  }
  steps[std::make_pair(result, groupLength)] = std::move(perChunk);
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

/// Reduces one value per thread over clusters of `lanes` consecutive threads
/// of a row (a power of two <= T) in the plan's first layout: a subgroup
/// reduction within the warp (butterfly shuffles once lowered), then
/// combineWarps.
///
/// gpu.all_reduce is not used: it reduces over the whole CTA, while a CTA
/// holds several rows (short rows) and a row holds several groups
/// (per_group), and its lowering spends two barriers per reduction.
SmallVector<Value> RowKernelEmitter::reduceClusters(Combine kind,
                                                    ArrayRef<Value> partials,
                                                    int64_t lanes) {
  SmallVector<Value> reduced;
  for (Value partial : partials)
    reduced.push_back(reduceLanes(b, partial, kind,
                                  std::min(lanes, kWarpThreads), /*stride=*/1));
  return combineWarps(kind, reduced, lanes, plan.layouts.front());
}

/// Combines the warp totals `warpTotals` (per value, every lane holding its
/// warp's total) over clusters of `lanes` threads of the summation order of
/// `layout` (RowLayout::getRowLanes): for clusters wider than a warp, one
/// shared-memory slot per warp and a single barrier, after which every
/// thread combines its cluster's warp totals in the same order (up to
/// kSerialWarpTotals of them; more go through a second subgroup reduction,
/// whose butterflies also give every lane the same bits), so that all
/// threads of a group see bit-identical results.
SmallVector<Value> RowKernelEmitter::combineWarps(Combine kind,
                                                  ArrayRef<Value> warpTotals,
                                                  int64_t lanes,
                                                  const RowLayout &layout) {
  SmallVector<Value> reduced(warpTotals);
  if (lanes <= kWarpThreads)
    return reduced;

  int64_t rowLanes = layout.getRowLanes();
  int64_t warpsPerRow = rowLanes / kWarpThreads;
  int64_t warpsPerCluster = lanes / kWarpThreads;
  int64_t count = reduced.size();
  Value base = allocShared(RB * count * warpsPerRow);
  Value threadWarp = arith::DivUIOp::create(b, tx, index(kWarpThreads));
  Value lane = arith::RemUIOp::create(b, tx, index(kWarpThreads));
  auto [warp, leader] = layout.buildRowWarp(b, tx, threadWarp, lane);
  // slot(v, w) = base + (ty * count + v) * warpsPerRow + w
  Value rowBase = arith::AddIOp::create(
      b, base, arith::MulIOp::create(b, ty, index(count * warpsPerRow)));
  storeIf(leader, [&] {
    for (int64_t v = 0; v < count; ++v)
      storeShared(reduced[v],
                  arith::AddIOp::create(
                      b, rowBase,
                      arith::AddIOp::create(b, warp, index(v * warpsPerRow))));
  });
  gpu::BarrierOp::create(b);
  // (One cluster per row: tx < rowLanes = lanes.)
  Value firstWarp = lanes >= rowLanes
                        ? index(0)
                        : arith::MulIOp::create(
                              b, arith::DivUIOp::create(b, tx, index(lanes)),
                              index(warpsPerCluster))
                              .getResult();
  Value clusterBase = arith::AddIOp::create(b, rowBase, firstWarp);
  SmallVector<Value> totals;
  if (warpsPerCluster > kSerialWarpTotals) {
    // Many warps (rows of 11008 elements take 22): each lane loads one warp
    // total and a second subgroup reduction combines them, rather than
    // every thread adding all of them in turn. Lanes past the cluster's
    // warps contribute 0, neutral for sums and for maxima of magnitudes.
    // With fewer than 32 warps each aligned cluster of `totalLanes` lanes
    // loads the totals (lane % totalLanes), so that every lane of the warp
    // ends with the row's total, not only the first cluster's.
    int64_t totalLanes = llvm::PowerOf2Ceil(warpsPerCluster);
    Value clusterLane =
        totalLanes < kWarpThreads
            ? arith::AndIOp::create(b, lane, index(totalLanes - 1)).getResult()
            : lane;
    Value inCluster = arith::CmpIOp::create(
        b, arith::CmpIPredicate::ult, clusterLane, index(warpsPerCluster));
    Value slotLane =
        arith::SelectOp::create(b, inCluster, clusterLane, index(0));
    Value zero = constantF32(b, 0.0);
    for (int64_t v = 0; v < count; ++v) {
      Value slot = arith::AddIOp::create(
          b, clusterBase,
          arith::AddIOp::create(b, slotLane, index(v * warpsPerRow)));
      Value warpTotal =
          arith::SelectOp::create(b, inCluster, loadShared(slot), zero);
      std::optional<uint32_t> clusterSize;
      if (totalLanes < kWarpThreads)
        clusterSize = uint32_t(totalLanes);
      totals.push_back(
          gpu::SubgroupReduceOp::create(b, warpTotal, getReduceOperation(kind),
                                        /*uniform=*/true, clusterSize));
    }
    return totals;
  }
  for (int64_t v = 0; v < count; ++v) {
    Value total;
    for (int64_t w = 0; w < warpsPerCluster; ++w) {
      Value slot =
          arith::AddIOp::create(b, clusterBase, index(v * warpsPerRow + w));
      Value warpTotal = loadShared(slot);
      total = total ? combine(b, kind, total, warpTotal) : warpTotal;
    }
    totals.push_back(total);
  }
  return totals;
}

/// Quantization groups whose chunk count is not a power of two cannot be
/// aligned lane clusters: every thread writes its chunk partials to shared
/// memory, and after one barrier each chunk sums its group's partials in
/// order (every thread of a group computes the same total).
SmallVector<Value> RowKernelEmitter::reduceThroughSharedMemory(
    Combine kind, ArrayRef<Value> partials, int64_t chunksPerGroup) {
  int64_t stride = C * T;
  Value base = allocShared(RB * stride);
  Value rowBase = arith::AddIOp::create(
      b, base, arith::MulIOp::create(b, ty, index(stride)));
  for (int64_t j = 0; j < C; ++j)
    storeShared(partials[j], arith::AddIOp::create(b, rowBase, chunk[j]));
  gpu::BarrierOp::create(b);
  SmallVector<Value> totals;
  for (int64_t j = 0; j < C; ++j) {
    Value groupIndex =
        arith::DivUIOp::create(b, chunk[j], index(chunksPerGroup));
    // A chunk beyond the row reads group 0; its total is never used.
    if (chunkInRow[j])
      groupIndex =
          arith::SelectOp::create(b, chunkInRow[j], groupIndex, index(0));
    Value start = arith::AddIOp::create(
        b, rowBase,
        arith::MulIOp::create(b, groupIndex, index(chunksPerGroup)));
    auto loop = scf::ForOp::create(
        b, index(0), index(chunksPerGroup), index(1),
        ValueRange{constantF32(b, 0.0)},
        [&](OpBuilder &nested, Location loc, Value i, ValueRange iterArgs) {
          ImplicitLocOpBuilder inner(loc, nested);
          Value slot = arith::AddIOp::create(inner, start, i);
          Value partial =
              memref::LoadOp::create(inner, shared, ValueRange{slot});
          scf::YieldOp::create(inner,
                               combine(inner, kind, iterArgs[0], partial));
        });
    totals.push_back(loop.getResult(0));
  }
  return totals;
}

/// Reduces per-chunk partials over the quantization groups of
/// `groupLength` elements; returns each chunk's group total. With
/// Q = groupLength / V chunks per group and (the plain layout) chunk
/// c = j*T + t:
///  * Q >= K (one group per row): the layout's reduction within each warp
///    (RowLayout::reduceRowInWarp), then over the warps;
///  * Q a power of two >= T: a group is Q/T consecutive chunks of each of
///    the row's threads;
///  * Q a power of two < T: a group is chunk j of Q consecutive threads;
///  * otherwise: through shared memory.
/// Partials of chunks beyond the row are 0, neutral for sums and for maxima
/// of magnitudes.
SmallVector<Value> RowKernelEmitter::reduceGroups(Combine kind,
                                                  SmallVector<Value> partials,
                                                  int64_t groupLength) {
  Value zero = constantF32(b, 0.0);
  for (int64_t j = 0; j < C; ++j)
    if (chunkInRow[j])
      partials[j] =
          arith::SelectOp::create(b, chunkInRow[j], partials[j], zero);
  int64_t chunksPerGroup = groupLength / V;
  if (chunksPerGroup >= K) {
    // In the plain layout's summation order (see RowLayout).
    const RowLayout &layout = plan.layouts[opLayout];
    Value warpTotal = layout.reduceRowInWarp(b, kind, tx, partials);
    return SmallVector<Value>(
        C, combineWarps(kind, warpTotal, layout.getRowLanes(), layout)[0]);
  }
  // (Groups shorter than a row come with the plain layout: see
  // RowKernelPlan::get.)
  if (!llvm::isPowerOf2_64(chunksPerGroup))
    return reduceThroughSharedMemory(kind, partials, chunksPerGroup);
  if (chunksPerGroup < T)
    return reduceClusters(kind, partials, chunksPerGroup);
  int64_t perThread = chunksPerGroup / T;
  SmallVector<Value> threadTotals;
  for (int64_t j = 0; j < C; j += perThread) {
    Value total = partials[j];
    for (int64_t k = 1; k < perThread; ++k)
      total = combine(b, kind, total, partials[j + k]);
    threadTotals.push_back(total);
  }
  SmallVector<Value> totals = reduceClusters(kind, threadTotals, T);
  SmallVector<Value> perChunk;
  for (int64_t j = 0; j < C; ++j)
    perChunk.push_back(totals[j / perThread]);
  return perChunk;
}

/// Row-uniform values (a step from its row's total, its reciprocal) that
/// every thread of a row would compute alike: the first warp of the row
/// computes them and hands them to the others through shared memory, one
/// barrier. The square root, divisions and reciprocal then take issue slots
/// of one warp instead of every warp of the row (the same bits). Only for
/// rows of 2 to 8 warps (RowKernelPlan::usesFirstWarpValues): longer rows
/// (one CTA an SM) wait at the barrier with nothing else to run (docs/
/// gpu-row-kernels.md, "Measurements behind the plan").
SmallVector<Value> RowKernelEmitter::computeInFirstWarp(
    function_ref<SmallVector<Value>()> compute) {
  if (!plan.usesFirstWarpValues())
    return compute();
  Value base = allocShared(RB * kFirstWarpValues);
  Value rowBase = arith::AddIOp::create(
      b, base, arith::MulIOp::create(b, ty, index(kFirstWarpValues)));
  Value first = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, tx,
                                      index(kWarpThreads));
  int64_t count = 0;
  auto ifOp = scf::IfOp::create(b, first, /*withElseRegion=*/false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    SmallVector<Value> results = compute();
    count = results.size();
    assert(count <= kFirstWarpValues && "too many first-warp values");
    // Every lane of the warp stores the same bits.
    for (auto [v, result] : llvm::enumerate(results))
      storeShared(result, arith::AddIOp::create(b, rowBase, index(int64_t(v))));
  }
  gpu::BarrierOp::create(b);
  SmallVector<Value> loaded;
  for (int64_t v = 0; v < count; ++v)
    loaded.push_back(loadShared(arith::AddIOp::create(b, rowBase, index(v))));
  return loaded;
}

//===----------------------------------------------------------------------===//
// Hadamard
//===----------------------------------------------------------------------===//

/// x · H_n on each block of n elements: log2(n) butterfly stages. Stage h
/// pairs element i with i ^ h; the lower one becomes a + b, the upper one
/// a - b (Sylvester: H_2n = [[H, H], [H, -H]]); the stages commute, and the
/// 1/sqrt(n) is one multiplication at the end (exact in f32 for the powers
/// of four, correctly rounded otherwise).
///
/// Where the partner lives follows from the layout i = (j*T + t)*V + l:
///  * h < V: same chunk, another lane of the vector (registers);
///  * V <= h < V*T: thread t ^ (h/V), same j: a shuffle when that thread is
///    in the warp (h < 32*V, all of n <= 128 for f32 and n <= 256 for bf16,
///    QuEST's default 128 included, so the common case needs no shared
///    memory and no barrier), otherwise an exchange through a copy of the
///    row in shared memory (a barrier between the stores and the loads, and
///    one before the next exchange overwrites the copy);
///  * h >= V*T: same thread, chunk j ^ (h/(V*T)) (registers).
/// The other layouts move some chunk bits between the thread's chunks and
/// its lane (RowLayout::getChunkPartner); the stages keep their order, so
/// the sums round alike. In a plan of two layouts every stage is in
/// registers, around one exchange of the values (exchangeLayout), and the
/// result is in the other layout than the input.
SmallVector<Value> RowKernelEmitter::hadamard(Value input, int64_t block) {
  Value scale = constantF32(b, 1.0 / std::sqrt(double(block)));
  if (plan.layouts.size() > 1) {
    // Every stage the thread's values pair (all of its index bits), the
    // exchange, then the stages of the two bits it now holds instead of its
    // lane bits: value bits 3 and 4 (chunk bits 0, 1 of the block in the
    // exchanged layout, 2, 3 in the natural one).
    SmallVector<Value> current(getValues(input));
    stagesInRegisters(current, int64_t(current.size()) - 1);
    current = exchangeLayout(current);
    stagesInRegisters(current, 0b11000);
    for (Value &value : current)
      value = arith::MulFOp::create(b, value, scale);
    return current;
  }
  SmallVector<Value> current(getValues(input));
  Value rowBase;
  for (int64_t h = 1; h < block; h *= 2) {
    SmallVector<Value> next(current.size());
    // Chunk bit `distance` of the partner: in another chunk of the thread
    // (`chunkStep` apart), or in thread t ^ `threadStep`.
    int64_t distance = h / V;
    auto [chunkStep, threadStep] =
        plan.layouts.front().getChunkPartner(distance);
    if (h < V || chunkStep) {
      for (int64_t j = 0; j < C; ++j) {
        for (int64_t l = 0; l < V; ++l) {
          int64_t i = j * V + l;
          int64_t partner = h < V ? j * V + (l ^ h) : (j ^ chunkStep) * V + l;
          bool lower = h < V ? (l & h) == 0 : (j & chunkStep) == 0;
          if (lower)
            next[i] = arith::AddFOp::create(b, current[i], current[partner]);
          else
            next[i] = arith::SubFOp::create(b, current[partner], current[i]);
        }
      }
      current = std::move(next);
      continue;
    }
    // The thread's chunks agree in this bit: the first one tells.
    Value bit = arith::AndIOp::create(b, chunk[0], index(distance));
    Value upper =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ne, bit, index(0));
    SmallVector<Value> partners;
    if (distance < kWarpThreads) {
      for (Value value : current)
        partners.push_back(gpu::ShuffleOp::create(b, value, int32_t(threadStep),
                                                  int32_t(kWarpThreads),
                                                  gpu::ShuffleMode::XOR)
                               .getShuffleResult());
    } else {
      // The padded copy of the CTA's rows: C*T*V floats per row, so chunks
      // beyond the row need no guard.
      if (!rowBase)
        rowBase =
            arith::MulIOp::create(b, ty, index(plan.hadamardSharedFloats / RB));
      // Other threads may still be reading the previous exchange.
      if (hadamardCopyInUse)
        gpu::BarrierOp::create(b);
      for (int64_t j = 0; j < C; ++j) {
        Value start = arith::AddIOp::create(
            b, rowBase, arith::MulIOp::create(b, chunk[j], index(V)));
        for (int64_t l = 0; l < V; ++l)
          storeShared(current[j * V + l],
                      arith::AddIOp::create(b, start, index(l)));
      }
      gpu::BarrierOp::create(b);
      for (int64_t j = 0; j < C; ++j) {
        Value partnerChunk =
            arith::XOrIOp::create(b, chunk[j], index(distance));
        Value start = arith::AddIOp::create(
            b, rowBase, arith::MulIOp::create(b, partnerChunk, index(V)));
        for (int64_t l = 0; l < V; ++l)
          partners.push_back(
              loadShared(arith::AddIOp::create(b, start, index(l))));
      }
      // The barrier that protects these reads from the next overwrite is
      // emitted by the next exchange, if any (reductions use other memory).
      hadamardCopyInUse = true;
    }
    // a + b in the lower thread, b - a in the upper one, as one fused
    // multiply-add by +-1: the product is exact, so it rounds once like the
    // addition or subtraction would, with one instruction instead of an
    // add, a subtract and a select.
    Value sign = arith::SelectOp::create(b, upper, constantF32(b, -1.0),
                                         constantF32(b, 1.0));
    for (auto [i, value] : llvm::enumerate(current))
      next[i] = math::FmaOp::create(b, sign, value, partners[i]);
    current = std::move(next);
  }
  for (Value &value : current)
    value = arith::MulFOp::create(b, value, scale);
  return current;
}

/// The butterfly stages of the value-index bits in `indexBits`: in the quad
/// layout and its exchanged form each such bit is one index bit of the
/// block (see `hadamard`), so value i pairs with i ^ m, the lower one
/// becoming a + b and the upper one a - b.
void RowKernelEmitter::stagesInRegisters(SmallVector<Value> &values,
                                         int64_t indexBits) {
  for (int64_t m = 1; m <= indexBits; m *= 2) {
    if (!(indexBits & m))
      continue;
    SmallVector<Value> next(values.size());
    for (int64_t i = 0; i < int64_t(values.size()); ++i)
      next[i] =
          (i & m) == 0
              ? arith::AddFOp::create(b, values[i], values[i | m]).getResult()
              : arith::SubFOp::create(b, values[i ^ m], values[i]).getResult();
    values = std::move(next);
  }
}

/// Moves a thread's values (f32 or i32) between the quad layout and its
/// exchanged form (RowKernelPlan::layouts), either way: slot s of lane
/// 4k + q holds chunk 4s + q of its block in one layout and 4q + s in the
/// other, so the exchange is its own inverse. Through the warp's region of
/// shared memory, in two passes of half a chunk (16-byte granules, half the
/// memory): each thread writes its granules, the warp synchronizes, each
/// thread reads those of its slots in the other layout.
///
/// The granule of writer lane coordinate q and slot s (the reader's lane
/// coordinate) lies at granule index s + 9q + 4(k & 1) + 35(k >> 1): the
/// writes of one shared-memory wavefront (8 lanes, two blocks) vary q and
/// k & 1 and the reads vary s and k & 1, and both fall into 8 distinct
/// 16-byte bank groups (the smallest such linear placement, found by
/// search). Linear in the lane, so each thread needs one base address per
/// role and an immediate per granule (an xor swizzle would cost an
/// instruction per granule).
SmallVector<Value> RowKernelEmitter::exchangeLayout(ArrayRef<Value> values) {
  Type f32 = b.getF32Type();
  bool integers = !values.front().getType().isF32();
  if (!exchangeWideBase) {
    Value flat = tx;
    if (RB > 1)
      flat =
          arith::AddIOp::create(b, arith::MulIOp::create(b, ty, index(T)), tx);
    Value warp = arith::DivUIOp::create(b, flat, index(kWarpThreads));
    Value lane = arith::RemUIOp::create(b, flat, index(kWarpThreads));
    Value q = arith::AndIOp::create(b, lane, index(3));
    Value k = arith::ShRUIOp::create(b, lane, index(2));
    Value groupOffset = arith::AddIOp::create(
        b,
        arith::MulIOp::create(b, arith::AndIOp::create(b, k, index(1)),
                              index(4)),
        arith::MulIOp::create(b, arith::ShRUIOp::create(b, k, index(1)),
                              index(35)));
    Value region = arith::AddIOp::create(
        b, index(plan.hadamardSharedFloats),
        arith::MulIOp::create(b, warp, index(kExchangeFloats)));
    auto base = [&](int64_t stride) -> Value {
      Value granules = arith::AddIOp::create(
          b, groupOffset, arith::MulIOp::create(b, q, index(stride)));
      return arith::AddIOp::create(
          b, region, arith::MulIOp::create(b, granules, index(4)));
    };
    exchangeWideBase = base(9);
    exchangeNarrowBase = base(1);
  }
  auto sync = [&] { NVVM::SyncWarpOp::create(b, constantI32(b, -1)); };
  auto type = VectorType::get({4}, f32);
  SmallVector<Value> result(values.size());
  for (int64_t h = 0; h < 2; ++h) {
    if (exchangeInUse)
      sync();
    for (int64_t s = 0; s < 4; ++s) {
      SmallVector<Value> floats;
      for (Value element : values.slice(8 * s + 4 * h, 4))
        floats.push_back(
            integers ? arith::BitcastOp::create(b, f32, element).getResult()
                     : element);
      vector::StoreOp::create(
          b, vector::FromElementsOp::create(b, type, floats), shared,
          ValueRange{arith::AddIOp::create(b, exchangeWideBase, index(4 * s))},
          /*nontemporal=*/false, llvm::MaybeAlign(16));
    }
    sync();
    for (int64_t s = 0; s < 4; ++s) {
      Value vector =
          vector::LoadOp::create(b, type, shared,
                                 ValueRange{arith::AddIOp::create(
                                     b, exchangeNarrowBase, index(36 * s))},
                                 /*nontemporal=*/false, llvm::MaybeAlign(16));
      for (int64_t l = 0; l < 4; ++l) {
        Value element = vector::ExtractOp::create(b, vector, l);
        result[8 * s + 4 * h + l] =
            integers ? arith::BitcastOp::create(b, b.getI32Type(), element)
                           .getResult()
                     : element;
      }
    }
    exchangeInUse = true;
  }
  return result;
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

void RowKernelEmitter::emitHadamard(HadamardOp op) {
  SmallVector<Value> result = hadamard(op.getInput(), op.getBlock());
  opLayout = plan.getLayoutAfterHadamard(opLayout);
  setValues(op.getResult(), std::move(result));
}

void RowKernelEmitter::emitScale(ScaleOp op) {
  QuantizerAttr quantizer = op.getQuantizer();
  int64_t groupLength = getStepGroupLength(quantizer, plan.shape);
  bool rms = quantizer.getStepStatistic() == GroupStatistic::SumOfSquares;
  SmallVector<Value> x(getValues(op.getInput()));
  SmallVector<Value> totals;
  if (rms) {
    totals.assign(getSumsOfSquares(x, groupLength));
  } else {
    SmallVector<Value> partials;
    for (int64_t j = 0; j < C; ++j) {
      Value partial;
      for (int64_t l = 0; l < V; ++l) {
        Value term = math::AbsFOp::create(b, x[j * V + l]);
        partial = partial ? combine(b, Combine::Max, partial, term) : term;
      }
      partials.push_back(partial);
    }
    totals = reduceGroups(Combine::Max, std::move(partials), groupLength);
    setMagnitudeBound(x, totals, 0x1p64);
  }
  // A per-row total is one value shared by all chunks: one step, with its
  // reciprocal for the divisions, from the row's first warp (f32 steps: the
  // consumers see the step as computed).
  DenseMap<Value, Value> stepOf;
  SmallVector<Value> perChunk;
  Type stepType =
      cast<RankedTensorType>(op.getResult().getType()).getElementType();
  if (groupLength >= plan.shape.length && stepType.isF32() &&
      plan.usesFirstWarpValues()) {
    // A qat.rms of the same rows comes along (one barrier for both).
    bool withDeviation = rms && llvm::any_of(group.ops, [&](Operation *other) {
                           auto rmsOp = dyn_cast<RmsOp>(other);
                           return rmsOp && rmsOp.getInput() == op.getInput() &&
                                  getStepGroupLength(rmsOp.getQuantizer(),
                                                     plan.shape) == groupLength;
                         });
    SmallVector<Value> shared = computeInFirstWarp([&] {
      Value step =
          emitStepFromReduction(b, quantizer, totals.front(), groupLength);
      SmallVector<Value> computed = {
          step, arith::DivFOp::create(b, constantF32(b, 1.0), step)};
      if (withDeviation)
        computed.push_back(emitDeviation(totals.front(), groupLength));
      return computed;
    });
    reciprocalOf[shared[0]] = shared[1];
    if (withDeviation)
      firstWarpDeviation[totals.front()] = shared[2];
    setSteps(op.getResult(), groupLength,
             SmallVector<Value>(totals.size(), shared[0]));
    return;
  }
  for (Value total : totals) {
    Value &step = stepOf[total];
    if (!step)
      step = emitStepFromReduction(b, quantizer, total, groupLength);
    perChunk.push_back(step);
  }
  setSteps(op.getResult(), groupLength, std::move(perChunk));
}

/// The sums of squares of the groups of `x` (held values of a row tensor),
/// one per chunk, reduced once per tensor and group length.
ArrayRef<Value> RowKernelEmitter::getSumsOfSquares(ArrayRef<Value> x,
                                                   int64_t groupLength) {
  auto key = std::make_tuple(x.front(), x.back(), groupLength);
  auto it = sumsOfSquares.find(key);
  if (it != sumsOfSquares.end())
    return it->second;
  SmallVector<Value> partials;
  for (int64_t j = 0; j < C; ++j) {
    Value partial;
    for (int64_t l = 0; l < V; ++l) {
      Value square = arith::MulFOp::create(b, x[j * V + l], x[j * V + l]);
      partial = partial ? combine(b, Combine::Sum, partial, square) : square;
    }
    partials.push_back(partial);
  }
  SmallVector<Value> totals =
      reduceGroups(Combine::Sum, std::move(partials), groupLength);
  setMagnitudeBound(x, totals, double(std::numeric_limits<float>::max()));
  return sumsOfSquares[key] = std::move(totals);
}

/// sqrt(total / groupLength) per chunk, once per distinct total. A group
/// per row is computed by the row's first warp where it hands values to the
/// others, with the reciprocal of `reciprocalStep` (when given) alongside.
SmallVector<Value> RowKernelEmitter::getDeviations(ArrayRef<Value> totals,
                                                   int64_t groupLength,
                                                   Value reciprocalStep) {
  auto deviationOf = [&](Value total) {
    return emitDeviation(total, groupLength);
  };
  DenseMap<Value, Value> deviationOfTotal;
  if (Value computed = firstWarpDeviation.lookup(totals.front());
      computed && !reciprocalStep) {
    deviationOfTotal[totals.front()] = computed;
  } else if (groupLength >= plan.shape.length && plan.usesFirstWarpValues()) {
    SmallVector<Value> shared = computeInFirstWarp([&] {
      SmallVector<Value> computed = {deviationOf(totals.front())};
      if (reciprocalStep)
        computed.push_back(
            arith::DivFOp::create(b, constantF32(b, 1.0), reciprocalStep));
      return computed;
    });
    deviationOfTotal[totals.front()] = shared[0];
    if (reciprocalStep)
      reciprocalOf[reciprocalStep] = shared[1];
  }
  SmallVector<Value> deviations;
  for (Value total : totals) {
    Value &deviation = deviationOfTotal[total];
    if (!deviation)
      deviation = deviationOf(total);
    deviations.push_back(deviation);
  }
  return deviations;
}

void RowKernelEmitter::emitRms(RmsOp op) {
  int64_t groupLength = getStepGroupLength(op.getQuantizer(), plan.shape);
  SmallVector<Value> x(getValues(op.getInput()));
  SmallVector<Value> totals(getSumsOfSquares(x, groupLength));
  setSteps(op.getResult(), groupLength, getDeviations(totals, groupLength));
}

/// With a seed (a stochastic quantizer), makes `math` draw for element l of
/// chunk round j of the op's layout: its row-major index in the tensor is
/// the kernel row times the row length plus its column (segments are a
/// row-major view of the rows).
void RowKernelEmitter::drawFor(GPUQuantMath &math, Value seed, int64_t j,
                               int64_t l) {
  if (!seed)
    return;
  Value column = arith::AddIOp::create(
      b, arith::MulIOp::create(b, layoutChunks[opLayout][j], index(V)),
      index(l));
  Value element = arith::AddIOp::create(
      b, arith::MulIOp::create(b, row, index(K * V)), column);
  math.setRoundingDraw(math.buildUniformDraw(
      seed, arith::IndexCastOp::create(b, b.getI64Type(), element)));
}

void RowKernelEmitter::emitQuantize(QuantizeOp op) {
  QuantizerAttr quantizer = op.getQuantizer();
  GPUQuantMath math(b);
  SmallVector<Value> x(getValues(op.getInput()));
  SmallVector<Value> step(getSteps(op.getScale(), quantizer));
  SmallVector<Value> v =
      quantizer.needsRatio() ? divideBySteps(x, step) : SmallVector<Value>(x);
  SmallVector<Value> result;
  for (int64_t j = 0; j < C; ++j)
    for (int64_t l = 0; l < V; ++l) {
      drawFor(math, op.getSeed(), j, l);
      result.push_back(
          quantizer.buildQuantize(math, x[j * V + l], v[j * V + l]));
    }
  setCodes(op.getResult(), std::move(result), op.getPacked());
}

void RowKernelEmitter::emitDequantize(DequantizeOp op) {
  QuantizerAttr quantizer = op.getQuantizer();
  GPUQuantMath math(b);
  SmallVector<Value> code(getCodes(op.getInput(), op.getPacked()));
  SmallVector<Value> step(getSteps(op.getScale(), quantizer));
  SmallVector<Value> result;
  for (int64_t j = 0; j < C; ++j)
    for (int64_t l = 0; l < V; ++l)
      result.push_back(
          quantizer.buildDequantize(math, code[j * V + l], step[j]));
  setValues(op.getResult(), std::move(result));
}

void RowKernelEmitter::emitFakeQuant(FakeQuantOp op) {
  QuantizerAttr quantizer = op.getQuantizer();
  GPUQuantMath math(b);
  SmallVector<Value> x(getValues(op.getInput()));
  SmallVector<Value> step(getSteps(op.getScale(), quantizer));
  SmallVector<Value> v =
      quantizer.needsRatio() ? divideBySteps(x, step) : SmallVector<Value>(x);
  SmallVector<Value> result;
  for (int64_t j = 0; j < C; ++j)
    for (int64_t l = 0; l < V; ++l) {
      drawFor(math, op.getSeed(), j, l);
      result.push_back(
          quantizer.buildFakeQuant(math, x[j * V + l], v[j * V + l], step[j]));
    }
  setValues(op.getResult(), std::move(result));
}

void RowKernelEmitter::emitFakeQuantGrad(FakeQuantGradOp op) {
  QuantizerAttr quantizer = op.getQuantizer();
  GradientEstimatorAttrInterface estimator = op.getEstimator();
  GPUQuantMath math(b);
  int64_t groupLength = getStepGroupLength(quantizer, plan.shape);
  SmallVector<Value> dy(getValues(op.getGrad()));
  SmallVector<Value> x(getValues(op.getInput()));
  SmallVector<Value> step(getSteps(op.getScale(), quantizer));

  // The statistic the estimator reads, one per chunk. (The plan and the
  // fusion know the same kinds: see getReductionGroupLengths.)
  SmallVector<Value> deviations;
  switch (estimator.getGroupStatistic()) {
  case GroupStatistic::None:
    break;
  case GroupStatistic::RootMeanSquare:
    if (Value std = op.getStd()) {
      // Given (qat.rms in the forward): no reduction of x here.
      deviations.assign(getSteps(std, quantizer));
    } else if (Value buffer = wholeTensorStd.lookup(op)) {
      Value global = memref::LoadOp::create(b, buffer, ValueRange{index(0)});
      deviations.assign(C, global);
    } else {
      SmallVector<Value> totals(getSumsOfSquares(x, groupLength));
      deviations = getDeviations(totals, groupLength, step.front());
    }
    break;
  default:
    // RowKernelPlan::get rejects such groups before anything is emitted.
    llvm_unreachable("statistic not planned for the row kernels");
  }

  // The estimator's per-group values, once per chunk and ahead of the branch
  // below (built inside it, each side would rebuild them, and the NVPTX
  // backend schedules the load of a saved deviation late: docs/
  // benchmarks.md, the QuEST backward's trust threshold).
  SmallVector<Value> invariants;
  DenseMap<std::pair<Value, Value>, Value> invariantOf;
  for (int64_t j = 0; j < C; ++j) {
    Value deviation = deviations.empty() ? Value() : deviations[j];
    Value &invariant = invariantOf[{step[j], deviation}];
    if (!invariant)
      invariant =
          estimator.buildGroupInvariant(math, quantizer, step[j], deviation);
    if (invariant)
      invariants.push_back(invariant);
  }

  // v = x / s, after the statistic's reduction so that the quotients are
  // not live across it. Then each element in one pass: its gradient and its
  // LSQ term, so that only the quotients and dy stay live (ptxas interleaves
  // the elements for latency; separate passes would keep every element's
  // intermediate values live at once).
  bool lsq = bool(op.getScaleGrad());
  SmallVector<Value> v = divideBySteps(x, step, /*exactForTiny=*/lsq);
  SmallVector<Value> dx, partials;
  // `halfSteps` (-s/2 per chunk, or empty): the centered level as
  // fma(k, s, -s/2) (see QuantElement::negHalfStep).
  auto emitElements = [&](ArrayRef<Value> halfSteps) {
    for (int64_t j = 0; j < C; ++j) {
      Value partial;
      for (int64_t l = 0; l < V; ++l) {
        int64_t i = j * V + l;
        QuantElement element;
        element.dy = dy[i];
        element.x = x[i];
        element.s = step[j];
        element.v = v[i];
        if (!deviations.empty())
          element.deviation = deviations[j];
        if (!invariants.empty())
          element.groupInvariant = invariants[j];
        if (!halfSteps.empty())
          element.negHalfStep = halfSteps[j];
        element.withStepGrad = lsq;
        dx.push_back(estimator.buildInputGrad(math, quantizer, element));
        if (!lsq)
          continue;
        // LSQ: ds = g * sum(dy * term). The products are fused into the
        // running sum (one rounding per term; the summation order is the
        // kernel's own anyway).
        Value term = quantizer.buildStepGradTerm(math, element);
        partial = partial
                      ? math::FmaOp::create(b, dy[i], term, partial).getResult()
                      : arith::MulFOp::create(b, dy[i], term).getResult();
      }
      if (lsq)
        partials.push_back(partial);
    }
  };
  if (estimator.usesLevel() && quantizer.getGrid().hasHalfIntegerLevels()) {
    // fma(k, s, -s/2) is (k - 1/2) * s rounded once where -s/2 is exact and
    // both are finite: for 2^-125 <= |s| <= FLT_MAX, checked once per step
    // (a row's threads branch alike). Outside, the product as written.
    DenseMap<Value, Value> halfOf;
    SmallVector<Value> halfSteps;
    Value usable;
    for (Value s : step) {
      Value &half = halfOf[s];
      if (!half) {
        half = arith::MulFOp::create(b, s, constantF32(b, -0.5));
        Value magnitude = math::AbsFOp::create(b, s);
        Value inRange = arith::AndIOp::create(
            b,
            arith::CmpFOp::create(b, arith::CmpFPredicate::OGE, magnitude,
                                  constantF32(b, 0x1p-125)),
            arith::CmpFOp::create(
                b, arith::CmpFPredicate::OLE, magnitude,
                constantF32(b, double(std::numeric_limits<float>::max()))));
        usable = usable ? arith::AndIOp::create(b, usable, inRange).getResult()
                        : inRange;
      }
      halfSteps.push_back(half);
    }
    SmallVector<Type> types(C * V + (lsq ? C : 0), b.getF32Type());
    auto ifOp = scf::IfOp::create(b, types, usable, /*withElseRegion=*/true);
    for (bool fast : {true, false}) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(fast ? ifOp.thenBlock() : ifOp.elseBlock());
      emitElements(fast ? ArrayRef<Value>(halfSteps) : ArrayRef<Value>());
      SmallVector<Value> yielded(dx);
      llvm::append_range(yielded, partials);
      scf::YieldOp::create(b, yielded);
      dx.clear();
      partials.clear();
    }
    ValueRange results = ifOp.getResults();
    dx.assign(results.begin(), results.begin() + C * V);
    partials.assign(results.begin() + C * V, results.end());
  } else {
    emitElements({});
  }
  // A mask estimator passes dy or 0 through: values of dy's type, which the
  // rounding to dx's type keeps when it is the same type (or f32). A NaN in
  // dy keeps its payload without the rounding; a Hadamard transform, which
  // adds before anything else, gives the same canonical NaN either way, so
  // only Hadamard consumers use the values unrounded.
  Type dxElement =
      cast<RankedTensorType>(op.getInputGrad().getType()).getElementType();
  Type dyElement =
      cast<RankedTensorType>(op.getGrad().getType()).getElementType();
  bool passesGradient =
      estimator.isMask() && (dxElement == dyElement || dxElement.isF32());
  bool onlyHadamards =
      llvm::all_of(op.getInputGrad().getUsers(), [&](Operation *user) {
        return isa<HadamardOp>(user) && group.contains(user);
      });
  setValues(op.getInputGrad(), std::move(dx),
            /*representable=*/passesGradient && onlyHadamards);

  Value scaleGrad = op.getScaleGrad();
  if (!scaleGrad)
    return;
  if (needsWholeTensorStepGrad(op)) {
    // The row's partial sum; a later launch adds the rows up.
    Value buffer = stepGradPartials.lookup(op);
    SmallVector<Value> rowTotal =
        reduceGroups(Combine::Sum, std::move(partials), plan.shape.length);
    if (!buffer)
      return;
    Value first =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tx, index(0));
    storeIf(both(rowValid, first), [&] {
      memref::StoreOp::create(b, rowTotal[0], buffer, ValueRange{row});
    });
    return;
  }
  Value factor = stepGradFactors.lookup(op);
  if (!factor)
    factor = constantF32(
        b, quantizer.getStepGradFactor(plan.shape.rows * plan.shape.length));
  DenseMap<Value, Value> gradOf;
  SmallVector<Value> perChunk;
  for (Value total :
       reduceGroups(Combine::Sum, std::move(partials), groupLength)) {
    Value &grad = gradOf[total];
    if (!grad)
      grad = arith::MulFOp::create(b, factor, total);
    perChunk.push_back(grad);
  }
  setSteps(scaleGrad, groupLength, std::move(perChunk));
}

void RowKernelEmitter::emitOp(Operation *op) {
  opLayout = 0;
  for (OpOperand &operand : op->getOpOperands())
    if (getOperandKind(operand) != RowValueKind::Steps)
      opLayout = std::max(opLayout, layoutOf.lookup(operand.get()));
  TypeSwitch<Operation *>(op)
      .Case([&](HadamardOp op) { emitHadamard(op); })
      .Case([&](ScaleOp op) { emitScale(op); })
      .Case([&](RmsOp op) { emitRms(op); })
      .Case([&](QuantizeOp op) { emitQuantize(op); })
      .Case([&](DequantizeOp op) { emitDequantize(op); })
      .Case([&](FakeQuantOp op) { emitFakeQuant(op); })
      .Case([&](FakeQuantGradOp op) { emitFakeQuantGrad(op); })
      .Case([&](linalg::LinalgOp op) { emitElementwise(op); });
}

/// A row elementwise linalg op (isRowElementwise): its body once per element
/// the thread holds. Its operands are held in f32; the body sees them in its
/// own types (truncating a bf16 or f16 value that is held in f32 is exact).
void RowKernelEmitter::emitElementwise(linalg::LinalgOp op) {
  SmallVector<SmallVector<Value>> inputs;
  for (Value input : op.getDpsInputs())
    inputs.emplace_back(getValues(input));
  Block *body = op.getBlock();
  SmallVector<SmallVector<Value>> results(op->getNumResults());
  for (int64_t i = 0; i < C * V; ++i) {
    IRMapping mapping;
    for (auto [argument, held] : llvm::zip(body->getArguments(), inputs)) {
      Type type = argument.getType();
      mapping.map(argument,
                  type.isF32()
                      ? held[i]
                      : arith::TruncFOp::create(b, type, held[i]).getResult());
    }
    for (Operation &bodyOp : body->without_terminator())
      b.clone(bodyOp, mapping);
    for (auto [k, yielded] :
         llvm::enumerate(body->getTerminator()->getOperands())) {
      Value value = mapping.lookupOrDefault(yielded);
      if (!value.getType().isF32())
        value = arith::ExtFOp::create(b, b.getF32Type(), value);
      results[k].push_back(value);
    }
  }
  for (auto [result, elements] : llvm::zip(op->getResults(), results))
    setValues(result, std::move(elements), /*representable=*/true);
}

//===----------------------------------------------------------------------===//
// Host side
//===----------------------------------------------------------------------===//

Value RowKernelEmitter::getInputBuffer(Value tensor) {
  Value &buffer = inputBuffers[tensor];
  if (!buffer)
    buffer = toReadOnlyBuffer(b, tensor);
  return buffer;
}

bool RowKernelEmitter::isOutput(Value result) const {
  return outputBuffers.contains(result);
}

void RowKernelEmitter::emitBody(gpu::LaunchOp launch) {
  tx = launch.getThreadIds().x;
  ty = launch.getThreadIds().y;
  if (plan.sharedFloats > 0)
    shared = getSharedFloats(b, plan.sharedFloats);
  // The Hadamard row copy comes first, the exchange regions next; reductions
  // follow.
  sharedUsed = plan.hadamardSharedFloats + plan.exchangeSharedFloats;

  row = launch.getBlockIds().x;
  if (RB > 1)
    row =
        arith::AddIOp::create(b, arith::MulIOp::create(b, row, index(RB)), ty);
  if (plan.guardRows)
    rowValid =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row,
                              rowCount ? rowCount : index(plan.shape.rows));
  const RowLayout &layout = plan.layouts.front();
  Value first = layout.buildFirstChunk(b, tx);
  for (int64_t j = 0; j < C; ++j) {
    int64_t offset = layout.getChunkOffset(j);
    Value c = j == 0 ? first : arith::AddIOp::create(b, first, index(offset));
    chunk.push_back(c);
    Value inRow;
    if (layout.mayLieBeyondRow(j))
      inRow = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, c, index(K));
    chunkInRow.push_back(inRow);
    valid.push_back(both(rowValid, inRow));
  }
  layoutChunks.push_back(chunk);
  for (const RowLayout &other : llvm::drop_begin(plan.layouts)) {
    Value first = other.buildFirstChunk(b, tx, chunk[0]);
    SmallVector<Value> &chunks = layoutChunks.emplace_back();
    for (int64_t j = 0; j < C; ++j)
      chunks.push_back(j == 0 ? first
                              : arith::AddIOp::create(
                                    b, first, index(other.getChunkOffset(j))));
  }
  for (Operation *op : group.ops)
    emitOp(op);
}

/// A [R, L] view of a row tensor (values, codes, per-group steps) as the
/// kernel's [R * S, L / S] rows; per-row and per-tensor steps stay.
Value RowKernelEmitter::viewAsSegments(Value rows) {
  auto type = cast<MemRefType>(rows.getType());
  int64_t S = plan.segments, length = type.getDimSize(1);
  // (With dynamic rows, every buffer but the per-row and per-tensor steps
  // has the group's rows.)
  bool groupRows = type.isDynamicDim(0)
                       ? plan.shape.hasDynamicRows()
                       : !plan.shape.hasDynamicRows() &&
                             type.getDimSize(0) * S == plan.shape.rows;
  if (S == 1 || !groupRows || length == 1)
    return rows;
  Value split = memref::ExpandShapeOp::create(
      b,
      MemRefType::get({type.getDimSize(0), S, length / S},
                      type.getElementType()),
      rows, ArrayRef<ReassociationIndices>{{0}, {1, 2}});
  return memref::CollapseShapeOp::create(
      b, split, ArrayRef<ReassociationIndices>{{0, 1}, {2}});
}

/// The host-side values of a launch over a dynamic number of rows: R * S from
/// the kernel's [R * S, L / S] view `rows` of the first input, the grid
/// ceil(R * S / RB), and LSQ's factor 1 / sqrt(N * Qp) (N = R * L),
/// computed in f64 and rounded once to f32 as the constant of a static shape
/// is (N * Qp is exact in both).
void RowKernelEmitter::emitDynamicGrid(Value rows) {
  rowCount = memref::DimOp::create(b, rows, 0);
  blockCount =
      RB == 1 ? rowCount
              : arith::CeilDivUIOp::create(b, rowCount, index(RB)).getResult();
  for (Operation *op : group.ops) {
    auto grad = dyn_cast<FakeQuantGradOp>(op);
    if (!grad || !grad.getScaleGrad())
      continue;
    Type f64 = b.getF64Type();
    // per_tensor: no rows count as one element (ds = 0, as on the CPU).
    Value rows = needsWholeTensorStepGrad(op)
                     ? arith::MaxUIOp::create(b, rowCount, index(1))
                     : rowCount;
    Value elements = arith::MulIOp::create(
        b, rows, index(plan.shape.length * grad.getQuantizer().getMaxCode()));
    Value count = arith::UIToFPOp::create(
        b, f64, arith::IndexCastUIOp::create(b, b.getI64Type(), elements));
    Value one = arith::ConstantOp::create(b, b.getF64FloatAttr(1.0));
    Value factor =
        arith::DivFOp::create(b, one, math::SqrtOp::create(b, count));
    stepGradFactors[op] = arith::TruncFOp::create(b, b.getF32Type(), factor);
  }
}

void RowKernelEmitter::emit(DenseMap<Value, Value> &replacements) {
  // Inputs: every operand that the group does not produce, read-only.
  for (Operation *op : group.ops) {
    for (Value operand : getReadValues(op)) {
      Operation *def = operand.getDefiningOp();
      // (Scalars an elementwise body takes from above stay SSA values.)
      if ((def && group.contains(def)) || inputRows.contains(operand) ||
          !isa<RankedTensorType>(operand.getType()))
        continue;
      inputRows[operand] =
          viewAsSegments(viewAsRows(b, getInputBuffer(operand)));
    }
  }
  // Dynamic rows: the kernel's rows are those of the first op's row operand
  // (every row tensor of the group has them), the grid follows.
  Value like = getInputBuffer(group.ops.front()->getOperand(0));
  if (plan.shape.hasDynamicRows())
    emitDynamicGrid(inputRows.lookup(group.ops.front()->getOperand(0)));

  // Outputs: results used outside the group (or returned), written once.
  SmallVector<Value> outputs;
  for (Operation *op : group.ops) {
    for (Value result : op->getResults()) {
      if (llvm::all_of(result.getUsers(),
                       [&](Operation *user) { return group.contains(user); }))
        continue;
      outputs.push_back(result);
      // The whole-tensor step gradient is written by its finishing launch.
      if (needsWholeTensorStepGrad(op) && result == op->getResult(1)) {
        outputBuffers[result] =
            allocBufferFor(b, cast<RankedTensorType>(result.getType()));
        SmallVector<Value> rows;
        if (rowCount)
          rows.push_back(rowCount);
        stepGradPartials[op] = memref::AllocOp::create(
            b, MemRefType::get({plan.shape.rows}, b.getF32Type()), rows);
        continue;
      }
      Value buffer =
          allocBufferFor(b, cast<RankedTensorType>(result.getType()), like);
      outputBuffers[result] = buffer;
      outputRows[result] = viewAsSegments(viewAsRows(b, buffer));
    }
  }
  if (outputs.empty())
    return;

  // per_tensor trust: the standard deviation of the whole input, before the
  // kernel (no CTA sees every row). The input is read a second time by the
  // kernel; fusing the two would need a grid-wide barrier.
  for (Operation *op : group.ops) {
    if (!needsWholeTensorStd(op))
      continue;
    auto grad = cast<FakeQuantGradOp>(op);
    Value buffer =
        memref::AllocOp::create(b, MemRefType::get({1}, b.getF32Type()));
    Value input = viewAsFlat(b, getInputBuffer(grad.getInput()));
    GroupLength elements = plan.shape.rows * plan.shape.length;
    if (plan.shape.hasDynamicRows())
      elements = GroupLength(emitNonZeroCount(b, input));
    emitWholeTensorReduction(
        b, input, TensorReductionKind::SumOfSquares,
        [&](ImplicitLocOpBuilder &nested, Value total) -> Value {
          return emitWholeTensorDeviation(nested, total, elements);
        },
        buffer, plan.shape.length);
    wholeTensorStd[op] = buffer;
  }

  OpBuilder::InsertPoint host = b.saveInsertionPoint();
  gpu::LaunchOp launch =
      blockCount ? createLaunch(b, blockCount, T, RB, plan.sharedFloats)
                 : createLaunch(b, plan.blocks, T, RB, plan.sharedFloats);
  emitBody(launch);
  b.restoreInsertionPoint(host);
  lowerSubgroupReductions(launch);

  // per_tensor LSQ: ds = g * (sum of the rows' partial sums).
  for (Operation *op : group.ops) {
    Value partials = stepGradPartials.lookup(op);
    if (!partials)
      continue;
    auto grad = cast<FakeQuantGradOp>(op);
    // Dynamic rows: the factor computed on the host (emitDynamicGrid).
    Value dynamicFactor = stepGradFactors.lookup(op);
    double factor =
        dynamicFactor
            ? 0.0
            : 1.0 / std::sqrt(double(plan.shape.rows * plan.shape.length) *
                              grad.getQuantizer().getMaxCode());
    emitWholeTensorReduction(
        b, partials, TensorReductionKind::Sum,
        [&](ImplicitLocOpBuilder &nested, Value total) -> Value {
          Value g = dynamicFactor ? dynamicFactor : constantF32(nested, factor);
          return arith::MulFOp::create(nested, g, total);
        },
        viewAsFlat(b, outputBuffers.lookup(grad.getScaleGrad())),
        /*rowLength=*/1);
  }

  for (Value result : outputs)
    replacements[result] = toTensor(b, outputBuffers.lookup(result),
                                    cast<RankedTensorType>(result.getType()));
}

void mlir::qat::emitRowKernel(ImplicitLocOpBuilder &b, const FusionGroup &group,
                              const RowKernelPlan &plan,
                              DenseMap<Value, Value> &replacements) {
  RowKernelEmitter(b, group, plan).emit(replacements);
}
