//===- Quantize.cpp - qat-quantize: recipes around contractions -*- C++ -*-===//
//
// Rewrites the contractions of a float model so that their operands pass
// through the quantizers of a QAT recipe (QuEST, StableQAT, int-N).
//
//===----------------------------------------------------------------------===//

#include "qat/Dialect/QAT/IR/QATAttrs.h"
#include "qat/Dialect/QAT/IR/QATDialect.h"
#include "qat/Dialect/QAT/IR/QATOps.h"
#include "qat/Dialect/QAT/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

#include <array>
#include <cmath>

namespace mlir::qat {
#define GEN_PASS_DEF_QATQUANTIZE
#include "qat/Dialect/QAT/Transforms/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;
using namespace mlir::qat;

namespace {

/// A contraction `out[b, m, n] += sum_k lhs[b, m, k] * rhs[b, n, k]` up to a
/// permutation of each operand's dimensions (the batch dimension optional).
/// The permutations take each operand to that normal form, where K is the
/// last dimension: the one quantization groups and Hadamard blocks run
/// along, and the layout qat.matmul wants for both operands.
struct Contraction {
  linalg::LinalgOp op;
  bool batched = false;
  /// M dimensions: more than one when the activation keeps several leading
  /// dimensions (tokens of a batch of sequences, B x S x K).
  unsigned numM = 1;
  /// `normal = transpose(operand, perm)`; empty when already normal.
  SmallVector<int64_t> lhsPerm, rhsPerm;
  /// `out = transpose(normal result [b, m, n], perm)`; empty when normal.
  SmallVector<int64_t> outPerm;
  int64_t k = 0;
};

/// Where each of `dims` sits in the results of `map`, or failure when the map
/// is not a permutation of exactly those dimensions.
static FailureOr<SmallVector<int64_t>> permutationTo(AffineMap map,
                                                     ArrayRef<unsigned> dims) {
  if (!map.isProjectedPermutation() || map.getNumResults() != dims.size())
    return failure();
  SmallVector<int64_t> perm;
  for (unsigned dim : dims) {
    std::optional<unsigned> pos =
        map.getResultPosition(getAffineDimExpr(dim, map.getContext()));
    if (!pos)
      return failure();
    perm.push_back(*pos);
  }
  if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
    perm.clear();
  return perm;
}

/// Whether `op` has the shape of a contraction at all: two tensor inputs, one
/// init and a multiply-add body with a reduction. Ops that fail it (a bias
/// add or a layer-norm scale on a parameter) are not the default recipe's
/// business; ops that pass it but are not supported get a diagnostic.
static bool isContractionLike(linalg::LinalgOp op) {
  return op.hasPureTensorSemantics() && op.getNumDpsInputs() == 2 &&
         op.getNumDpsInits() == 1 && linalg::isaContractionOpInterface(op);
}

/// Recognizes the supported contractions; on failure `why` says what is not
/// supported.
static FailureOr<Contraction> matchContraction(linalg::LinalgOp op,
                                               std::string &why) {
  llvm::raw_string_ostream os(why);
  if (!isContractionLike(op)) {
    os << "is not a contraction (two inputs, one init, a multiply-add body)";
    return failure();
  }
  for (Value v : op->getOperands()) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || !type.hasStaticShape() ||
        !isa<FloatType>(type.getElementType())) {
      os << "has an operand of type " << v.getType()
         << "; statically shaped float tensors are supported";
      return failure();
    }
  }
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || dims->m.empty() || dims->n.size() != 1 ||
      dims->k.size() != 1 || dims->batch.size() > 1 ||
      (!dims->batch.empty() && dims->m.size() > 1)) {
    os << "is not a (batched) matrix product: expected one N, one K, and one "
          "M and at most one batch dimension or several M dimensions and no "
          "batch dimension";
    if (succeeded(dims))
      os << ", got " << dims->m.size() << " M, " << dims->n.size() << " N, "
         << dims->k.size() << " K and " << dims->batch.size() << " batch";
    return failure();
  }
  Contraction c;
  c.op = op;
  c.batched = !dims->batch.empty();
  SmallVector<unsigned> lhsDims, rhsDims, outDims;
  if (c.batched) {
    lhsDims.push_back(dims->batch[0]);
    rhsDims.push_back(dims->batch[0]);
    outDims.push_back(dims->batch[0]);
  }
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  // Several M dimensions are taken in the output's order, so that they
  // collapse into one row dimension there and in A alike.
  SmallVector<unsigned> mDims(dims->m.begin(), dims->m.end());
  auto outPosition = [&](unsigned dim) {
    return maps[2]
        .getResultPosition(getAffineDimExpr(dim, op->getContext()))
        .value_or(0);
  };
  llvm::sort(mDims, [&](unsigned a, unsigned b) {
    return outPosition(a) < outPosition(b);
  });
  c.numM = mDims.size();
  lhsDims.append(mDims.begin(), mDims.end());
  lhsDims.push_back(dims->k[0]);
  rhsDims.append({dims->n[0], dims->k[0]});
  outDims.append(mDims.begin(), mDims.end());
  outDims.push_back(dims->n[0]);
  FailureOr<SmallVector<int64_t>> lhsPerm = permutationTo(maps[0], lhsDims);
  FailureOr<SmallVector<int64_t>> rhsPerm = permutationTo(maps[1], rhsDims);
  // The output's permutation is the inverse question: where each output
  // dimension sits in the normal order [b, m, n].
  FailureOr<SmallVector<int64_t>> outPerm = failure();
  if (maps[2].isProjectedPermutation() &&
      maps[2].getNumResults() == outDims.size()) {
    SmallVector<int64_t> perm;
    for (AffineExpr e : maps[2].getResults())
      perm.push_back(llvm::find(outDims, cast<AffineDimExpr>(e).getPosition()) -
                     outDims.begin());
    if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
      perm.clear();
    outPerm = perm;
  }
  if (failed(lhsPerm) || failed(rhsPerm) || failed(outPerm)) {
    os << "has indexing maps that are not permutations of its dimensions";
    return failure();
  }
  c.lhsPerm = *lhsPerm;
  c.rhsPerm = *rhsPerm;
  c.outPerm = *outPerm;
  c.k = op.getStaticLoopRanges()[dims->k[0]];
  return c;
}

