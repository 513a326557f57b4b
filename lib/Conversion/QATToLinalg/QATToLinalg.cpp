//===- QATToLinalg.cpp - qat ops to linalg on tensors -----------*- C++ -*-===//
//
// The convert-qat-to-linalg pass: every qat op becomes linalg ops on tensors
// whose bodies compute the formulas of docs/semantics.md in f32.
//
//===----------------------------------------------------------------------===//

#include "qat/Conversion/QATToLinalg/QATToLinalg.h"

#include "qat/Dialect/QAT/IR/QATDialect.h"
#include "qat/Dialect/QAT/IR/QATOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/Sequence.h"

#include <cmath>

namespace mlir::qat {
#define GEN_PASS_DEF_CONVERTQATTOLINALG
#include "qat/Conversion/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;
using namespace mlir::qat;

using BodyBuilder = function_ref<Value(OpBuilder &, Location, ValueRange)>;

//===----------------------------------------------------------------------===//
// Scalar arithmetic inside linalg bodies
//===----------------------------------------------------------------------===//

static Value constantF32(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

static Value constantInt(OpBuilder &b, Location loc, Type type, int64_t value) {
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, value));
}

/// Extends or truncates a float to `to`: operands are read into f32 and
/// results written back in their storage type.
static Value castFloat(OpBuilder &b, Location loc, Value value, Type to) {
  Type from = value.getType();
  if (from == to)
    return value;
  if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
    return arith::ExtFOp::create(b, loc, to, value);
  return arith::TruncFOp::create(b, loc, to, value);
}

static Value toF32(OpBuilder &b, Location loc, Value value) {
  return castFloat(b, loc, value, b.getF32Type());
}

/// Sign-extends or truncates a two's complement integer to `to`.
static Value castInt(OpBuilder &b, Location loc, Value value, Type to) {
  unsigned fromWidth = value.getType().getIntOrFloatBitWidth();
  unsigned toWidth = to.getIntOrFloatBitWidth();
  if (fromWidth == toWidth)
    return value;
  if (fromWidth < toWidth)
    return arith::ExtSIOp::create(b, loc, to, value);
  return arith::TruncIOp::create(b, loc, to, value);
}

/// The i32 code of the dialect's math converted to the storage integer.
static Value codeToStorage(OpBuilder &b, Location loc, Value code, Type to) {
  return castInt(b, loc, code, to);
}

static Value toI32(OpBuilder &b, Location loc, Value code) {
  return castInt(b, loc, code, b.getI32Type());
}

/// v = x / s where the grid reads it (everything but the one-bit signed
/// grid), else x itself.
static Value ratioFor(QuantMath &math, QuantizerAttr q, Value x, Value s) {
  return q.needsRatio() ? math.divide(x, s) : x;
}

/// The code (i32) of x with step s.
static Value quantizeElement(QuantMath &math, QuantizerAttr q, Value x,
                             Value s) {
  return q.buildQuantize(math, x, ratioFor(math, q, x, s));
}

/// Inside a generic over a row-major view `viewShape` of a tensor, the
/// row-major index (i64) of the element in that tensor, plus `offset`. A
/// dynamic size is only allowed after sizes of 1 (a per_tensor group view
/// of dynamic rows), whose indices are then 0.
static Value buildLinearIndex(OpBuilder &b, Location loc,
                              ArrayRef<int64_t> viewShape, int64_t offset = 0) {
  Type i64 = b.getI64Type();
  auto indexAt = [&](unsigned dim) -> Value {
    return arith::IndexCastOp::create(b, loc, i64,
                                      linalg::IndexOp::create(b, loc, dim));
  };
  Value index = indexAt(0);
  for (unsigned dim = 1; dim < viewShape.size(); ++dim) {
    if (ShapedType::isDynamic(viewShape[dim])) {
      assert(llvm::all_of(viewShape.take_front(dim),
                          [](int64_t size) { return size == 1; }) &&
             "a dynamic size after a size other than 1");
      index = indexAt(dim);
      continue;
    }
    index = arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, index,
                              constantInt(b, loc, i64, viewShape[dim])),
        indexAt(dim));
  }
  if (offset)
    index =
        arith::AddIOp::create(b, loc, index, constantInt(b, loc, i64, offset));
  return index;
}

/// Makes `math`'s roundings stochastic with the draw of the element at
/// `index` under `seed` (the operand of an op with a stochastic quantizer).
static void setRoundingDraw(QuantMath &math, Value seed, Value index) {
  math.setRoundingDraw(math.buildUniformDraw(seed, index));
}

/// Inside a generic over the view `viewShape`: with a seed, the roundings of
/// `math` draw for the element the generic is at; without, nothing.
static void drawForElement(OpBuilder &b, Location loc, QuantMath &math,
                           Value seed, ArrayRef<int64_t> viewShape) {
  if (seed)
    setRoundingDraw(math, seed, buildLinearIndex(b, loc, viewShape));
}

//===----------------------------------------------------------------------===//
// Tensor-level helpers
//===----------------------------------------------------------------------===//

/// The product of the leading dimensions (the rows of the [R, D] view),
/// dynamic when one of them is.
static int64_t getLeadingProduct(ArrayRef<int64_t> shape) {
  int64_t rows = 1;
  for (int64_t dim : shape.drop_back()) {
    if (ShapedType::isDynamic(dim))
      return ShapedType::kDynamic;
    rows *= dim;
  }
  return rows;
}

/// A tensor.empty of `shape`; its dynamic sizes are those of `like` (a
/// tensor of the same rank whose dynamic dimensions are the same ones: the
/// rows, which are all the views here leave dynamic).
static Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                         Type elementType, Value like = {}) {
  SmallVector<Value> sizes;
  for (auto [dim, size] : llvm::enumerate(shape))
    if (ShapedType::isDynamic(size))
      sizes.push_back(tensor::DimOp::create(b, loc, like, dim));
  return tensor::EmptyOp::create(b, loc, shape, elementType, sizes);
}

static Value filledTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                          TypedAttr value, Value like = {}) {
  Value init = emptyTensor(b, loc, shape, value.getType(), like);
  Value scalar = arith::ConstantOp::create(b, loc, value);
  return linalg::FillOp::create(b, loc, ValueRange{scalar}, ValueRange{init})
      .getResult(0);
}

