//===- RowwiseKernelEmitter.cpp - One fused kernel per group ----*- C++ -*-===//
//
// Plans and emits the gpu.launch that computes a fusion group of row-local
// qat ops: one row per group of threads, values in registers, reductions by
// subgroup reductions and shared memory, the Hadamard transform as
// butterflies.
//
//===----------------------------------------------------------------------===//

#include "RowwiseFusion.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::qat;

//===----------------------------------------------------------------------===//
// Planning
//===----------------------------------------------------------------------===//

/// Whether `type` is a float type the kernels load and store (computing in
/// f32 throughout).
static bool isSupportedFloat(Type type) {
  return type.isF32() || type.isBF16() || type.isF16();
}

int64_t RowKernelPlan::getReductionSharedFloats(int64_t groupLength) const {
  int64_t chunksPerGroup = groupLength / vectorWidth;
  int64_t warpsPerRow = threadsPerRow / kWarpSize;
  if (chunksPerGroup >= chunks)
    return threadsPerRow > kWarpSize ? rowsPerBlock * warpsPerRow : 0;
  if (llvm::isPowerOf2_64(chunksPerGroup)) {
    int64_t values = chunksPerGroup >= threadsPerRow
                         ? chunksPerThread / (chunksPerGroup / threadsPerRow)
                         : chunksPerThread;
    int64_t lanes = std::min(chunksPerGroup, threadsPerRow);
    return lanes > kWarpSize ? rowsPerBlock * values * warpsPerRow : 0;
  }
  return rowsPerBlock * chunksPerThread * threadsPerRow;
}