/// The function argument `v` is a view of (through slices, reshapes, casts
/// and transposes), if any.
static BlockArgument traceToArgument(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (isa<tensor::ExtractSliceOp, tensor::ExpandShapeOp,
            tensor::CollapseShapeOp, tensor::CastOp>(def))
      v = def->getOperand(0);
    else if (auto transpose = dyn_cast<linalg::TransposeOp>(def))
      v = transpose.getInput();
    else
      return {};
  }
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg || !isa<func::FuncOp>(arg.getOwner()->getParentOp()) ||
      !arg.getOwner()->isEntryBlock())
    return {};
  return arg;
}

static bool isParam(BlockArgument arg) {
  if (!arg)
    return false;
  auto func = cast<func::FuncOp>(arg.getOwner()->getParentOp());
  return func.getArgAttr(arg.getArgNumber(), QATDialect::kParamAttrName) !=
         nullptr;
}

static Value transpose(OpBuilder &b, Location loc, Value v,
                       ArrayRef<int64_t> perm) {
  if (perm.empty())
    return v;
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(type.getDimSize(p));
  Value init =
      tensor::EmptyOp::create(b, loc, shape, type.getElementType()).getResult();
  return linalg::TransposeOp::create(b, loc, v, init, perm)->getResult(0);
}

static SmallVector<int64_t> inverse(ArrayRef<int64_t> perm) {
  if (perm.empty())
    return {};
  return invertPermutationVector(perm);
}

static bool isZeroFill(Value init) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  return fill && matchPattern(fill.getInputs()[0], m_AnyZeroFloat());
}

static RankedTensorType withShape(Value v, ArrayRef<int64_t> shape) {
  return RankedTensorType::get(
      shape, cast<RankedTensorType>(v.getType()).getElementType());
}

static RankedTensorType scaleType(Value v, QuantizerAttr q) {
  return withShape(
      v, q.getScaleShape(cast<RankedTensorType>(v.getType()).getShape()));
}

/// The largest power of two that divides `k` and is at most `block`.
static int64_t hadamardBlock(int64_t k, int64_t block) {
  int64_t b = 1;
  while (b * 2 <= block && k % (b * 2) == 0)
    b *= 2;
  return b;
}

/// A learned step that qat-quantize added, and what its initial value is
/// computed from.
struct StepInfo {
  /// The contraction's weight operand (in its own layout).
  Value weight;
  /// The permutation to the normal layout, rows x K.
  SmallVector<int64_t> perm;
  BlockArgument step;
  QuantizerAttr quantizer;
};