/// Reshapes a tensor to `shape` (same number of elements) with
/// collapse/expand_shape, which bufferize to views. At most one dimension
/// of `shape` is dynamic (the rows; ops with several dynamic dimensions are
/// flattened first, see FlattenDynamicRows), so expand_shape infers it.
static Value reshape(OpBuilder &b, Location loc, Value value,
                     ArrayRef<int64_t> shape) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getShape() == shape)
    return value;
  auto target = RankedTensorType::get(shape, type.getElementType());
  if (type.getRank() != target.getRank()) {
    if (std::optional<SmallVector<ReassociationIndices>> reassociation =
            getReassociationIndicesForReshape(type, target)) {
      if (target.getRank() < type.getRank())
        return tensor::CollapseShapeOp::create(b, loc, target, value,
                                               *reassociation);
      return tensor::ExpandShapeOp::create(b, loc, target, value,
                                           *reassociation);
    }
  }
  // No single reshape relates the shapes: go through the flat tensor.
  ReassociationIndices all =
      llvm::to_vector<2>(llvm::seq<int64_t>(0, type.getRank()));
  Value flat = value;
  if (type.getRank() != 1)
    flat = tensor::CollapseShapeOp::create(b, loc, value,
                                           ArrayRef<ReassociationIndices>{all});
  if (target.getRank() == 1)
    return flat;
  ReassociationIndices allTarget =
      llvm::to_vector<2>(llvm::seq<int64_t>(0, target.getRank()));
  return tensor::ExpandShapeOp::create(
      b, loc, target, flat, ArrayRef<ReassociationIndices>{allTarget});
}

/// A linalg.generic with one result, initialised by `init`, whose body is
/// `body(block arguments)`.
static Value buildGeneric(OpBuilder &b, Location loc, ValueRange inputs,
                          Value init, ArrayRef<AffineMap> maps,
                          ArrayRef<utils::IteratorType> iterators,
                          BodyBuilder body) {
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        linalg::YieldOp::create(nested, nestedLoc,
                                body(nested, nestedLoc, args));
      });
  return generic.getResult(0);
}

//===----------------------------------------------------------------------===//
// Quantizer groups
//===----------------------------------------------------------------------===//

namespace {
/// The input viewed as [rows, groups, length]: one group of the quantizer is
/// a contiguous innermost row, and one step per (row, group) broadcasts along
/// it. per_tensor is [1, 1, N], per_row [N/D, 1, D], per_group<G>
/// [N/D, D/G, G]. The scale, whatever its rank, is viewed as [rows, groups].
struct GroupView {
  static GroupView get(QuantizerAttr quantizer, ArrayRef<int64_t> shape) {
    int64_t leading = getLeadingProduct(shape);
    int64_t rowLength = shape.back();
    switch (quantizer.getGranularity()) {
    case Granularity::PerTensor:
      // Dynamic rows: one group of a dynamic length (see buildGroupLength).
      if (ShapedType::isDynamic(leading))
        return {1, 1, ShapedType::kDynamic};
      return {1, 1, leading * rowLength};
    case Granularity::PerRow:
      return {leading, 1, rowLength};
    case Granularity::PerGroup:
      return {leading, rowLength / quantizer.getGroupSize(),
              quantizer.getGroupSize()};
    }
    llvm_unreachable("unknown granularity");
  }

  SmallVector<int64_t> shape() const { return {rows, groups, length}; }
  SmallVector<int64_t> scaleShape() const { return {rows, groups}; }

  int64_t rows, groups, length;
};
} // namespace

static SmallVector<utils::IteratorType> parallelIterators(unsigned count) {
  return SmallVector<utils::IteratorType>(count, utils::IteratorType::parallel);
}

/// The operands of a generic over the group view [rows, groups, length]:
/// `elementwise` ones have x's shape and are read at (r, g, l), `perGroup`
/// ones have the scale's shape and are read at (r, g), broadcast along the
/// group.
static void appendGroupOperands(OpBuilder &b, Location loc,
                                const GroupView &view, ValueRange elementwise,
                                ValueRange perGroup,
                                SmallVectorImpl<Value> &inputs,
                                SmallVectorImpl<AffineMap> &maps) {
  MLIRContext *ctx = b.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(3, ctx);
  AffineMap toGroup = AffineMap::get(
      3, 0, {getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx)}, ctx);
  for (Value value : elementwise) {
    inputs.push_back(reshape(b, loc, value, view.shape()));
    maps.push_back(identity);
  }
  for (Value value : perGroup) {
    inputs.push_back(reshape(b, loc, value, view.scaleShape()));
    maps.push_back(toGroup);
  }
}

/// One elementwise linalg.generic over the group view (see
/// appendGroupOperands); the result is returned in `resultType`'s shape.
static Value buildGroupwise(OpBuilder &b, Location loc, const GroupView &view,
                            ValueRange elementwise, ValueRange perGroup,
                            RankedTensorType resultType, BodyBuilder body) {
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  appendGroupOperands(b, loc, view, elementwise, perGroup, inputs, maps);
  maps.push_back(AffineMap::getMultiDimIdentityMap(3, b.getContext()));
  Value init = emptyTensor(b, loc, view.shape(), resultType.getElementType(),
                           inputs.front());
  Value result =
      buildGeneric(b, loc, inputs, init, maps, parallelIterators(3), body);
  return reshape(b, loc, result, resultType.getShape());
}

/// A per-group reduction over the innermost dimension of the group view:
/// `combine(accumulator, operands...)` folded over the group's elements,
/// starting from `init` (a FloatAttr). Returns a tensor of shape [rows,
/// groups] of the accumulator's type.
static Value buildGroupReduction(
    OpBuilder &b, Location loc, const GroupView &view, ValueRange elementwise,
    ValueRange perGroup, FloatAttr init,
    function_ref<Value(OpBuilder &, Location, ValueRange, Value)> combine) {
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  appendGroupOperands(b, loc, view, elementwise, perGroup, inputs, maps);
  MLIRContext *ctx = b.getContext();
  maps.push_back(AffineMap::get(
      3, 0, {getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx)}, ctx));
  Value acc = filledTensor(b, loc, view.scaleShape(), init, inputs.front());
  return buildGeneric(
      b, loc, inputs, acc, maps,
      {utils::IteratorType::parallel, utils::IteratorType::parallel,
       utils::IteratorType::reduction},
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        return combine(nested, nestedLoc, args.drop_back(), args.back());
      });
}

/// Sums accumulate f32 terms in f64. A sequential f32 sum of N terms drifts
/// by up to N * 2^-24 relative and stalls past 2^24 terms: the per_tensor
/// rms step of a 4096x4096 tensor came out 1.4% low. In f64 the sum is
/// nearly exact and is rounded once to f32 when it is used (numpy's
/// pairwise f32 sum is within log2(N) ulps of it).
static Value accumulate(OpBuilder &b, Location loc, Value acc, Value term) {
  Value wide = castFloat(b, loc, term, b.getF64Type());
  return arith::AddFOp::create(b, loc, acc, wide);
}