/// The group lengths of the in-kernel reductions of `op`, in the order the
/// emitter allocates their shared memory.
static SmallVector<int64_t> getReductionGroupLengths(Operation *op,
                                                     RowShape shape) {
  SmallVector<int64_t> lengths;
  QuantizerAttr quantizer = getQuantizer(op);
  if (isa<ScaleOp>(op))
    lengths.push_back(getStepGroupLength(quantizer, shape));
  if (auto grad = dyn_cast<FakeQuantGradOp>(op)) {
    if (isa<TrustAttr>(grad.getEstimator()) && !needsWholeTensorStd(op))
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

FailureOr<RowKernelPlan> RowKernelPlan::get(const FusionGroup &group,
                                            int64_t elementsPerThread,
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

  RowKernelPlan plan;
  plan.shape = group.shape;
  int64_t length = group.shape.length;

  // Element types, the widest float of the rows, and what the vector width
  // must divide so that a chunk never straddles two steps or half a byte.
  int64_t widestFloatBytes = 2;
  bool packed = false;
  SmallVector<int64_t> divides = {length};
  for (Operation *op : group.ops) {
    // (type, whether it is a row of values), steps are read as scalars.
    SmallVector<std::pair<Type, bool>> types;
    for (OpOperand &operand : op->getOpOperands())
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
  // several 16-byte loads in flight), a power of two so that butterfly
  // partners and reduction clusters are aligned lanes, at most 1024.
  plan.chunks = length / plan.vectorWidth;
  int64_t chunkTarget =
      std::max<int64_t>(1, elementsPerThread / plan.vectorWidth);
  plan.threadsPerRow = std::min<int64_t>(
      1024, llvm::PowerOf2Ceil(llvm::divideCeil(plan.chunks, chunkTarget)));
  plan.chunksPerThread = llvm::divideCeil(plan.chunks, plan.threadsPerRow);
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

  // Short rows share a CTA so that it still has at least 128 threads (4
  // warps): fewer would cap the resident warps per SM by the CTA limit.
  plan.rowsPerBlock = std::min(std::max<int64_t>(1, 128 / plan.threadsPerRow),
                               group.shape.rows);
  plan.blocks = llvm::divideCeil(group.shape.rows, plan.rowsPerBlock);
  plan.guardChunks = plan.chunks % plan.threadsPerRow != 0;
  plan.guardRows = group.shape.rows % plan.rowsPerBlock != 0;

  // Shared memory: a padded copy of the CTA's rows when a Hadamard stage
  // pairs threads of different warps (block > 32 * V), one region per
  // reduction that combines warps.
  for (Operation *op : group.ops) {
    auto hadamard = dyn_cast<HadamardOp>(op);
    if (hadamard &&
        int64_t(hadamard.getBlock()) > kWarpSize * plan.vectorWidth &&
        plan.threadsPerRow > kWarpSize)
      plan.hadamardSharedFloats = plan.rowsPerBlock * plan.chunksPerThread *
                                  plan.threadsPerRow * plan.vectorWidth;
  }
  plan.sharedFloats = plan.hadamardSharedFloats;
  for (Operation *op : group.ops)
    for (int64_t groupLength : getReductionGroupLengths(op, group.shape))
      plan.sharedFloats += plan.getReductionSharedFloats(groupLength);
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

static Value clampF32(ImplicitLocOpBuilder &b, Value value, double lo,
                      double hi) {
  // maximumf/minimumf propagate NaN: a NaN input must not become a code or
  // level at the edge of the grid.
  Value low = arith::MaximumFOp::create(b, value, constantF32(b, lo));
  return arith::MinimumFOp::create(b, low, constantF32(b, hi));
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

Value mlir::qat::emitStepFromReduction(ImplicitLocOpBuilder &b,
                                       QuantizerAttr quantizer, Value total,
                                       int64_t groupLength) {
  Value clip = total;
  if (quantizer.getScaleMethod() == ScaleMethod::RmsGaussian) {
    // c = alpha_b * sqrt(mean(x^2)) + 1e-8 (QuEST).
    Value mean =
        arith::DivFOp::create(b, total, constantF32(b, double(groupLength)));
    Value rms = emitSqrt(b, mean);
    Value scaled = arith::MulFOp::create(
        b, constantF32(b, quantizer.getGaussianAlpha()), rms);
    clip = arith::AddFOp::create(b, scaled, constantF32(b, 1e-8));
  }
  if (quantizer.getGrid() == Grid::Centered) {
    // step = 2c / (2^b - 1).
    Value twice = arith::MulFOp::create(b, constantF32(b, 2.0), clip);
    return arith::DivFOp::create(
        b, twice,
        constantF32(b, double((int64_t(1) << quantizer.getBits()) - 1)));
  }
  // step = c / qp.
  return arith::DivFOp::create(b, clip,
                               constantF32(b, double(quantizer.getMaxCode())));
}

namespace {

/// The level of `x` in units of the step, as an integral f32: the code on
/// the signed grid, k (= code + 1) on the centered grid; sign(x) for one-bit
/// signed codes (NaN stays NaN, as it would through the other formulas).
Value emitLevelIndex(ImplicitLocOpBuilder &b, QuantizerAttr quantizer, Value x,
                     Value step) {
  if (quantizer.getGrid() == Grid::Signed && quantizer.getBits() == 1) {
    Value zero = constantF32(b, 0.0);
    Value positive =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, x, zero);
    Value negative =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OLT, x, zero);
    Value inner = arith::SelectOp::create(b, positive, constantF32(b, 1.0), x);
    Value sign =
        arith::SelectOp::create(b, negative, constantF32(b, -1.0), inner);
    // sign(+-0) = +-0, which is the level 0.
    return sign;
  }
  Value v = arith::DivFOp::create(b, x, step);
  double lo = double(quantizer.getMinCode());
  double hi = double(quantizer.getMaxCode());
  if (quantizer.getGrid() == Grid::Centered) {
    // k = clamp(round(x/s + 1/2), -2^(b-1)+1, 2^(b-1)).
    v = arith::AddFOp::create(b, v, constantF32(b, 0.5));
    lo += 1;
    hi += 1;
  }
  return clampF32(b, math::RoundEvenOp::create(b, v), lo, hi);
}

/// The integer code of `x` (i32).
Value emitQuantize(ImplicitLocOpBuilder &b, QuantizerAttr quantizer, Value x,
                   Value step) {
  Value level = emitLevelIndex(b, quantizer, x, step);
  Value code = arith::FPToSIOp::create(b, b.getI32Type(), level);
  if (quantizer.getGrid() == Grid::Centered)
    code = arith::SubIOp::create(
        b, code, arith::ConstantOp::create(b, b.getI32IntegerAttr(1)));
  return code;
}

/// code * s (signed) or (code + 1/2) * s (centered), from an i32 code.
Value emitDequantize(ImplicitLocOpBuilder &b, QuantizerAttr quantizer,
                     Value code, Value step) {
  Value value = arith::SIToFPOp::create(b, b.getF32Type(), code);
  if (quantizer.getGrid() == Grid::Centered)
    value = arith::AddFOp::create(b, value, constantF32(b, 0.5));
  return arith::MulFOp::create(b, value, step);
}

/// dequantize(quantize(x)) without the integer round trip: k*s (signed),
/// (k - 1/2)*s (centered; the code is k - 1).
Value emitFakeQuant(ImplicitLocOpBuilder &b, QuantizerAttr quantizer, Value x,
                    Value step) {
  Value level = emitLevelIndex(b, quantizer, x, step);
  if (quantizer.getGrid() == Grid::Centered)
    level = arith::SubFOp::create(b, level, constantF32(b, 0.5));
  return arith::MulFOp::create(b, level, step);
}

enum class Combine { Sum, Max };

Value combine(ImplicitLocOpBuilder &b, Combine kind, Value lhs, Value rhs) {
  if (kind == Combine::Sum)
    return arith::AddFOp::create(b, lhs, rhs);
  return arith::MaximumFOp::create(b, lhs, rhs);
}

//===----------------------------------------------------------------------===//
// RowKernelEmitter
//===----------------------------------------------------------------------===//

/// Emits one group: host-side buffers, the launch, the kernel body.
///
/// The body is straight-line code over the C * V elements a thread holds of
/// each row tensor (fully unrolled at emission time): every value of the
/// group is a list of f32 SSA values (i32 for codes, one f32 per chunk for
/// steps), so values that only the group uses never leave registers. Memory
/// accesses are the only guarded operations (scf.if), so that every thread
/// reaches every shuffle and barrier.
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

  // Kernel body.
  void emitBody(gpu::LaunchOp launch);
  void emitOp(Operation *op);
  void emitHadamard(HadamardOp op);
  void emitScale(ScaleOp op);
  void emitQuantize(QuantizeOp op);
  void emitDequantize(DequantizeOp op);
  void emitFakeQuant(FakeQuantOp op);
  void emitFakeQuantGrad(FakeQuantGradOp op);

  ArrayRef<Value> getValues(Value tensor);
  ArrayRef<Value> getCodes(Value tensor, bool packed);
  ArrayRef<Value> getSteps(Value tensor, QuantizerAttr quantizer);
  void setValues(Value result, SmallVector<Value> elements);
  void setCodes(Value result, SmallVector<Value> elements, bool packed);
  void setSteps(Value result, int64_t groupLength, SmallVector<Value> steps);

  SmallVector<Value> reduceGroups(Combine kind, SmallVector<Value> partials,
                                  int64_t groupLength);
  SmallVector<Value> reduceClusters(Combine kind, ArrayRef<Value> values,
                                    int64_t lanes);
  SmallVector<Value> reduceThroughSharedMemory(Combine kind,
                                               ArrayRef<Value> partials,
                                               int64_t chunksPerGroup);
  SmallVector<Value> hadamard(ArrayRef<Value> x, int64_t block);

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

  // Kernel side.
  Value tx, ty, row, rowValid, shared;
  int64_t sharedUsed = 0;
  /// Whether threads may still read the Hadamard row copy.
  bool hadamardCopyInUse = false;
  /// Per chunk j of the thread: its index in the row, whether it lies in
  /// the row (null when always), and whether it may be accessed (null when
  /// always).
  SmallVector<Value> chunk, chunkInRow, valid;
  DenseMap<Value, SmallVector<Value>> values, codes;
  DenseMap<std::pair<Value, int64_t>, SmallVector<Value>> steps;
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

ArrayRef<Value> RowKernelEmitter::getValues(Value tensor) {
  auto it = values.find(tensor);
  if (it != values.end())
    return it->second;
  // An external input: read once, extended to f32.
  Value buffer = inputRows.lookup(tensor);
  Type element = cast<RankedTensorType>(tensor.getType()).getElementType();
  auto type = VectorType::get({V}, element);
  SmallVector<Value> elements;
  for (int64_t j = 0; j < C; ++j) {
    Value column = arith::MulIOp::create(b, chunk[j], index(V));
    Value vector = loadIf(valid[j], type,
                          [&] { return vectorLoad(buffer, column, type); });
    for (int64_t l = 0; l < V; ++l) {
      Value element = vector::ExtractOp::create(b, vector, l);
      if (!element.getType().isF32())
        element = arith::ExtFOp::create(b, b.getF32Type(), element);
      elements.push_back(element);
    }
  }
  return values[tensor] = std::move(elements);
}

ArrayRef<Value> RowKernelEmitter::getCodes(Value tensor, bool packed) {
  auto it = codes.find(tensor);
  if (it != codes.end())
    return it->second;
  Value buffer = inputRows.lookup(tensor);
  Type element = cast<RankedTensorType>(tensor.getType()).getElementType();
  Type i32 = b.getI32Type();
  SmallVector<Value> elements;
  for (int64_t j = 0; j < C; ++j) {
    if (!packed) {
      auto type = VectorType::get({V}, element);
      Value column = arith::MulIOp::create(b, chunk[j], index(V));
      Value vector = loadIf(valid[j], type,
                            [&] { return vectorLoad(buffer, column, type); });
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
    // Two codes per byte, element 2i in the low nibble: sign-extend each
    // nibble by shifting it to the top of the byte and back.
    auto type = VectorType::get({V / 2}, element);
    Value column = arith::MulIOp::create(b, chunk[j], index(V / 2));
    Value vector = loadIf(valid[j], type,
                          [&] { return vectorLoad(buffer, column, type); });
    Value four = arith::ConstantOp::create(b, b.getI8IntegerAttr(4));
    for (int64_t l = 0; l < V / 2; ++l) {
      Value byte = vector::ExtractOp::create(b, vector, l);
      Value low =
          arith::ShRSIOp::create(b, arith::ShLIOp::create(b, byte, four), four);
      Value high = arith::ShRSIOp::create(b, byte, four);
      elements.push_back(arith::ExtSIOp::create(b, i32, low));
      elements.push_back(arith::ExtSIOp::create(b, i32, high));
    }
  }
  return codes[tensor] = std::move(elements);
}

ArrayRef<Value> RowKernelEmitter::getSteps(Value tensor,
                                           QuantizerAttr quantizer) {
  int64_t groupLength = getStepGroupLength(quantizer, plan.shape);
  auto key = std::make_pair(tensor, groupLength);
  auto it = steps.find(key);
  if (it != steps.end())
    return it->second;
  Value buffer = inputRows.lookup(tensor);
  Type element = cast<RankedTensorType>(tensor.getType()).getElementType();
  auto extend = [&](Value step) -> Value {
    if (step.getType().isF32())
      return step;
    return arith::ExtFOp::create(b, b.getF32Type(), step);
  };
  Value zero = index(0);
  SmallVector<Value> perChunk;
  if (quantizer.getGranularity() == Granularity::PerTensor) {
    Value step =
        extend(memref::LoadOp::create(b, buffer, ValueRange{zero, zero}));
    perChunk.assign(C, step);
  } else if (groupLength >= plan.shape.length) {
    // One step per row, the same address for every thread of the row.
    Value step = extend(loadIf(rowValid, element, [&] {
      return memref::LoadOp::create(b, buffer, ValueRange{row, zero});
    }));
    perChunk.assign(C, step);
  } else {
    // V divides the group length, so a chunk lies in exactly one group.
    int64_t chunksPerGroup = groupLength / V;
    for (int64_t j = 0; j < C; ++j) {
      Value groupIndex =
          arith::DivUIOp::create(b, chunk[j], index(chunksPerGroup));
      perChunk.push_back(extend(loadIf(valid[j], element, [&] {
        return memref::LoadOp::create(b, buffer, ValueRange{row, groupIndex});
      })));
    }
  }
  return steps[key] = std::move(perChunk);
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

void RowKernelEmitter::setValues(Value result, SmallVector<Value> elements) {
  Type element = cast<RankedTensorType>(result.getType()).getElementType();
  SmallVector<Value> narrow(elements.size());
  for (auto [value, stored] : llvm::zip(elements, narrow))
    value = roundTo(b, element, value, &stored);
  if (isOutput(result)) {
    Value buffer = outputRows.lookup(result);
    auto type = VectorType::get({V}, element);
    for (int64_t j = 0; j < C; ++j) {
      SmallVector<Value> lanes(ArrayRef<Value>(narrow).slice(j * V, V));
      Value column = arith::MulIOp::create(b, chunk[j], index(V));
      storeIf(valid[j], [&] {
        vectorStore(vector::FromElementsOp::create(b, type, lanes), buffer,
                    column);
      });
    }
  }
  values[result] = std::move(elements);
}

void RowKernelEmitter::setCodes(Value result, SmallVector<Value> elements,
                                bool packed) {
  if (isOutput(result)) {
    Value buffer = outputRows.lookup(result);
    Type element = cast<RankedTensorType>(result.getType()).getElementType();
    unsigned width = element.getIntOrFloatBitWidth();
    for (int64_t j = 0; j < C; ++j) {
      SmallVector<Value> lanes;
      if (packed) {
        // Packed in registers: one byte per pair, element 2i low.
        Value mask = arith::ConstantOp::create(b, b.getI32IntegerAttr(0xF));
        Value four = arith::ConstantOp::create(b, b.getI32IntegerAttr(4));
        for (int64_t l = 0; l < V; l += 2) {
          Value low = arith::AndIOp::create(b, elements[j * V + l], mask);
          Value high = arith::ShLIOp::create(b, elements[j * V + l + 1], four);
          Value byte = arith::OrIOp::create(b, low, high);
          lanes.push_back(arith::TruncIOp::create(b, element, byte));
        }
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
      auto type = VectorType::get({int64_t(lanes.size())}, element);
      Value column =
          arith::MulIOp::create(b, chunk[j], index(packed ? V / 2 : V));
      storeIf(valid[j], [&] {
        vectorStore(vector::FromElementsOp::create(b, type, lanes), buffer,
                    column);
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
/// of a row (a power of two <= T): a subgroup reduction within the warp
/// (butterfly shuffles once lowered), then, for clusters wider than a warp,
/// one shared-memory slot per warp and a single barrier, after which every
/// thread combines its cluster's warp totals in the same order, so that all
/// threads of a group see bit-identical results.
///
/// gpu.all_reduce is not used: it reduces over the whole CTA, while a CTA
/// holds several rows (short rows) and a row holds several groups
/// (per_group), and its lowering spends two barriers per reduction.
SmallVector<Value> RowKernelEmitter::reduceClusters(Combine kind,
                                                    ArrayRef<Value> partials,
                                                    int64_t lanes) {
  auto op = kind == Combine::Sum ? gpu::AllReduceOperation::ADD
                                 : gpu::AllReduceOperation::MAXIMUMF;
  int64_t warpLanes = std::min(lanes, kWarpSize);
  SmallVector<Value> reduced;
  for (Value partial : partials) {
    if (warpLanes == 1) {
      reduced.push_back(partial);
      continue;
    }
    std::optional<uint32_t> clusterSize;
    if (warpLanes < kWarpSize)
      clusterSize = uint32_t(warpLanes);
    reduced.push_back(gpu::SubgroupReduceOp::create(
        b, partial, op, /*uniform=*/true, clusterSize));
  }
  if (lanes <= kWarpSize)
    return reduced;

  int64_t warpsPerRow = T / kWarpSize;
  int64_t warpsPerCluster = lanes / kWarpSize;
  int64_t count = partials.size();
  Value base = allocShared(RB * count * warpsPerRow);
  Value warp = arith::DivUIOp::create(b, tx, index(kWarpSize));
  Value lane = arith::RemUIOp::create(b, tx, index(kWarpSize));
  Value leader =
      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, index(0));
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
  Value firstWarp = arith::MulIOp::create(
      b, arith::DivUIOp::create(b, tx, index(lanes)), index(warpsPerCluster));
  Value clusterBase = arith::AddIOp::create(b, rowBase, firstWarp);
  SmallVector<Value> totals;
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
/// Q = groupLength / V chunks per group and chunk c = j*T + t:
///  * Q >= K (one group per row): a thread combines its chunks, then the
///    row's T threads reduce;
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
    Value total = partials[0];
    for (int64_t j = 1; j < C; ++j)
      total = combine(b, kind, total, partials[j]);
    return SmallVector<Value>(C, reduceClusters(kind, {total}, T)[0]);
  }
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
SmallVector<Value> RowKernelEmitter::hadamard(ArrayRef<Value> x,
                                              int64_t block) {
  SmallVector<Value> current(x);
  Value rowBase;
  for (int64_t h = 1; h < block; h *= 2) {
    SmallVector<Value> next(current.size());
    if (h < V || h >= V * T) {
      for (int64_t j = 0; j < C; ++j) {
        for (int64_t l = 0; l < V; ++l) {
          int64_t i = j * V + l;
          int64_t partner =
              h < V ? j * V + (l ^ h) : (j ^ (h / (V * T))) * V + l;
          bool lower = h < V ? (l & h) == 0 : (j & (h / (V * T))) == 0;
          if (lower)
            next[i] = arith::AddFOp::create(b, current[i], current[partner]);
          else
            next[i] = arith::SubFOp::create(b, current[partner], current[i]);
        }
      }
      current = std::move(next);
      continue;
    }
    int64_t distance = h / V;
    Value bit = arith::AndIOp::create(b, tx, index(distance));
    Value upper =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ne, bit, index(0));
    SmallVector<Value> partners;
    if (distance < kWarpSize) {
      for (Value value : current)
        partners.push_back(gpu::ShuffleOp::create(b, value, int32_t(distance),
                                                  int32_t(kWarpSize),
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
    for (auto [i, value] : llvm::enumerate(current)) {
      Value sum = arith::AddFOp::create(b, value, partners[i]);
      Value difference = arith::SubFOp::create(b, partners[i], value);
      next[i] = arith::SelectOp::create(b, upper, difference, sum);
    }
    current = std::move(next);
  }
  Value scale = constantF32(b, 1.0 / std::sqrt(double(block)));
  for (Value &value : current)
    value = arith::MulFOp::create(b, value, scale);
  return current;
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

void RowKernelEmitter::emitHadamard(HadamardOp op) {
  setValues(op.getResult(), hadamard(getValues(op.getInput()), op.getBlock()));
}

void RowKernelEmitter::emitScale(ScaleOp op) {
  QuantizerAttr quantizer = op.getQuantizer();
  int64_t groupLength = getStepGroupLength(quantizer, plan.shape);
  bool rms = quantizer.getScaleMethod() == ScaleMethod::RmsGaussian;
  SmallVector<Value> x(getValues(op.getInput()));
  SmallVector<Value> partials;
  for (int64_t j = 0; j < C; ++j) {
    Value partial;
    for (int64_t l = 0; l < V; ++l) {
      Value element = x[j * V + l];
      Value term = rms ? arith::MulFOp::create(b, element, element).getResult()
                       : math::AbsFOp::create(b, element).getResult();
      partial =
          partial ? combine(b, rms ? Combine::Sum : Combine::Max, partial, term)
                  : term;
    }
    partials.push_back(partial);
  }
  SmallVector<Value> totals = reduceGroups(rms ? Combine::Sum : Combine::Max,
                                           std::move(partials), groupLength);
  // A per-row total is one value shared by all chunks: one step.
  DenseMap<Value, Value> stepOf;
  SmallVector<Value> perChunk;
  for (Value total : totals) {
    Value &step = stepOf[total];
    if (!step)
      step = emitStepFromReduction(b, quantizer, total, groupLength);
    perChunk.push_back(step);
  }
  setSteps(op.getResult(), groupLength, std::move(perChunk));
}

void RowKernelEmitter::emitQuantize(QuantizeOp op) {
  QuantizerAttr quantizer = op.getQuantizer();
  SmallVector<Value> x(getValues(op.getInput()));
  SmallVector<Value> step(getSteps(op.getScale(), quantizer));
  SmallVector<Value> result;
  for (int64_t j = 0; j < C; ++j)
    for (int64_t l = 0; l < V; ++l)
      result.push_back(::emitQuantize(b, quantizer, x[j * V + l], step[j]));
  setCodes(op.getResult(), std::move(result), op.getPacked());
}

void RowKernelEmitter::emitDequantize(DequantizeOp op) {
  QuantizerAttr quantizer = op.getQuantizer();
  SmallVector<Value> code(getCodes(op.getInput(), op.getPacked()));
  SmallVector<Value> step(getSteps(op.getScale(), quantizer));
  SmallVector<Value> result;
  for (int64_t j = 0; j < C; ++j)
    for (int64_t l = 0; l < V; ++l)
      result.push_back(
          ::emitDequantize(b, quantizer, code[j * V + l], step[j]));
  setValues(op.getResult(), std::move(result));
}

void RowKernelEmitter::emitFakeQuant(FakeQuantOp op) {
  QuantizerAttr quantizer = op.getQuantizer();
  SmallVector<Value> x(getValues(op.getInput()));
  SmallVector<Value> step(getSteps(op.getScale(), quantizer));
  SmallVector<Value> result;
  for (int64_t j = 0; j < C; ++j)
    for (int64_t l = 0; l < V; ++l)
      result.push_back(::emitFakeQuant(b, quantizer, x[j * V + l], step[j]));
  setValues(op.getResult(), std::move(result));
}

void RowKernelEmitter::emitFakeQuantGrad(FakeQuantGradOp op) {
  QuantizerAttr quantizer = op.getQuantizer();
  GradientEstimatorAttrInterface estimator = op.getEstimator();
  int64_t groupLength = getStepGroupLength(quantizer, plan.shape);
  SmallVector<Value> dy(getValues(op.getGrad()));
  SmallVector<Value> x(getValues(op.getInput()));
  SmallVector<Value> step(getSteps(op.getScale(), quantizer));
  double qn = double(quantizer.getMinCode());
  double qp = double(quantizer.getMaxCode());
  Value zero = constantF32(b, 0.0);
  Value one = constantF32(b, 1.0);

  // v = x / s, and whether it lies in [qn, qp].
  SmallVector<Value> v, inside;
  for (int64_t j = 0; j < C; ++j) {
    for (int64_t l = 0; l < V; ++l) {
      Value ratio = arith::DivFOp::create(b, x[j * V + l], step[j]);
      Value aboveMin = arith::CmpFOp::create(b, arith::CmpFPredicate::OGE,
                                             ratio, constantF32(b, qn));
      Value belowMax = arith::CmpFOp::create(b, arith::CmpFPredicate::OLE,
                                             ratio, constantF32(b, qp));
      v.push_back(ratio);
      inside.push_back(arith::AndIOp::create(b, aboveMin, belowMax));
    }
  }

  // The trust threshold T * std, one per chunk.
  SmallVector<Value> threshold;
  if (auto trust = dyn_cast<TrustAttr>(estimator)) {
    Value factor = constantF32(b, trust.getFactorForBits(quantizer.getBits()));
    SmallVector<Value> deviations;
    if (Value buffer = wholeTensorStd.lookup(op)) {
      Value global = memref::LoadOp::create(b, buffer, ValueRange{index(0)});
      deviations.assign(C, global);
    } else {
      SmallVector<Value> partials;
      for (int64_t j = 0; j < C; ++j) {
        Value partial;
        for (int64_t l = 0; l < V; ++l) {
          Value square = arith::MulFOp::create(b, x[j * V + l], x[j * V + l]);
          partial =
              partial ? arith::AddFOp::create(b, partial, square) : square;
        }
        partials.push_back(partial);
      }
      DenseMap<Value, Value> stdOf;
      for (Value total :
           reduceGroups(Combine::Sum, std::move(partials), groupLength)) {
        Value &deviation = stdOf[total];
        if (!deviation)
          deviation =
              emitSqrt(b, arith::DivFOp::create(
                              b, total, constantF32(b, double(groupLength))));
        deviations.push_back(deviation);
      }
    }
    DenseMap<Value, Value> thresholdOf;
    for (Value deviation : deviations) {
      Value &scaled = thresholdOf[deviation];
      if (!scaled)
        scaled = arith::MulFOp::create(b, factor, deviation);
      threshold.push_back(scaled);
    }
  }

  SmallVector<Value> dx;
  for (int64_t j = 0; j < C; ++j) {
    for (int64_t l = 0; l < V; ++l) {
      int64_t i = j * V + l;
      Value keep;
      Value gradient = dy[i];
      if (isa<ClipAttr>(estimator)) {
        if (quantizer.getGrid() == Grid::Centered) {
          // |x| <= c with the clip recomputed from the step.
          double half = double((int64_t(1) << quantizer.getBits()) - 1) / 2;
          Value clip = arith::MulFOp::create(b, step[j], constantF32(b, half));
          keep = arith::CmpFOp::create(b, arith::CmpFPredicate::OLE,
                                       math::AbsFOp::create(b, x[i]), clip);
        } else {
          keep = inside[i];
        }
      } else if (isa<TrustAttr>(estimator)) {
        Value level = ::emitFakeQuant(b, quantizer, x[i], step[j]);
        Value error =
            math::AbsFOp::create(b, arith::SubFOp::create(b, level, x[i]));
        keep = arith::CmpFOp::create(b, arith::CmpFPredicate::OLE, error,
                                     threshold[j]);
      } else if (auto fourier = dyn_cast<FourierAttr>(estimator)) {
        // S(v) = sqrt(2)*pi * sum_k a_k cos((2k+1)*pi*(v + round(v))).
        Value rounded = math::RoundEvenOp::create(b, v[i]);
        Value phase = arith::AddFOp::create(b, v[i], rounded);
        Value sum = zero;
        for (auto [k, amplitude] :
             llvm::enumerate(fourier.getAmplitudesOrDefault())) {
          Value angle = arith::MulFOp::create(
              b, constantF32(b, double(2 * k + 1) * M_PI), phase);
          Value term = arith::MulFOp::create(b, constantF32(b, amplitude),
                                             math::CosOp::create(b, angle));
          sum = arith::AddFOp::create(b, sum, term);
        }
        Value s = arith::MulFOp::create(
            b, constantF32(b, std::sqrt(2.0) * M_PI), sum);
        Value numerator =
            arith::MulFOp::create(b, dy[i], arith::SubFOp::create(b, one, s));
        gradient = arith::DivFOp::create(b, numerator,
                                         arith::AddFOp::create(b, one, s));
        keep = inside[i];
      }
      dx.push_back(
          keep ? arith::SelectOp::create(b, keep, gradient, zero).getResult()
               : gradient);
    }
  }
  setValues(op.getInputGrad(), std::move(dx));

  Value scaleGrad = op.getScaleGrad();
  if (!scaleGrad)
    return;
  // LSQ: ds = g * sum(dy * (inside ? round(v) - v : clamp(v, qn, qp))).
  SmallVector<Value> partials;
  for (int64_t j = 0; j < C; ++j) {
    Value partial;
    for (int64_t l = 0; l < V; ++l) {
      int64_t i = j * V + l;
      Value rounded = math::RoundEvenOp::create(b, v[i]);
      Value offset = arith::SubFOp::create(b, rounded, v[i]);
      Value clamped = clampF32(b, v[i], qn, qp);
      Value term = arith::SelectOp::create(b, inside[i], offset, clamped);
      Value product = arith::MulFOp::create(b, dy[i], term);
      partial = partial ? arith::AddFOp::create(b, partial, product) : product;
    }
    partials.push_back(partial);
  }
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
  int64_t elements = plan.shape.rows * plan.shape.length;
  Value factor = constantF32(
      b, 1.0 / std::sqrt(double(elements) * quantizer.getMaxCode()));
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
  TypeSwitch<Operation *>(op)
      .Case([&](HadamardOp op) { emitHadamard(op); })
      .Case([&](ScaleOp op) { emitScale(op); })
      .Case([&](QuantizeOp op) { emitQuantize(op); })
      .Case([&](DequantizeOp op) { emitDequantize(op); })
      .Case([&](FakeQuantOp op) { emitFakeQuant(op); })
      .Case([&](FakeQuantGradOp op) { emitFakeQuantGrad(op); });
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
  // The Hadamard row copy comes first; reductions follow.
  sharedUsed = plan.hadamardSharedFloats;

  row = launch.getBlockIds().x;
  if (RB > 1)
    row =
        arith::AddIOp::create(b, arith::MulIOp::create(b, row, index(RB)), ty);
  if (plan.guardRows)
    rowValid = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row,
                                     index(plan.shape.rows));
  for (int64_t j = 0; j < C; ++j) {
    Value c = j == 0 ? tx : arith::AddIOp::create(b, tx, index(j * T));
    chunk.push_back(c);
    Value inRow;
    if ((j + 1) * T > K)
      inRow = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, c, index(K));
    chunkInRow.push_back(inRow);
    valid.push_back(both(rowValid, inRow));
  }
  for (Operation *op : group.ops)
    emitOp(op);
}

void RowKernelEmitter::emit(DenseMap<Value, Value> &replacements) {
  // Inputs: every operand that the group does not produce, read-only.
  for (Operation *op : group.ops) {
    for (Value operand : op->getOperands()) {
      Operation *def = operand.getDefiningOp();
      if ((def && group.contains(def)) || inputRows.contains(operand))
        continue;
      inputRows[operand] = viewAsRows(b, getInputBuffer(operand));
    }
  }
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
        stepGradPartials[op] = memref::AllocOp::create(
            b, MemRefType::get({plan.shape.rows}, b.getF32Type()));
        continue;
      }
      Value buffer =
          allocBufferFor(b, cast<RankedTensorType>(result.getType()));
      outputBuffers[result] = buffer;
      outputRows[result] = viewAsRows(b, buffer);
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
    int64_t elements = plan.shape.rows * plan.shape.length;
    emitWholeTensorReduction(
        b, viewAsFlat(b, getInputBuffer(grad.getInput())),
        TensorReductionKind::SumOfSquares,
        [&](ImplicitLocOpBuilder &nested, Value total) -> Value {
          Value mean = arith::DivFOp::create(
              nested, total, constantF32(nested, double(elements)));
          return emitSqrt(nested, mean);
        },
        buffer);
    wholeTensorStd[op] = buffer;
  }

  OpBuilder::InsertPoint host = b.saveInsertionPoint();
  gpu::LaunchOp launch = createLaunch(b, plan.blocks, T, RB, plan.sharedFloats);
  emitBody(launch);
  b.restoreInsertionPoint(host);
  lowerSubgroupReductions(launch);

  // per_tensor LSQ: ds = g * (sum of the rows' partial sums).
  for (Operation *op : group.ops) {
    Value partials = stepGradPartials.lookup(op);
    if (!partials)
      continue;
    auto grad = cast<FakeQuantGradOp>(op);
    double factor =
        1.0 / std::sqrt(double(plan.shape.rows * plan.shape.length) *
                        grad.getQuantizer().getMaxCode());
    emitWholeTensorReduction(
        b, partials, TensorReductionKind::Sum,
        [&](ImplicitLocOpBuilder &nested, Value total) -> Value {
          return arith::MulFOp::create(nested, constantF32(nested, factor),
                                       total);
        },
        viewAsFlat(b, outputBuffers.lookup(grad.getScaleGrad())));
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