struct QATQuantizePass : qat::impl::QATQuantizeBase<QATQuantizePass> {
  using Base::Base;

  void runOnOperation() override;

private:
  FailureOr<RecipeAttrInterface> buildDefaultRecipe();
  /// The grid a format option names (`int`: the signed integer grid).
  FailureOr<GridAttrInterface> parseFormat(StringRef option, StringRef name);
  LogicalResult quantizeFunction(func::FuncOp func, RecipeAttrInterface def);
  LogicalResult rewrite(func::FuncOp func, const Contraction &c,
                        RecipeAttrInterface recipe, unsigned weightIndex,
                        SmallVectorImpl<StepInfo> &steps);
  LogicalResult emitInitSteps(func::FuncOp func, ArrayRef<StepInfo> steps);
};

} // namespace

/// The options each default recipe reads besides `recipe`.
/// The width of a float element format's codes, or none for the integer
/// grids (whose width is the `bits` option).
static std::optional<unsigned> getFormatWidth(GridAttrInterface grid) {
  return llvm::TypeSwitch<Attribute, std::optional<unsigned>>(grid)
      .Case<E4M3GridAttr, E5M2GridAttr, E2M1GridAttr>(
          [](auto format) { return format.getFormat().width; })
      .Default(std::nullopt);
}

FailureOr<GridAttrInterface> QATQuantizePass::parseFormat(StringRef option,
                                                          StringRef name) {
  MLIRContext *ctx = &getContext();
  if (name == "int")
    return GridAttrInterface(SignedGridAttr::get(ctx));
  std::optional<Grid> grid = symbolizeGrid(name);
  if (!grid || *grid == Grid::Centered || *grid == Grid::Signed)
    return emitError(getOperation().getLoc())
               << "qat-quantize: " << option
               << " must be int, e4m3, e5m2 or e2m1, got '" << name << "'",
           failure();
  return getBuiltinGrid(ctx, *grid);
}

static StringRef getRecipeOptions(StringRef recipe) {
  return llvm::StringSwitch<StringRef>(recipe)
      .Case("quest", "bits, block")
      .Case("stableqat", "bits, amplitudes")
      .Case("ste", "bits, activation-bits, scale, granularity, group-size, "
                   "format, activation-format")
      .Case("clip", "bits, activation-bits, scale, granularity, group-size, "
                    "format, activation-format")
      .Default("");
}