/// sum(x^2) per group, in f64 (see accumulate).
static Value buildSumOfSquares(OpBuilder &b, Location loc,
                               const GroupView &view, Value x) {
  return buildGroupReduction(
      b, loc, view, x, {}, b.getF64FloatAttr(0.0),
      [](OpBuilder &nb, Location nl, ValueRange args, Value acc) {
        Value v = toF32(nb, nl, args[0]);
        Value square = arith::MulFOp::create(nb, nl, v, v);
        return accumulate(nb, nl, acc, square);
      });
}

/// An elementwise map over a [rows, groups] tensor of per-group values.
static Value
buildPerGroupMap(OpBuilder &b, Location loc, const GroupView &view, Value input,
                 Type elementType,
                 function_ref<Value(OpBuilder &, Location, Value)> fn) {
  AffineMap identity = AffineMap::getMultiDimIdentityMap(2, b.getContext());
  Value init = emptyTensor(b, loc, view.scaleShape(), elementType, input);
  return buildGeneric(b, loc, input, init, {identity, identity},
                      parallelIterators(2),
                      [&](OpBuilder &nb, Location nl, ValueRange args) {
                        return fn(nb, nl, args[0]);
                      });
}

/// sqrt(mean(x^2)) of a group from its (f64) sum of squares, as the
/// reference computes it in f32: the sum rounded to f32, divided by the
/// group's size, then the root (the dialect's definition).
static Value rootMeanSquare(OpBuilder &b, Location loc, Value sumOfSquares,
                            const GroupLength &count) {
  QuantMath math(b, loc);
  return QuantizerAttr::buildRootMeanSquare(math, toF32(b, loc, sumOfSquares),
                                            count);
}

/// The number of elements of x as an index, from its sizes at run time.
static Value buildElementCount(OpBuilder &b, Location loc, Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  Value elements = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t dim = 0; dim < type.getRank(); ++dim)
    elements = arith::MulIOp::create(b, loc, elements,
                                     tensor::DimOp::create(b, loc, x, dim));
  return elements;
}

/// max(N, 1) of x's N elements, converted to `type` (f32 or f64): an empty
/// tensor (no rows) counts as one element, so that its statistics are those
/// of an all-zero group (a sum of 0 over 1) instead of 0/0.
static Value buildNonZeroCount(OpBuilder &b, Location loc, Value x,
                               FloatType type) {
  Value elements =
      arith::MaxUIOp::create(b, loc, buildElementCount(b, loc, x),
                             arith::ConstantIndexOp::create(b, loc, 1));
  return arith::UIToFPOp::create(
      b, loc, type,
      arith::IndexCastUIOp::create(b, loc, b.getI64Type(), elements));
}

/// The length of the view's groups as the dialect's math takes it (at least
/// 1, see buildNonZeroCount): the constant, or for a per_tensor group over a
/// dynamic number of rows the f32 count computed once, outside the bodies, from
/// x's sizes (rounded to nearest as the constant of a static shape is).
static GroupLength buildGroupLength(OpBuilder &b, Location loc,
                                    const GroupView &view, Value x) {
  if (!ShapedType::isDynamic(view.length))
    return std::max<int64_t>(view.length, 1);
  return GroupLength(buildNonZeroCount(b, loc, x, b.getF32Type()));
}

//===----------------------------------------------------------------------===//
// Packed codes
//===----------------------------------------------------------------------===//

namespace {
/// x viewed as [rows, D/2, 2]: the two elements that share a byte of packed
/// codes. The step of element e of pair j is taken from the scale's
/// [rows, groups] view at column (2j + e) floordiv G, so that a pair may
/// straddle two groups of odd size.
struct PairView {
  PairView(QuantizerAttr quantizer, ArrayRef<int64_t> shape)
      : quantizer(quantizer), groups(GroupView::get(quantizer, shape)) {
    rows = getLeadingProduct(shape);
    pairs = shape.back() / 2;
  }

  SmallVector<int64_t> shape() const { return {rows, pairs, 2}; }
  SmallVector<int64_t> packedShape() const { return {rows, pairs}; }

  /// The scale index of the element (row, 2 * pair + element).
  AffineMap scaleMap(unsigned numDims, AffineExpr row, AffineExpr pair,
                     AffineExpr element) const {
    MLIRContext *ctx = row.getContext();
    AffineExpr zero = getAffineConstantExpr(0, ctx);
    AffineExpr scaleRow = zero, scaleColumn = zero;
    if (quantizer.getGranularity() != Granularity::PerTensor)
      scaleRow = row;
    if (quantizer.getGranularity() == Granularity::PerGroup)
      scaleColumn = (pair * 2 + element).floorDiv(quantizer.getGroupSize());
    return AffineMap::get(numDims, 0, {scaleRow, scaleColumn}, ctx);
  }

  QuantizerAttr quantizer;
  GroupView groups;
  int64_t rows, pairs;
};
} // namespace

/// The signed 4-bit value in the low (`high` false) or high nibble of an i8.
static Value unpackNibble(OpBuilder &b, Location loc, Value byte, Value high) {
  Type i8 = b.getI8Type();
  Value four = constantInt(b, loc, i8, 4);
  // Move the low nibble up, then an arithmetic shift sign-extends either.
  Value lowUp = arith::ShLIOp::create(b, loc, byte, four);
  Value nibbleUp = arith::SelectOp::create(b, loc, high, byte, lowUp);
  return arith::ShRSIOp::create(b, loc, nibbleUp, four);
}

/// Unpacks [..., D/2] bytes into a tensor of `shape` [..., D] and
/// `elementType`: one generic over [rows, D/2, 2] reads byte j for both
/// elements, and `fn(code, extra inputs)` turns each signed nibble (as i8)
/// into the element (an f32 level, an integer GEMM operand).
static Value
buildUnpack(OpBuilder &b, Location loc, Value packed, ArrayRef<int64_t> shape,
            Type elementType,
            function_ref<Value(OpBuilder &, Location, Value, ValueRange)> fn,
            ValueRange extraInputs = {}, ArrayRef<AffineMap> extraMaps = {}) {
  MLIRContext *ctx = b.getContext();
  int64_t rows = getLeadingProduct(shape);
  int64_t pairs = shape.back() / 2;
  SmallVector<int64_t> pairShape{rows, pairs, 2};
  AffineMap identity = AffineMap::getMultiDimIdentityMap(3, ctx);
  AffineMap toByte = AffineMap::get(
      3, 0, {getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx)}, ctx);
  SmallVector<Value> inputs{reshape(b, loc, packed, {rows, pairs})};
  SmallVector<AffineMap> maps{toByte};
  llvm::append_range(inputs, extraInputs);
  llvm::append_range(maps, extraMaps);
  maps.push_back(identity);
  Value init = emptyTensor(b, loc, pairShape, elementType, inputs.front());
  Value result =
      buildGeneric(b, loc, inputs, init, maps, parallelIterators(3),
                   [&](OpBuilder &nb, Location nl, ValueRange args) {
                     Value element = linalg::IndexOp::create(nb, nl, 2);
                     Value high = arith::CmpIOp::create(
                         nb, nl, arith::CmpIPredicate::ne, element,
                         arith::ConstantIndexOp::create(nb, nl, 0));
                     Value code = unpackNibble(nb, nl, args[0], high);
                     return fn(nb, nl, code, args.drop_front().drop_back());
                   });
  return reshape(b, loc, result, shape);
}

//===----------------------------------------------------------------------===//
// qat.hadamard
//===----------------------------------------------------------------------===//

namespace {
/// x · blockdiag(H_n) as a fast Walsh-Hadamard transform. Level h (h = 1, 2,
/// ..., n/2) maps each pair (i, i + h) with i & h == 0 to (a + b, a - b);
/// since blocks are aligned to n > h, the pairs of a level are the same for
/// every block size, and H_n is levels 1..n/2. Each linalg.generic does two
/// levels (radix 4). The first one extends to f32; the last one scales by
/// 1/sqrt(n) (the f32 nearest it, not the bf16 one of QuEST's code) and
/// truncates to the element type.
///
/// Why radix-4 stages rather than a product with the constant block
/// (linalg.matmul of [rows * D/n, n] by H_n) or other radices: medians of
/// 256x4096 f32 rows after qat-to-cpu, compiled objects on a 16-core Xeon,
/// in ms, with glibc's allocator kept from trimming (steady state) / by
/// default (every intermediate 4 MB buffer page-faults afresh):
///
///   block   radix-2      radix-4      radix-8      radix-16     matmul
///     16    1.7 /  6.3   1.6 /  3.9   0.9 /  3.2   2.9 /  2.9    1.3 /   1.2
///     32    2.2 /  8.2   1.5 /  5.2   1.7 /  5.2   3.4 /  5.5    3.3 /   3.1
///    128    2.8 / 12.7   2.0 /  7.0   3.0 /  6.5   3.2 /  5.6  124   / 128
///    256    3.4 / 15.2   2.1 /  9.5   3.0 /  9.0   3.7 /  7.8  329   / 310
///
/// A radix-2^k stage evaluates 2^k - 1 butterflies per element for k levels
/// (one output per iteration: the outputs of a butterfly share nothing) but
/// passes over memory once. In steady state radix 4 is the fastest from
/// blocks of 32 up (the usual sizes: QuEST uses 128) and within 0.7 ms
/// below; the product with the block (n multiply-adds per element) only
/// competes at n <= 16.
struct HadamardOpLowering : OpConversionPattern<HadamardOp> {
  using OpConversionPattern::OpConversionPattern;

  static constexpr int64_t kLevelsPerStage = 2;

  LogicalResult
  matchAndRewrite(HadamardOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto type = cast<RankedTensorType>(x.getType());
    int64_t block = op.getBlock();
    if (block == 1) {
      rewriter.replaceOp(op, x);
      return success();
    }
    int64_t levels = llvm::Log2_64(block);
    Value current = x;
    for (int64_t level = 0; level < levels; level += kLevelsPerStage) {
      int64_t count = std::min(kLevelsPerStage, levels - level);
      bool last = level + count == levels;
      current = buildStage(rewriter, loc, current, int64_t(1) << level, count,
                           last ? type.getElementType() : rewriter.getF32Type(),
                           last ? 1.0 / std::sqrt(double(block)) : 1.0);
    }
    rewriter.replaceOp(op, current);
    return success();
  }

  /// `count` butterfly levels h, 2h, ..., 2^(count-1) h at once, over the
  /// view [..., D / (2^count h), 2, ..., 2, h] of the row: the output at
  /// bits (b_{count-1}, ..., b_0) combines the 2^count inputs of its
  /// butterfly, level by level in the order of separate radix-2 stages, so
  /// the result is bit for bit the same.
  static Value buildStage(OpBuilder &b, Location loc, Value input, int64_t half,
                          int64_t count, Type resultElement,
                          double normalization) {
    MLIRContext *ctx = b.getContext();
    auto type = cast<RankedTensorType>(input.getType());
    int64_t rank = type.getRank();
    int64_t span = half << count;
    SmallVector<int64_t> viewShape(type.getShape().drop_back());
    viewShape.push_back(type.getShape().back() / span);
    viewShape.append(count, 2);
    viewShape.push_back(half);
    SmallVector<ReassociationIndices> reassociation;
    for (int64_t dim = 0; dim < rank - 1; ++dim)
      reassociation.push_back({dim});
    reassociation.emplace_back(
        llvm::to_vector<2>(llvm::seq<int64_t>(rank - 1, rank + count + 1)));
    Value view = tensor::ExpandShapeOp::create(b, loc, type.clone(viewShape),
                                               input, reassociation);
    // Dimension of bit b_j of the view.
    unsigned numDims = viewShape.size();
    auto bitDim = [&](int64_t j) { return rank + count - 1 - j; };
    SmallVector<AffineMap> maps;
    for (int64_t i = 0; i < (int64_t(1) << count); ++i) {
      SmallVector<AffineExpr> exprs;
      for (unsigned dim = 0; dim < numDims; ++dim)
        exprs.push_back(getAffineDimExpr(dim, ctx));
      for (int64_t j = 0; j < count; ++j)
        exprs[bitDim(j)] = getAffineConstantExpr((i >> j) & 1, ctx);
      maps.push_back(AffineMap::get(numDims, 0, exprs, ctx));
    }
    maps.push_back(AffineMap::getMultiDimIdentityMap(numDims, ctx));
    Value init = tensor::EmptyOp::create(
        b, loc, tensor::getMixedSizes(b, loc, view), resultElement);
    SmallVector<Value> inputs(int64_t(1) << count, view);
    Value stage = buildGeneric(
        b, loc, inputs, init, maps, parallelIterators(numDims),
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          SmallVector<Value> values;
          for (Value arg : args.drop_back())
            values.push_back(toF32(nb, nl, arg));
          Value zero = arith::ConstantIndexOp::create(nb, nl, 0);
          for (int64_t j = 0; j < count; ++j) {
            Value second = arith::CmpIOp::create(
                nb, nl, arith::CmpIPredicate::ne,
                linalg::IndexOp::create(nb, nl, bitDim(j)), zero);
            SmallVector<Value> next;
            for (size_t i = 0; i < values.size(); i += 2) {
              Value sum =
                  arith::AddFOp::create(nb, nl, values[i], values[i + 1]);
              Value difference =
                  arith::SubFOp::create(nb, nl, values[i], values[i + 1]);
              next.push_back(
                  arith::SelectOp::create(nb, nl, second, difference, sum));
            }
            values = std::move(next);
          }
          Value y = values.front();
          if (normalization != 1.0)
            y = arith::MulFOp::create(nb, nl, y,
                                      constantF32(nb, nl, normalization));
          return castFloat(nb, nl, y, resultElement);
        });
    return tensor::CollapseShapeOp::create(b, loc, stage, reassociation);
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// qat.scale
//===----------------------------------------------------------------------===//

namespace {
/// Per group, a reduction (sum of squares or max |x|) over the innermost
/// dimension of the group view, then the step from the clip.
struct ScaleOpLowering : OpConversionPattern<ScaleOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ScaleOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    QuantizerAttr q = op.getQuantizer();
    RankedTensorType resultType = op.getType();
    GroupView view = GroupView::get(q, op.getInput().getType().getShape());
    Value x = adaptor.getInput();