FailureOr<RecipeAttrInterface> QATQuantizePass::buildDefaultRecipe() {
  MLIRContext *ctx = &getContext();
  Location loc = getOperation().getLoc();
  StringRef known = getRecipeOptions(recipe);
  if (recipe == "none" || !known.empty()) {
    // An option the recipe does not read is a mistake, not a no-op.
    SmallVector<StringRef> reads;
    known.split(reads, ", ");
    std::pair<bool, StringRef> given[] = {
        {bits.hasValue(), "bits"},
        {activationBits.hasValue(), "activation-bits"},
        {block.hasValue(), "block"},
        {scale.hasValue(), "scale"},
        {granularity.hasValue(), "granularity"},
        {groupSize.hasValue(), "group-size"},
        {format.hasValue(), "format"},
        {activationFormat.hasValue(), "activation-format"},
        {amplitudes.hasValue(), "amplitudes"}};
    for (auto [set, name] : given)
      if (set && !llvm::is_contained(reads, name))
        return emitError(loc)
                   << "qat-quantize: option '" << name
                   << "' does not apply to recipe=" << recipe << " (it reads "
                   << (known.empty() ? StringRef("no other option") : known)
                   << ")",
               failure();
  }
  // The attribute verifiers say what is wrong; this says where it came from.
  auto fail = [&]() {
    return emitError(loc) << "qat-quantize: recipe=" << recipe << " (options "
                          << known << "): ";
  };
  if (recipe == "none")
    return RecipeAttrInterface(KeepFloatRecipeAttr::get(ctx));
  if (recipe == "quest")
    return RecipeAttrInterface(QuestRecipeAttr::getChecked(
        fail, ctx, bits ? unsigned(bits) : 4u, int64_t(block)));
  if (recipe == "stableqat") {
    Attribute surrogate;
    if (!amplitudes.empty()) {
      SmallVector<double> amps(amplitudes.begin(), amplitudes.end());
      surrogate =
          FourierAttr::getChecked(fail, ctx, DenseF64ArrayAttr::get(ctx, amps));
      if (!surrogate)
        return failure();
    }
    return RecipeAttrInterface(StableQATRecipeAttr::getChecked(
        fail, ctx, bits ? unsigned(bits) : 2u, surrogate));
  }
  if (recipe == "ste" || recipe == "clip") {
    ScaleMethodAttrInterface method;
    if (scale == "absmax")
      method = AbsMaxAttr::get(ctx);
    else if (scale == "rms")
      method = RmsGaussianAttr::get(ctx);
    else if (scale == "mx")
      method = MxAttr::get(ctx);
    else if (scale == "nvfp4")
      method = NvFp4Attr::get(ctx);
    else
      return emitError(loc) << "qat-quantize: scale must be absmax, rms, mx or "
                               "nvfp4, got '"
                            << scale << "'",
             failure();
    std::optional<Granularity> gran = symbolizeGranularity(granularity);
    if (!gran)
      return emitError(loc)
                 << "qat-quantize: granularity must be per_tensor, per_row or "
                    "per_group, got '"
                 << granularity << "'",
             failure();
    int64_t group = *gran == Granularity::PerGroup ? int64_t(groupSize) : 0;
    FailureOr<GridAttrInterface> weightGrid = parseFormat("format", format);
    FailureOr<GridAttrInterface> activationGrid =
        activationFormat.empty()
            ? weightGrid
            : parseFormat("activation-format", activationFormat);
    if (failed(weightGrid) || failed(activationGrid))
      return failure();
    // Given bits, else the float format's width, else 4.
    auto quantizer = [&](GridAttrInterface grid, unsigned b) {
      if (!b)
        b = getFormatWidth(grid).value_or(4u);
      return QuantizerAttr::getChecked(fail, ctx, grid, b, method, *gran, group,
                                       Rounding::Nearest);
    };
    QuantizerAttr weights = quantizer(*weightGrid, bits);
    QuantizerAttr activations;
    bool quantizeActivations = activationBits || !activationFormat.empty();
    if (quantizeActivations)
      activations = quantizer(*activationGrid, activationBits);
    if (!weights || (quantizeActivations && !activations))
      return failure();
    Attribute estimator = recipe == "ste" ? Attribute(SteAttr::get(ctx))
                                          : Attribute(ClipAttr::get(ctx));
    return RecipeAttrInterface(IntRecipeAttr::getChecked(
        fail, ctx, estimator, Attribute(weights), Attribute(activations)));
  }
  return emitError(loc) << "qat-quantize: unknown recipe '" << recipe
                        << "'; expected quest, stableqat, ste, clip or none",
         failure();
}

void QATQuantizePass::runOnOperation() {
  FailureOr<RecipeAttrInterface> def = buildDefaultRecipe();
  if (failed(def) || !*def)
    return signalPassFailure();
  for (auto func : llvm::to_vector(getOperation().getOps<func::FuncOp>())) {
    if (func.isDeclaration())
      continue;
    if (failed(quantizeFunction(func, *def)))
      return signalPassFailure();
  }
}