    Value reduced;
    switch (q.getStepStatistic()) {
    case GroupStatistic::SumOfSquares:
      reduced = buildSumOfSquares(rewriter, loc, view, x);
      break;
    case GroupStatistic::MaxAbs:
      // maximumf propagates NaN, as numpy's max does.
      reduced = buildGroupReduction(
          rewriter, loc, view, x, {}, rewriter.getF32FloatAttr(0.0),
          [](OpBuilder &b, Location nl, ValueRange args, Value acc) {
            Value magnitude =
                math::AbsFOp::create(b, nl, toF32(b, nl, args[0]));
            return arith::MaximumFOp::create(b, nl, acc, magnitude).getResult();
          });
      break;
    default:
      return rewriter.notifyMatchFailure(
          op, "the step of this scale method is an operand, not computed");
    }

    Type elementType = resultType.getElementType();
    GroupLength length = buildGroupLength(rewriter, loc, view, x);
    Value steps = buildPerGroupMap(rewriter, loc, view, reduced, elementType,
                                   [&](OpBuilder &b, Location nl, Value acc) {
                                     QuantMath math(b, nl);
                                     Value step = q.buildStep(
                                         math, toF32(b, nl, acc), length);
                                     return castFloat(b, nl, step, elementType);
                                   });
    rewriter.replaceOp(op,
                       reshape(rewriter, loc, steps, resultType.getShape()));
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// qat.rms
//===----------------------------------------------------------------------===//

namespace {
/// The per-group sum of squares and sqrt(mean) of an rms_gaussian step,
/// without the step: the ops the trust estimator of fake_quant_grad emits
/// when it is not given `std`, so that passing qat.rms of x leaves dx
/// bit for bit the same.
struct RmsOpLowering : OpConversionPattern<RmsOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(RmsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType resultType = op.getType();
    GroupView view =
        GroupView::get(op.getQuantizer(), op.getInput().getType().getShape());
    Value sumOfSquares =
        buildSumOfSquares(rewriter, loc, view, adaptor.getInput());
    GroupLength length =
        buildGroupLength(rewriter, loc, view, adaptor.getInput());
    Value rms = buildPerGroupMap(rewriter, loc, view, sumOfSquares,
                                 rewriter.getF32Type(),
                                 [&](OpBuilder &b, Location nl, Value acc) {
                                   return rootMeanSquare(b, nl, acc, length);
                                 });
    rewriter.replaceOp(op, reshape(rewriter, loc, rms, resultType.getShape()));
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// qat.quantize / qat.dequantize
//===----------------------------------------------------------------------===//

namespace {
struct QuantizeOpLowering : OpConversionPattern<QuantizeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(QuantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    QuantizerAttr q = op.getQuantizer();
    RankedTensorType resultType = op.getType();
    ArrayRef<int64_t> shape = op.getInput().getType().getShape();
    Type codeType = resultType.getElementType();

    Value seed = adaptor.getSeed();
    if (!op.getPacked()) {
      GroupView view = GroupView::get(q, shape);
      rewriter.replaceOp(
          op, buildGroupwise(rewriter, loc, view, adaptor.getInput(),
                             adaptor.getScale(), resultType,
                             [&](OpBuilder &b, Location nl, ValueRange args) {
                               QuantMath math(b, nl);
                               drawForElement(b, nl, math, seed, view.shape());
                               Value x = toF32(b, nl, args[0]);
                               Value step = toF32(b, nl, args[1]);
                               Value code = quantizeElement(math, q, x, step);
                               return codeToStorage(b, nl, code, codeType);
                             }));
      return success();
    }

    // One byte per pair: (c0 & 0xF) | (c1 << 4), element 2j in the low
    // nibble.
    MLIRContext *ctx = rewriter.getContext();
    PairView pairs(q, shape);
    AffineExpr row = getAffineDimExpr(0, ctx), pair = getAffineDimExpr(1, ctx);
    AffineExpr zero = getAffineConstantExpr(0, ctx);
    AffineExpr one = getAffineConstantExpr(1, ctx);
    Value x = reshape(rewriter, loc, adaptor.getInput(), pairs.shape());
    Value s =
        reshape(rewriter, loc, adaptor.getScale(), pairs.groups.scaleShape());
    // The two elements of a byte share their step unless a group boundary
    // falls between them (odd group sizes); only then is the step operand
    // read a second time, through the high element's map.
    AffineMap lowScale = pairs.scaleMap(2, row, pair, zero);
    AffineMap highScale = pairs.scaleMap(2, row, pair, one);
    SmallVector<Value> inputs{x, x, s};
    SmallVector<AffineMap> maps{AffineMap::get(2, 0, {row, pair, zero}, ctx),
                                AffineMap::get(2, 0, {row, pair, one}, ctx),
                                lowScale};
    if (highScale != lowScale) {
      inputs.push_back(s);
      maps.push_back(highScale);
    }
    maps.push_back(AffineMap::getMultiDimIdentityMap(2, ctx));
    Value init = emptyTensor(rewriter, loc, pairs.packedShape(), codeType, x);
    Value packed = buildGeneric(
        rewriter, loc, inputs, init, maps, parallelIterators(2),
        [&](OpBuilder &b, Location nl, ValueRange args) {
          QuantMath math(b, nl);
          Type i8 = b.getI8Type();
          Value lowStep = toF32(b, nl, args[2]);
          Value highStep = args.size() == 5 ? toF32(b, nl, args[3]) : lowStep;
          // The pair (row, j) holds elements 2j and 2j + 1 of the row.
          Value lowIndex;
          if (seed) {
            Value pair = buildLinearIndex(b, nl, pairs.packedShape());
            lowIndex = arith::AddIOp::create(b, nl, pair, pair);
            setRoundingDraw(math, seed, lowIndex);
          }
          Value low = codeToStorage(
              b, nl, quantizeElement(math, q, toF32(b, nl, args[0]), lowStep),
              i8);
          if (seed)
            setRoundingDraw(
                math, seed,
                arith::AddIOp::create(b, nl, lowIndex,
                                      constantInt(b, nl, b.getI64Type(), 1)));
          Value high = codeToStorage(
              b, nl, quantizeElement(math, q, toF32(b, nl, args[1]), highStep),
              i8);
          // (c0 & 0xF) | (c1 << 4): the shift drops c1's upper bits.
          Value lowNibble =
              arith::AndIOp::create(b, nl, low, constantInt(b, nl, i8, 0xF));
          Value highNibble =
              arith::ShLIOp::create(b, nl, high, constantInt(b, nl, i8, 4));
          return arith::OrIOp::create(b, nl, lowNibble, highNibble).getResult();
        });
    rewriter.replaceOp(op,
                       reshape(rewriter, loc, packed, resultType.getShape()));
    return success();
  }
};

struct DequantizeOpLowering : OpConversionPattern<DequantizeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(DequantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    QuantizerAttr q = op.getQuantizer();
    RankedTensorType resultType = op.getType();
    Type elementType = resultType.getElementType();

    if (!op.getPacked()) {
      GroupView view = GroupView::get(q, resultType.getShape());
      rewriter.replaceOp(
          op, buildGroupwise(
                  rewriter, loc, view, adaptor.getInput(), adaptor.getScale(),
                  resultType, [&](OpBuilder &b, Location nl, ValueRange args) {
                    QuantMath math(b, nl);
                    Value code = toI32(b, nl, args[0]);
                    Value step = toF32(b, nl, args[1]);
                    Value value = q.buildDequantize(math, code, step);
                    return castFloat(b, nl, value, elementType);
                  }));
      return success();
    }

    MLIRContext *ctx = rewriter.getContext();
    PairView pairs(q, resultType.getShape());
    Value s =
        reshape(rewriter, loc, adaptor.getScale(), pairs.groups.scaleShape());
    AffineMap scaleMap =
        pairs.scaleMap(3, getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx),
                       getAffineDimExpr(2, ctx));
    rewriter.replaceOp(
        op, buildUnpack(
                rewriter, loc, adaptor.getInput(), resultType.getShape(),
                elementType,
                [&](OpBuilder &b, Location nl, Value code, ValueRange extra) {
                  QuantMath math(b, nl);
                  Value wide = toI32(b, nl, code);
                  Value step = toF32(b, nl, extra[0]);
                  Value value = q.buildDequantize(math, wide, step);
                  return castFloat(b, nl, value, elementType);
                },
                s, scaleMap));
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// qat.fake_quant / qat.fake_quant_grad
//===----------------------------------------------------------------------===//

namespace {
/// dequantize(quantize(x)) in one elementwise op, without materializing the
/// codes.
struct FakeQuantOpLowering : OpConversionPattern<FakeQuantOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(FakeQuantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    QuantizerAttr q = op.getQuantizer();
    RankedTensorType resultType = op.getType();
    Type elementType = resultType.getElementType();
    GroupView view = GroupView::get(q, resultType.getShape());
    Value seed = adaptor.getSeed();
    rewriter.replaceOp(
        op, buildGroupwise(rewriter, op.getLoc(), view, adaptor.getInput(),
                           adaptor.getScale(), resultType,
                           [&](OpBuilder &b, Location nl, ValueRange args) {
                             QuantMath math(b, nl);
                             drawForElement(b, nl, math, seed, view.shape());
                             Value x = toF32(b, nl, args[0]);
                             Value s = toF32(b, nl, args[1]);
                             Value v = ratioFor(math, q, x, s);
                             return castFloat(b, nl,
                                              q.buildFakeQuant(math, x, v, s),
                                              elementType);
                           }));
    return success();
  }
};

/// dx under the estimator (one elementwise op over the dialect's
/// definition, after the per-group statistic the estimator asks for: the
/// `std` operand or a sum of squares), and for learned steps the LSQ
/// gradient ds (one per-group reduction).
struct FakeQuantGradOpLowering : OpConversionPattern<FakeQuantGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(FakeQuantGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    GroupView view =
        GroupView::get(op.getQuantizer(), op.getInput().getType().getShape());
    FailureOr<Value> dx = buildInputGrad(op, adaptor, rewriter, view);
    if (failed(dx))
      return failure();
    SmallVector<Value> results{*dx};
    if (op.getScaleGrad())
      results.push_back(buildScaleGrad(op, adaptor, rewriter, view));
    rewriter.replaceOp(op, results);
    return success();
  }

  static FailureOr<Value> buildInputGrad(FakeQuantGradOp op, OpAdaptor adaptor,
                                         ConversionPatternRewriter &rewriter,
                                         const GroupView &view) {
    Location loc = op.getLoc();
    QuantizerAttr q = op.getQuantizer();
    RankedTensorType xType = op.getInput().getType();
    Type elementType = xType.getElementType();
    GradientEstimatorAttrInterface estimator = op.getEstimator();
    Value x = adaptor.getInput();

    SmallVector<Value> perGroup{adaptor.getScale()};
    switch (estimator.getGroupStatistic()) {
    case GroupStatistic::None:
      break;
    case GroupStatistic::RootMeanSquare:
      // The `std` operand (qat.rms of x in the forward: the same ops, so the
      // same dx) or sqrt(mean(x^2)) computed here.
      if (Value std = adaptor.getStd()) {
        perGroup.push_back(reshape(rewriter, loc, std, view.scaleShape()));
      } else {
        Value sumOfSquares = buildSumOfSquares(rewriter, loc, view, x);
        GroupLength length = buildGroupLength(rewriter, loc, view, x);
        perGroup.push_back(buildPerGroupMap(
            rewriter, loc, view, sumOfSquares, rewriter.getF32Type(),
            [&](OpBuilder &b, Location nl, Value acc) {
              return rootMeanSquare(b, nl, acc, length);
            }));
      }
      break;
    default:
      return rewriter.notifyMatchFailure(
          op, "the estimator asks for a per-group statistic that "
              "convert-qat-to-linalg does not compute");
    }
    return buildGroupwise(
        rewriter, loc, view, {adaptor.getGrad(), x}, perGroup, xType,
        [&](OpBuilder &b, Location nl, ValueRange args) {
          QuantMath math(b, nl);
          QuantElement element =
              buildElement(b, nl, math, args, adaptor.getSeed(), view);
          if (args.size() > 4)
            element.deviation = toF32(b, nl, args[3]);
          Value dx = estimator.buildInputGrad(math, q, element);
          return castFloat(b, nl, dx, elementType);
        });
  }

  /// The element of a fake_quant_grad body over the group view from its
  /// block arguments (dy, x, s, ...): the values in f32 and v = x / s; with
  /// a seed, the forward's stochastic draw of the element.
  static QuantElement buildElement(OpBuilder &b, Location loc, QuantMath &math,
                                   ValueRange args, Value seed,
                                   const GroupView &view) {
    drawForElement(b, loc, math, seed, view.shape());
    QuantElement element;
    element.dy = toF32(b, loc, args[0]);
    element.x = toF32(b, loc, args[1]);
    element.s = toF32(b, loc, args[2]);
    element.v = math.divide(element.x, element.s);
    return element;
  }

  /// LSQ's g = 1 / sqrt(N * Qp) for an x of dynamic shape: computed in f64
  /// from the run-time N (at least 1: no rows give ds = 0, not 0 * inf) and
  /// rounded once to f32, as the constant of a static shape is.
  static Value buildStepGradFactor(OpBuilder &b, Location loc, QuantizerAttr q,
                                   Value x) {
    Value count = buildNonZeroCount(b, loc, x, b.getF64Type());
    Value scaled = arith::MulFOp::create(
        b, loc, count,
        arith::ConstantOp::create(b, loc,
                                  b.getF64FloatAttr(double(q.getMaxCode()))));
    Value root = math::SqrtOp::create(b, loc, scaled);
    Value factor = arith::DivFOp::create(
        b, loc, arith::ConstantOp::create(b, loc, b.getF64FloatAttr(1.0)),
        root);
    return arith::TruncFOp::create(b, loc, b.getF32Type(), factor);
  }

  /// ds = g * sum over the group of dy * (the dialect's LSQ term), summed in
  /// f64 (see accumulate).
  static Value buildScaleGrad(FakeQuantGradOp op, OpAdaptor adaptor,
                              ConversionPatternRewriter &rewriter,
                              const GroupView &view) {
    Location loc = op.getLoc();
    QuantizerAttr q = op.getQuantizer();
    RankedTensorType scaleType = op.getScale().getType();
    Value sums = buildGroupReduction(
        rewriter, loc, view, {adaptor.getGrad(), adaptor.getInput()},
        adaptor.getScale(), rewriter.getF64FloatAttr(0.0),
        [&](OpBuilder &b, Location nl, ValueRange args, Value acc) {
          QuantMath math(b, nl);
          QuantElement element =
              buildElement(b, nl, math, args, adaptor.getSeed(), view);
          element.withStepGrad = true;
          Value term = q.buildStepGradTerm(math, element);
          return accumulate(b, nl, acc,
                            arith::MulFOp::create(b, nl, element.dy, term));
        });
    // A static factor is a constant of the body; a dynamic one is computed
    // once, outside.
    auto xType = cast<RankedTensorType>(adaptor.getInput().getType());
    Value dynamicScale;
    if (!xType.hasStaticShape())
      dynamicScale = buildStepGradFactor(rewriter, loc, q, adaptor.getInput());
    Type elementType = scaleType.getElementType();
    Value ds = buildPerGroupMap(
        rewriter, loc, view, sums, elementType,
        [&](OpBuilder &b, Location nl, Value sum) {
          Value narrow = toF32(b, nl, sum);
          Value gradScale =
              dynamicScale ? dynamicScale
                           : constantF32(b, nl,
                                         q.getStepGradFactor(std::max<int64_t>(
                                             xType.getNumElements(), 1)));
          Value scaled = arith::MulFOp::create(b, nl, gradScale, narrow);
          return castFloat(b, nl, scaled, elementType);
        });
    return reshape(rewriter, loc, ds, scaleType.getShape());
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// qat.matmul
//===----------------------------------------------------------------------===//

/// The operand of the GEMM: on an integer grid the codes themselves
/// (linalg.matmul sign-extends them) or, for half-integer levels, 2*code+1
/// in i32, unpacked first when packed; on an fp8 grid the values they encode,
/// in f32.
static Value buildMatmulOperand(OpBuilder &b, Location loc, Value codes,
                                QuantizerAttr q, bool packed) {
  auto type = cast<RankedTensorType>(codes.getType());
  AffineMap identity = AffineMap::getMultiDimIdentityMap(2, b.getContext());
  auto elementwise = [&](Type elementType, auto body) {
    return buildGeneric(
        b, loc, codes, emptyTensor(b, loc, type.getShape(), elementType, codes),
        {identity, identity}, parallelIterators(2),
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          return body(nb, nl, args[0]);
        });
  };
  if (!q.getGrid().hasIntegerLevels())
    return elementwise(b.getF32Type(), [&](OpBuilder &nb, Location nl,
                                           Value code) {
      QuantMath math(nb, nl);
      return q.buildDequantize(math, toI32(nb, nl, code), math.constant(1.0));
    });
  bool centered = q.getGrid().hasHalfIntegerLevels();
  if (!centered && !packed)
    return codes;
  Type i32 = b.getI32Type();
  auto toOperand = [&](OpBuilder &nb, Location nl, Value code) {
    Value wide = castInt(nb, nl, code, i32);
    if (!centered)
      return wide;
    Value twice =
        arith::ShLIOp::create(nb, nl, wide, constantInt(nb, nl, i32, 1));
    return arith::OrIOp::create(nb, nl, twice, constantInt(nb, nl, i32, 1))
        .getResult();
  };
  if (packed) {
    SmallVector<int64_t> shape(type.getShape());
    shape.back() *= 2;
    return buildUnpack(b, loc, codes, shape, i32,
                       [&](OpBuilder &nb, Location nl, Value code, ValueRange) {
                         return toOperand(nb, nl, code);
                       });
  }
  return elementwise(i32, toOperand);
}

/// Integer operands accumulated exactly in i32 (fp8 values in f32) by a
/// transposed-B linalg.matmul, then
/// y = acc * (1/2 per centered operand) * sa[m] * sb[n].
Value mlir::qat::buildMatmulAsLinalg(OpBuilder &b, Location loc, MatmulOp op,
                                     Value lhsCodes, Value rhsCodes,
                                     Value lhsScale, Value rhsScale) {
  MLIRContext *ctx = b.getContext();
  RankedTensorType resultType = op.getType();
  bool packed = op.getPacked();
  int64_t m = resultType.getDimSize(0), n = resultType.getDimSize(1);

  Value lhs =
      buildMatmulOperand(b, loc, lhsCodes, op.getLhsQuantizer(), packed);
  Value rhs =
      buildMatmulOperand(b, loc, rhsCodes, op.getRhsQuantizer(), packed);
  bool integer = op.getLhsQuantizer().getGrid().hasIntegerLevels();
  Value zero = filledTensor(b, loc, {m, n},
                            integer ? TypedAttr(b.getI32IntegerAttr(0))
                                    : b.getF32FloatAttr(0.0f),
                            lhs);
  Value acc =
      linalg::MatmulTransposeBOp::create(b, loc, TypeRange{zero.getType()},
                                         ValueRange{lhs, rhs}, ValueRange{zero})
          .getResult(0);

  double factor = 1.0;
  if (op.getLhsQuantizer().getGrid().hasHalfIntegerLevels())
    factor *= 0.5;
  if (op.getRhsQuantizer().getGrid().hasHalfIntegerLevels())
    factor *= 0.5;
  AffineExpr zeroExpr = getAffineConstantExpr(0, ctx);
  auto scaleMap = [&](QuantizerAttr q, unsigned dim) {
    AffineExpr row = q.getGranularity() == Granularity::PerTensor
                         ? zeroExpr
                         : getAffineDimExpr(dim, ctx);
    return AffineMap::get(2, 0, {row, zeroExpr}, ctx);
  };
  AffineMap identity = AffineMap::getMultiDimIdentityMap(2, ctx);
  Type elementType = resultType.getElementType();
  return buildGeneric(
      b, loc, {acc, lhsScale, rhsScale},
      emptyTensor(b, loc, {m, n}, elementType, lhs),
      {identity, scaleMap(op.getLhsQuantizer(), 0),
       scaleMap(op.getRhsQuantizer(), 1), identity},
      parallelIterators(2), [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value y =
            integer ? arith::SIToFPOp::create(nb, nl, nb.getF32Type(), args[0])
                          .getResult()
                    : args[0];
        if (factor != 1.0)
          y = arith::MulFOp::create(nb, nl, y, constantF32(nb, nl, factor));
        y = arith::MulFOp::create(nb, nl, y, toF32(nb, nl, args[1]));
        y = arith::MulFOp::create(nb, nl, y, toF32(nb, nl, args[2]));
        return castFloat(nb, nl, y, elementType);
      });
}

namespace {
struct MatmulOpLowering : OpConversionPattern<MatmulOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, buildMatmulAsLinalg(rewriter, op.getLoc(), op, adaptor.getLhs(),
                                adaptor.getRhs(), adaptor.getLhsScale(),
                                adaptor.getRhsScale()));
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Dynamic rows
//===----------------------------------------------------------------------===//

namespace {
/// A row-local qat op over [A, B, ..., D] with several dynamic leading
/// dimensions becomes the same op over the [A*B*..., D] view, its results
/// expanded back with the sizes of its first operand: the lowerings then see
/// at most one dynamic dimension (the rows), which expand_shape infers.
struct FlattenDynamicRows : ConversionPattern {
  explicit FlattenDynamicRows(MLIRContext *context)
      : ConversionPattern(MatchAnyOpTypeTag(), /*benefit=*/2, context) {}

  LogicalResult
  matchAndRewrite(Operation *op, ArrayRef<Value> operands,
                  ConversionPatternRewriter &rewriter) const override {
    if (!isa<HadamardOp, ScaleOp, RmsOp, QuantizeOp, DequantizeOp, FakeQuantOp,
             FakeQuantGradOp>(op))
      return failure();
    // Operand 0 is a row tensor of every such op (values, or codes).
    auto rowType = cast<RankedTensorType>(op->getOperand(0).getType());
    int64_t rank = rowType.getRank();
    if (rank < 3 || rowType.getNumDynamicDims() < 2)
      return failure();
    Location loc = op->getLoc();
    ReassociationIndices leading =
        llvm::to_vector<2>(llvm::seq<int64_t>(0, rank - 1));
    SmallVector<ReassociationIndices> reassociation{leading, {rank - 1}};
    auto flatType = [&](Type type) {
      auto tensor = cast<RankedTensorType>(type);
      return RankedTensorType::get(
          {getLeadingProduct(tensor.getShape()), tensor.getShape().back()},
          tensor.getElementType());
    };
    SmallVector<Value> flatOperands;
    for (Value operand : operands)
      flatOperands.push_back(tensor::CollapseShapeOp::create(
          rewriter, loc, flatType(operand.getType()), operand, reassociation));
    Operation *flat = rewriter.clone(*op);
    rewriter.modifyOpInPlace(flat, [&] {
      flat->setOperands(flatOperands);
      for (OpResult result : flat->getResults())
        result.setType(flatType(result.getType()));
    });
    SmallVector<Value> results;
    for (auto [old, flatResult] :
         llvm::zip(op->getResults(), flat->getResults())) {
      auto type = cast<RankedTensorType>(old.getType());
      SmallVector<OpFoldResult> sizes;
      for (int64_t dim = 0; dim < rank; ++dim) {
        if (type.isDynamicDim(dim))
          sizes.push_back(tensor::DimOp::create(rewriter, loc, operands[0], dim)
                              .getResult());
        else
          sizes.push_back(rewriter.getIndexAttr(type.getDimSize(dim)));
      }
      results.push_back(tensor::ExpandShapeOp::create(
          rewriter, loc, type, flatResult, reassociation, sizes));
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

void mlir::qat::populateQATToLinalgConversionPatterns(
    RewritePatternSet &patterns) {
  patterns
      .add<DequantizeOpLowering, FakeQuantGradOpLowering, FakeQuantOpLowering,
           FlattenDynamicRows, HadamardOpLowering, MatmulOpLowering,
           QuantizeOpLowering, RmsOpLowering, ScaleOpLowering>(
          patterns.getContext());
}

namespace {
struct ConvertQATToLinalgPass
    : qat::impl::ConvertQATToLinalgBase<ConvertQATToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    expandTwoLevelScales(getOperation());
    expandRandomSignHadamards(getOperation());
    ConversionTarget target(*ctx);
    target.addIllegalDialect<QATDialect>();
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, tensor::TensorDialect>();
    RewritePatternSet patterns(ctx);
    populateQATToLinalgConversionPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