LogicalResult QATQuantizePass::quantizeFunction(func::FuncOp func,
                                                RecipeAttrInterface def) {
  // The input is a float model: a function that already holds quantizers was
  // prepared before (or by hand), and quantizing it again would stack them.
  WalkResult hasQat = func.walk([&](Operation *op) {
    if (isa<QATDialect>(op->getDialect())) {
      op->emitError() << "qat-quantize expects a float model without qat "
                         "ops, found '"
                      << op->getName() << "' in @" << func.getName();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (hasQat.wasInterrupted())
    return failure();

  // Collect first: the rewrites replace ops and add function arguments.
  struct Work {
    Contraction c;
    RecipeAttrInterface recipe;
    unsigned weightIndex;
  };
  SmallVector<Work> work;
  WalkResult walk = func.walk([&](Operation *op) {
    auto explicitRecipe =
        op->getAttrOfType<RecipeAttrInterface>(QATDialect::kRecipeAttrName);
    auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
    bool lhsParam = false, rhsParam = false;
    if (linalgOp && linalgOp.getNumDpsInputs() == 2) {
      lhsParam = isParam(traceToArgument(linalgOp.getDpsInputs()[0]));
      rhsParam = isParam(traceToArgument(linalgOp.getDpsInputs()[1]));
    }
    RecipeAttrInterface recipe = explicitRecipe;
    // The default applies to contractions only: a parameter also feeds bias
    // adds and elementwise scales, which stay in float unless a recipe on
    // the op itself asks for more (and then gets the diagnostic below).
    if (!recipe && (lhsParam || rhsParam) && isContractionLike(linalgOp))
      recipe = def;
    if (!recipe)
      return WalkResult::advance();
    if (isa<KeepFloatRecipeAttr>(recipe)) {
      op->removeAttr(QATDialect::kRecipeAttrName);
      return WalkResult::advance();
    }
    std::string why;
    FailureOr<Contraction> c = failure();
    if (linalgOp)
      c = matchContraction(linalgOp, why);
    if (failed(c)) {
      if (!linalgOp)
        why = "is not a linalg contraction";
      op->emitError() << "qat-quantize cannot apply " << Attribute(recipe)
                      << ": '" << op->getName() << "' " << why
                      << " (mark it qat.recipe = #qat.keep_float to leave it "
                         "in float)";
      return WalkResult::interrupt();
    }
    // The weight: the operand that is a parameter, B when both or neither
    // are (a product with an explicit recipe and no parameter).
    unsigned weightIndex = (lhsParam && !rhsParam) ? 0 : 1;
    work.push_back({*c, recipe, weightIndex});
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();

  // Learned steps become new arguments; calls in this module would no longer
  // match the signature.
  if (llvm::any_of(
          work,
          [](const Work &w) { return isa<StableQATRecipeAttr>(w.recipe); }) &&
      !SymbolTable::symbolKnownUseEmpty(func, getOperation()))
    return func.emitError()
           << "qat-quantize would add learned-step arguments to @"
           << func.getName()
           << ", which is called in this module; quantize the function "
              "before it is called, or give its contractions another recipe";

  SmallVector<StepInfo> steps;
  for (Work &w : work)
    if (failed(rewrite(func, w.c, w.recipe, w.weightIndex, steps)))
      return failure();
  if (!steps.empty())
    return emitInitSteps(func, steps);
  return success();
}

LogicalResult QATQuantizePass::rewrite(func::FuncOp func, const Contraction &c,
                                       RecipeAttrInterface recipe,
                                       unsigned weightIndex,
                                       SmallVectorImpl<StepInfo> &steps) {
  linalg::LinalgOp op = c.op;
  Location loc = op.getLoc();
  IRRewriter rewriter(op->getContext());
  rewriter.setInsertionPoint(op);
  MLIRContext *ctx = op->getContext();
  Value operands[2] = {op.getDpsInputs()[0], op.getDpsInputs()[1]};
  ArrayRef<int64_t> perms[2] = {c.lhsPerm, c.rhsPerm};
  Value normal[2] = {transpose(rewriter, loc, operands[0], perms[0]),
                     transpose(rewriter, loc, operands[1], perms[1])};

  // Fake-quantized operands, back in their own layout, into a copy of the
  // contraction: what every recipe but two-dimensional QuEST emits.
  auto replaceOperands = [&](ArrayRef<std::pair<unsigned, Value>> quantized) {
    SmallVector<std::pair<unsigned, Value>> restored;
    for (auto [index, value] : quantized)
      restored.push_back(
          {index, transpose(rewriter, loc, value, inverse(perms[index]))});
    Operation *clone = rewriter.clone(*op);
    clone->removeAttr(QATDialect::kRecipeAttrName);
    for (auto [index, value] : restored)
      clone->setOperand(index, value);
    rewriter.replaceOp(op, clone->getResults());
  };

  // Both operands (rotated by Hadamard blocks of `block` unless 0) quantized
  // to codes that qat.matmul multiplies, in place of the contraction: QuEST,
  // and fp8 weights and activations.
  auto emitCodeProduct = [&](std::array<QuantizerAttr, 2> quantizers,
                             Attribute estimator, int64_t block, bool packed) {
    // Several M dimensions become one row dimension for qat.matmul.
    SmallVector<ReassociationIndices> rows = {
        llvm::to_vector(llvm::seq<int64_t>(0, c.numM)), {c.numM}};
    if (c.numM > 1)
      normal[0] =
          tensor::CollapseShapeOp::create(rewriter, loc, normal[0], rows);
    Value codes[2], scales[2];
    for (unsigned i : {0u, 1u}) {
      QuantizerAttr q = quantizers[i];
      Value h = normal[i];
      if (block)
        h = HadamardOp::create(rewriter, loc, h.getType(), h, /*seed=*/Value(),
                               rewriter.getI64IntegerAttr(block),
                               /*inverse=*/UnitAttr());
      scales[i] = ScaleOp::create(rewriter, loc, scaleType(h, q), h, q);
      auto shape =
          llvm::to_vector(cast<RankedTensorType>(h.getType()).getShape());
      if (packed)
        shape.back() /= 2;
      auto quantize = QuantizeOp::create(
          rewriter, loc, RankedTensorType::get(shape, rewriter.getI8Type()), h,
          scales[i], /*seed=*/Value(), q,
          packed ? rewriter.getUnitAttr() : UnitAttr());
      quantize->setAttr(QATDialect::kEstimatorAttrName, estimator);
      codes[i] = quantize;
    }
    auto outType = cast<RankedTensorType>(op.getDpsInits()[0].getType());
    SmallVector<int64_t> normalShape(outType.getShape());
    if (!c.outPerm.empty())
      normalShape = applyPermutation(outType.getShape(), inverse(c.outPerm));
    auto normalType =
        RankedTensorType::get(normalShape, outType.getElementType());
    SmallVector<int64_t> productShape = {
        cast<RankedTensorType>(normal[0].getType()).getDimSize(0),
        normalShape.back()};
    Value y = MatmulOp::create(
        rewriter, loc,
        RankedTensorType::get(productShape, outType.getElementType()), codes[0],
        codes[1], scales[0], scales[1], quantizers[0], quantizers[1],
        packed ? rewriter.getUnitAttr() : UnitAttr());
    if (c.numM > 1)
      y = tensor::ExpandShapeOp::create(rewriter, loc, normalType, y, rows);
    y = transpose(rewriter, loc, y, c.outPerm);
    // linalg contractions accumulate into their init; qat.matmul starts
    // from zero, so anything but a zero fill is added back.
    Value init = op.getDpsInits()[0];
    if (!isZeroFill(init)) {
      Value empty = tensor::EmptyOp::create(rewriter, loc, outType.getShape(),
                                            outType.getElementType());
      y = linalg::AddOp::create(rewriter, loc, ValueRange{init, y},
                                ValueRange{empty})
              ->getResult(0);
    }
    rewriter.replaceOp(op, y);
  };

  if (auto quest = dyn_cast<QuestRecipeAttr>(recipe)) {
    QuantizerAttr q = quest.getQuantizer();
    bool packed = q.getBits() <= 4;
    if (c.k % 2 != 0 && packed)
      return op->emitError()
             << "qat-quantize cannot apply " << Attribute(recipe)
             << ": the contraction dimension K = " << c.k
             << " is odd, and QuEST's " << q.getBits()
             << "-bit codes are packed two per byte along K";
    int64_t block = hadamardBlock(c.k, quest.getBlock());
    auto estimator = TrustAttr::get(ctx, FloatAttr());
    if (c.batched) {
      // qat.matmul is two-dimensional: a batched product multiplies the
      // fake-quantized values in float, which equals the product of the
      // codes up to the order of the fp32 additions.
      SmallVector<std::pair<unsigned, Value>> quantized;
      for (unsigned i : {0u, 1u}) {
        Value h = HadamardOp::create(
            rewriter, loc, normal[i].getType(), normal[i],
            /*seed=*/Value(), rewriter.getI64IntegerAttr(block),
            /*inverse=*/UnitAttr());
        Value s = ScaleOp::create(rewriter, loc, scaleType(h, q), h, q);
        Value fq = FakeQuantOp::create(rewriter, loc, h.getType(), h, s,
                                       /*seed=*/Value(), q, estimator);
        quantized.push_back({i, fq});
      }
      replaceOperands(quantized);
      return success();
    }
    emitCodeProduct({q, q}, estimator, block, packed);
    return success();
  }

  if (auto stable = dyn_cast<StableQATRecipeAttr>(recipe)) {
    QuantizerAttr q = stable.getQuantizer();
    Value w = normal[weightIndex];
    if (!traceToArgument(operands[weightIndex]))
      return op->emitError()
             << "qat-quantize cannot apply " << Attribute(recipe)
             << ": its weight operand #" << weightIndex
             << " is not (a view of) a function argument, so no initial step "
                "can be computed from it";
    unsigned index = func.getNumArguments();
    auto stepAttrs = rewriter.getDictionaryAttr(rewriter.getNamedAttr(
        QATDialect::kStepAttrName, rewriter.getUnitAttr()));
    if (failed(func.insertArgument(index, scaleType(w, q), stepAttrs, loc)))
      return op->emitError() << "qat-quantize could not add a step argument "
                                "to @"
                             << func.getName();
    BlockArgument step = func.getArgument(index);
    Value fq = FakeQuantOp::create(rewriter, loc, w.getType(), w, step,
                                   /*seed=*/Value(), q,
                                   stable.getSurrogateOrDefault());
    steps.push_back({operands[weightIndex],
                     SmallVector<int64_t>(perms[weightIndex]), step, q});
    replaceOperands({{weightIndex, fq}});
    return success();
  }

  auto intn = cast<IntRecipeAttr>(recipe);
  auto estimator = cast<GradientEstimatorAttrInterface>(intn.getEstimator());
  SmallVector<std::pair<unsigned, QuantizerAttr>> which = {
      {weightIndex, cast<QuantizerAttr>(intn.getWeights())}};
  if (auto act = dyn_cast_or_null<QuantizerAttr>(intn.getActivations()))
    which.push_back({1 - weightIndex, act});
  for (auto [i, q] : which) {
    if (q.getGranularity() == Granularity::PerGroup &&
        c.k % q.getGroupSize() != 0)
      return op->emitError()
             << "qat-quantize cannot apply " << Attribute(recipe)
             << ": group size " << q.getGroupSize()
             << " does not divide the contraction dimension K = " << c.k;
    if (failed(estimator.verifyForGrid([&] { return op->emitError(); },
                                       q.getGrid(), q.getBits())))
      return failure();
  }
  // fp8 weights and activations with a step per row or tensor multiply on
  // the fp8 tensor cores.
  auto isFp8 = [](QuantizerAttr q) {
    return isa<E4M3GridAttr, E5M2GridAttr>(q.getGrid()) &&
           q.getGranularity() != Granularity::PerGroup;
  };
  Type outElement = getElementTypeOrSelf(op.getDpsInits()[0].getType());
  if (which.size() == 2 && !c.batched && isFp8(which[0].second) &&
      isFp8(which[1].second) &&
      (outElement.isF32() || outElement.isBF16() || outElement.isF16())) {
    std::array<QuantizerAttr, 2> quantizers;
    for (auto [i, q] : which)
      quantizers[i] = q;
    emitCodeProduct(quantizers, estimator, /*block=*/0, /*packed=*/false);
    return success();
  }
  SmallVector<std::pair<unsigned, Value>> quantized;
  for (auto [i, q] : which) {
    Value s =
        ScaleOp::create(rewriter, loc, scaleType(normal[i], q), normal[i], q);
    Value fq =
        FakeQuantOp::create(rewriter, loc, normal[i].getType(), normal[i], s,
                            /*seed=*/Value(), q, estimator);
    quantized.push_back({i, fq});
  }
  replaceOperands(quantized);
  return success();
}

/// Clones into `b` what `v` is computed from, with the function's arguments
/// taken from `mapping`; fails on an argument that is not mapped.
static FailureOr<Value> cloneFrom(OpBuilder &b, IRMapping &mapping, Value v) {
  if (Value mapped = mapping.lookupOrNull(v))
    return mapped;
  Operation *def = v.getDefiningOp();
  if (!def || !isPure(def))
    return failure();
  for (Value operand : def->getOperands())
    if (failed(cloneFrom(b, mapping, operand)))
      return failure();
  Operation *clone = b.clone(*def, mapping);
  return clone->getResult(cast<OpResult>(v).getResultNumber());
}

/// `@<name>_init_steps(params...) -> steps...`: the LSQ initial step of each
/// learned per-row step, `2 * mean|w| / sqrt(qp)` over the row of K weights
/// (Esser et al., LSQ, section 2.1; StableQAT starts from LSQ's steps).
LogicalResult QATQuantizePass::emitInitSteps(func::FuncOp func,
                                             ArrayRef<StepInfo> steps) {
  OpBuilder b(func->getContext());
  b.setInsertionPointAfter(func);
  Location loc = func.getLoc();
  SmallVector<Type> paramTypes;
  SmallVector<unsigned> paramIndices;
  for (BlockArgument arg : func.getArguments())
    if (isParam(arg)) {
      paramTypes.push_back(arg.getType());
      paramIndices.push_back(arg.getArgNumber());
    }
  SmallVector<Type> stepTypes;
  for (const StepInfo &info : steps)
    stepTypes.push_back(info.step.getType());
  std::string name = (func.getName() + "_init_steps").str();
  if (SymbolTable::lookupNearestSymbolFrom(func, b.getStringAttr(name)))
    return func.emitError()
           << "qat-quantize would add @" << name << ", which exists already";
  auto init = func::FuncOp::create(b, loc, name,
                                   b.getFunctionType(paramTypes, stepTypes));
  Block *entry = init.addEntryBlock();
  b.setInsertionPointToStart(entry);
  IRMapping mapping;
  for (auto [i, index] : llvm::enumerate(paramIndices))
    mapping.map(func.getArgument(index), entry->getArgument(i));

  SmallVector<Value> results;
  for (const StepInfo &info : steps) {
    FailureOr<Value> w = cloneFrom(b, mapping, info.weight);
    if (failed(w))
      return func.emitError()
             << "qat-quantize: the initial step of argument #"
             << info.step.getArgNumber()
             << " needs a weight computed only from qat.param arguments";
    Value wn = transpose(b, loc, *w, info.perm);
    auto wnType = cast<RankedTensorType>(wn.getType());
    auto stepType = cast<RankedTensorType>(info.step.getType());
    Type elem = wnType.getElementType();
    int64_t rank = wnType.getRank();
    int64_t k = wnType.getShape().back();
    // sum_k |w| over each row, then times 2 / (K sqrt(qp)).
    SmallVector<int64_t> rowsShape(wnType.getShape().drop_back());
    auto rowsType = RankedTensorType::get(rowsShape, elem);
    Value zero = arith::ConstantOp::create(b, loc, b.getFloatAttr(elem, 0.0));
    Value acc =
        linalg::FillOp::create(
            b, loc, zero,
            tensor::EmptyOp::create(b, loc, rowsShape, elem).getResult())
            ->getResult(0);
    SmallVector<AffineMap> maps = {
        b.getMultiDimIdentityMap(rank),
        AffineMap::getMultiDimIdentityMap(rank, b.getContext())
            .getMajorSubMap(rank - 1)};
    SmallVector<utils::IteratorType> iterators(rank - 1,
                                               utils::IteratorType::parallel);
    iterators.push_back(utils::IteratorType::reduction);
    double qp = double(std::max<int64_t>(1, info.quantizer.getMaxCode()));
    double factor = 2.0 / (double(k) * std::sqrt(qp));
    Value sum = linalg::GenericOp::create(
                    b, loc, TypeRange{rowsType}, ValueRange{wn},
                    ValueRange{acc}, maps, iterators,
                    [&](OpBuilder &nb, Location nl, ValueRange args) {
                      Value abs = math::AbsFOp::create(nb, nl, args[0]);
                      Value add = arith::AddFOp::create(nb, nl, args[1], abs);
                      linalg::YieldOp::create(nb, nl, add);
                    })
                    ->getResult(0);
    SmallVector<AffineMap> idMaps(
        2, AffineMap::getMultiDimIdentityMap(rank - 1, b.getContext()));
    SmallVector<utils::IteratorType> parallel(rank - 1,
                                              utils::IteratorType::parallel);
    Value scaled =
        linalg::GenericOp::create(
            b, loc, TypeRange{rowsType}, ValueRange{sum},
            ValueRange{
                tensor::EmptyOp::create(b, loc, rowsShape, elem).getResult()},
            idMaps, parallel,
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              Value f = arith::ConstantOp::create(
                  nb, nl, nb.getFloatAttr(elem, factor));
              Value mul = arith::MulFOp::create(nb, nl, args[0], f);
              linalg::YieldOp::create(nb, nl, mul);
            })
            ->getResult(0);
    SmallVector<ReassociationIndices> reassociation;
    for (int64_t d = 0; d + 2 < rank; ++d)
      reassociation.push_back({d});
    reassociation.push_back({rank - 2, rank - 1});
    results.push_back(
        tensor::ExpandShapeOp::create(b, loc, stepType, scaled, reassociation));
  }
  func::ReturnOp::create(b, loc, results);
  return success();
}
