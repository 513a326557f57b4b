//===- LinalgToNVGPU.cpp - Float contractions to tensor cores ---*- C++ -*-===//
//
// The convert-linalg-contractions-to-nvgpu pass: a float contraction on
// tensors becomes buffers, a launch of a tensor-core kernel and the result as
// a tensor again.
//
//===----------------------------------------------------------------------===//

#include "qat/Conversion/LinalgToNVGPU/LinalgToNVGPU.h"
#include "qat/Conversion/QATMatmulToNVGPU/QATMatmulToNVGPU.h"
#include "qat/Conversion/TensorCoreKernels/PersistentLaunch.h"
#include "qat/Transforms/OptionCheckedPass.h"

#include "ContractionKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"

#include <limits>

namespace mlir::qat {
#define GEN_PASS_DEF_CONVERTLINALGCONTRACTIONSTONVGPU
#include "qat/Conversion/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;
using namespace mlir::qat;

namespace {

/// `value` is block argument `index` of `block`, possibly widened by
/// arith.extf.
bool isInputValue(Value value, Block *block, unsigned index) {
  if (auto ext = value.getDefiningOp<arith::ExtFOp>())
    value = ext.getIn();
  return value == block->getArgument(index);
}

/// The body is `yield c + a * b` (either order of both operations), in
/// floating point, with a and b possibly widened to c's type.
bool isMultiplyAccumulate(linalg::LinalgOp op) {
  Block *block = op.getBlock();
  if (block->getNumArguments() != 3)
    return false;
  auto yield = dyn_cast<linalg::YieldOp>(block->getTerminator());
  if (!yield || yield.getNumOperands() != 1)
    return false;
  auto addOp = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!addOp)
    return false;
  Value acc = block->getArgument(2);
  Value product = addOp.getLhs() == acc   ? addOp.getRhs()
                  : addOp.getRhs() == acc ? addOp.getLhs()
                                          : Value();
  if (!product)
    return false;
  auto mulOp = product.getDefiningOp<arith::MulFOp>();
  if (!mulOp)
    return false;
  return (isInputValue(mulOp.getLhs(), block, 0) &&
          isInputValue(mulOp.getRhs(), block, 1)) ||
         (isInputValue(mulOp.getLhs(), block, 1) &&
          isInputValue(mulOp.getRhs(), block, 0));
}

bool isKernelFloat(Type type) {
  return isa<Float16Type, BFloat16Type, Float32Type>(type);
}

/// Where `map` puts the loop dimensions `batch`, `row` and `col`; fails if
/// it holds anything else.
FailureOr<ContractionOperand> getOperand(RankedTensorType type, AffineMap map,
                                         std::optional<unsigned> batch,
                                         unsigned row, unsigned col) {
  ContractionOperand operand;
  operand.shape = llvm::to_vector(type.getShape());
  operand.elementType = type.getElementType();
  if (map.getNumResults() != (batch ? 3u : 2u))
    return failure();
  for (auto [position, result] : llvm::enumerate(map.getResults())) {
    unsigned dim = cast<AffineDimExpr>(result).getPosition();
    if (batch && dim == *batch)
      operand.batchDim = position;
    else if (dim == row)
      operand.rowDim = position;
    else if (dim == col)
      operand.colDim = position;
    else
      return failure();
  }
  if (batch && operand.batchDim < 0)
    return failure();
  return operand;
}

/// The kernel spec of `op`, or failure if the kernel does not handle it (the
/// op then keeps the plain parallel-loop kernel). The batch, M and K may be
/// dynamic; N, the result's columns, may not.
FailureOr<ContractionKernelSpec>
getSpec(linalg::LinalgOp op, ContractionPrecision precision, bool wgmma) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op->getNumResults() != 1 ||
      !isMultiplyAccumulate(op))
    return failure();
  for (AffineMap map : op.getIndexingMapsArray())
    if (!map.isProjectedPermutation(/*allowZeroInResults=*/false))
      return failure();
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || dims->m.size() != 1 || dims->n.size() != 1 ||
      dims->k.size() != 1 || dims->batch.size() > 1 ||
      op.getNumLoops() != 3 + dims->batch.size())
    return failure();
  std::optional<unsigned> batch;
  if (!dims->batch.empty())
    batch = dims->batch.front();
  unsigned m = dims->m.front(), n = dims->n.front(), k = dims->k.front();

  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto tensorType = [&](unsigned operand) {
    return cast<RankedTensorType>(op->getOperand(operand).getType());
  };
  FailureOr<ContractionOperand> lhs =
      getOperand(tensorType(0), maps[0], batch, m, k);
  FailureOr<ContractionOperand> rhs =
      getOperand(tensorType(1), maps[1], batch, n, k);
  FailureOr<ContractionOperand> out =
      getOperand(tensorType(2), maps[2], batch, m, n);
  if (failed(lhs) || failed(rhs) || failed(out))
    return failure();
  if (!isKernelFloat(lhs->elementType) || !isKernelFloat(rhs->elementType) ||
      !isKernelFloat(out->elementType))
    return failure();

  ContractionKernelSpec spec;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  spec.batch = batch ? ranges[*batch] : 1;
  spec.m = ranges[m];
  spec.n = ranges[n];
  spec.k = ranges[k];
  if (spec.m == 0 || spec.n == 0 || spec.k == 0 || spec.batch == 0 ||
      ShapedType::isDynamic(spec.n))
    return failure();
  spec.lhs = *lhs;
  spec.rhs = *rhs;
  spec.out = *out;

  Builder builder(op.getContext());
  Type lhsType = lhs->elementType, rhsType = rhs->elementType;
  if (lhsType.isF16() && rhsType.isF16()) {
    spec.computeType = builder.getF16Type();
  } else if (!lhsType.isF32() && !rhsType.isF32()) {
    spec.computeType = builder.getBF16Type();
  } else {
    switch (precision) {
    case ContractionPrecision::TF32:
      spec.computeType = builder.getF32Type();
      break;
    case ContractionPrecision::BF16:
      spec.computeType = builder.getBF16Type();
      break;
    case ContractionPrecision::F32:
      return failure();
    }
  }

  // A fill of zero adds nothing: the kernel does not read the init then.
  Value init = op.getDpsInitOperand(0)->get();
  auto fill = init.getDefiningOp<linalg::FillOp>();
  spec.accumulate =
      !fill || !matchPattern(fill.getInputs().front(), m_AnyZeroFloat());

  spec.chooseTiles();
  // Grid limits: x up to 2^31 - 1, y (the batch) up to 65535; dynamic
  // sizes are checked by the driver at the launch.
  constexpr int64_t kMaxGridX = std::numeric_limits<int32_t>::max();
  if (spec.getGridX() > kMaxGridX || spec.batch > 65535)
    return failure();
  if (wgmma) {
    // TMA moves bytes: operands of another type are first rounded (or
    // widened) to the compute type by an elementwise kernel of their own
    // (convertContraction), which elementwise fusion may merge into their
    // producer. Six bytes an element against a kernel at the wgmma rate.
    ContractionKernelSpec converted = spec;
    converted.lhs.elementType = converted.rhs.elementType = spec.computeType;
    converted.strategy = ContractionStrategy::Wgmma;
    converted.chooseTiles();
    // The wgmma kernel counts the tiles of every batch on the grid's x.
    bool fitsGrid = ShapedType::isDynamic(converted.getGridX()) ||
                    ShapedType::isDynamic(converted.batch) ||
                    converted.getGridX() * converted.batch <= kMaxGridX;
    if (canUseWgmma(converted) && fitsGrid)
      spec = converted;
  }
  return spec;
}

/// `tensor` with elements of type `to`: an elementwise linalg.generic that
/// converts each element (convertFloat).
Value convertElements(OpBuilder &builder, Location loc, Value tensor, Type to) {
  auto type = cast<RankedTensorType>(tensor.getType());
  Type from = type.getElementType();
  if (from == to)
    return tensor;
  Value init = tensor::EmptyOp::create(
      builder, loc, tensor::getMixedSizes(builder, loc, tensor), to);
  AffineMap identity = builder.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> parallel(type.getRank(),
                                            utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      builder, loc, init.getType(), tensor, init,
      ArrayRef<AffineMap>{identity, identity}, parallel,
      [&](OpBuilder &b, Location nested, ValueRange args) {
        linalg::YieldOp::create(b, nested,
                                convertFloat(b, nested, args[0], to));
      });
  return generic.getResult(0);
}

/// The kernels of one module, created on demand: equal specs share a kernel.
class KernelCache {
public:
  explicit KernelCache(ModuleOp module) : module(module), symbolTable(module) {}

  /// The kernel for `spec`; a new one goes into its own `gpu.module`, placed
  /// before the top-level op that holds `user`.
  ContractionKernel getOrCreate(OpBuilder &builder, Operation *user,
                                const ContractionKernelSpec &spec) {
    for (Entry &entry : kernels)
      if (entry.spec == spec)
        return entry.kernel;
    Operation *topLevel = user;
    while (topLevel->getParentOp() != module)
      topLevel = topLevel->getParentOp();
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPoint(topLevel);
    auto gpuModule =
        gpu::GPUModuleOp::create(builder, user->getLoc(), spec.getName());
    // Renames the module if the name is taken.
    symbolTable.insert(gpuModule, Block::iterator(topLevel));
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    builder.getUnitAttr());
    ContractionKernel kernel =
        spec.strategy == ContractionStrategy::Wgmma
            ? buildContractionWgmmaKernel(builder, user->getLoc(), gpuModule,
                                          spec)
            : buildContractionMmaSyncKernel(builder, user->getLoc(), gpuModule,
                                            spec);
    Entry &entry = kernels.emplace_back();
    entry.spec = spec;
    entry.kernel = kernel;
    if (spec.epilogue) {
      // The epilogue's op goes away; later specs are compared with a copy
      // of its body.
      entry.body = std::make_unique<Region>();
      IRMapping mapping;
      spec.epilogue->body->cloneInto(entry.body.get(), mapping);
      entry.spec.epilogue->body = entry.body.get();
    }
    return kernel;
  }

private:
  struct Entry {
    ContractionKernelSpec spec;
    ContractionKernel kernel;
    std::unique_ptr<Region> body;
  };

  ModuleOp module;
  SymbolTable symbolTable;
  std::vector<Entry> kernels;
};

/// contraction (and its epilogue op) -> to_buffer (A, B, init when read, the
/// epilogue's buffers), memref.alloc (result), gpu.launch_func, to_tensor
/// (result).
void convertContraction(RewriterBase &rewriter, linalg::LinalgOp op,
                        ContractionKernelSpec spec, bool fuseEpilogues,
                        KernelCache &cache) {
  Value contractionResult = op->getResult(0);
  Operation *replaced = op;
  SmallVector<Value> epilogueTensors;
  if (fuseEpilogues) {
    FailureOr<linalg::GenericOp> epilogue =
        formEpilogue(rewriter, op, spec.out);
    if (succeeded(epilogue)) {
      spec.epilogue = describeEpilogue(*epilogue, contractionResult, spec.out);
      for (auto [operand, described] : llvm::zip_equal(
               (*epilogue)->getOpOperands(), spec.epilogue->operands))
        if (described.kind == EpilogueOperand::Kind::Buffer)
          epilogueTensors.push_back(operand.get());
      replaced = *epilogue;
    }
  }
  ContractionKernel kernel = cache.getOrCreate(rewriter, op, spec);

  // At the epilogue's op, where its other operands are defined too.
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(replaced);
  Location loc = op.getLoc();
  SmallVector<Value> buffers;
  // The operands in the types the kernel reads (see getSpec).
  SmallVector<Value> tensors = {
      convertElements(rewriter, loc, op.getDpsInputOperand(0)->get(),
                      spec.lhs.elementType),
      convertElements(rewriter, loc, op.getDpsInputOperand(1)->get(),
                      spec.rhs.elementType)};
  if (spec.accumulate)
    tensors.push_back(op.getDpsInitOperand(0)->get());
  tensors.append(epilogueTensors);
  for (Value tensor : tensors) {
    auto type = cast<RankedTensorType>(tensor.getType());
    buffers.push_back(bufferization::ToBufferOp::create(
        rewriter, loc, MemRefType::get(type.getShape(), type.getElementType()),
        tensor,
        /*read_only=*/true));
  }
  auto resultType = cast<RankedTensorType>(replaced->getResult(0).getType());
  SmallVector<Value> dynamicSizes;
  for (auto [dim, size] : llvm::enumerate(resultType.getShape()))
    if (ShapedType::isDynamic(size))
      dynamicSizes.push_back(buildContractionSize(
          rewriter, loc, spec,
          static_cast<int64_t>(dim) == spec.out.batchDim ? ContractionDim::Batch
                                                         : ContractionDim::M,
          buffers[0]));
  Value resultBuffer = memref::AllocOp::create(
      rewriter, loc,
      MemRefType::get(resultType.getShape(), resultType.getElementType()),
      dynamicSizes);
  buffers.push_back(resultBuffer);
  if (spec.strategy == ContractionStrategy::Wgmma)
    buffers.append(buildContractionTensorMaps(rewriter, loc, spec, buffers[0],
                                              buffers[1]));

  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, value);
  };
  Value one = index(1);
  auto [gridX, gridY] =
      buildContractionGrid(rewriter, loc, spec, kernel, buffers[0]);
  if (spec.claimTiles)
    buffers.push_back(buildTileCounter(rewriter, loc));
  Value sharedBytes;
  if (kernel.dynamicSharedBytes)
    sharedBytes = arith::ConstantIntOp::create(
        rewriter, loc, rewriter.getI32Type(), kernel.dynamicSharedBytes);
  gpu::LaunchFuncOp::create(
      rewriter, loc, kernel.func, gpu::KernelDim3{gridX, gridY, one},
      gpu::KernelDim3{index(kernel.blockSize), one, one}, sharedBytes, buffers);
  // The kernel writes every element of the fresh buffer and nothing else
  // aliases it.
  rewriter.replaceOpWithNewOp<bufferization::ToTensorOp>(
      replaced, resultType, resultBuffer, /*restrict=*/true,
      /*writable=*/true);
  if (replaced != op)
    rewriter.eraseOp(op);
}

struct ConvertLinalgContractionsToNVGPUPass
    : qat::OptionCheckedPass<ConvertLinalgContractionsToNVGPUPass,
                             qat::impl::ConvertLinalgContractionsToNVGPUBase<
                                 ConvertLinalgContractionsToNVGPUPass>> {
  using OptionCheckedPass::OptionCheckedPass;

  /// The options on their own; empty when they are valid.
  std::string checkOptions() const { return checkChipOption(chip); }

  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    // The launches this pass creates must pass buffer deallocation.
    registerGPULaunchFuncMemoryEffects(registry);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!hasValidOptions())
      return signalPassFailure();
    // Before sm_80 the contractions stay linalg ops, which the pipeline's
    // generic route makes plain kernels (the NVPTX backend cannot select
    // these mma.sync shapes there).
    if (!hasTensorCoreMma(chip))
      return;
    // The contractions first: an epilogue's rewrite erases ops after its
    // contraction (never a contraction: epilogue ops are all-parallel).
    // Ops already inside kernels (none today) stay.
    SmallVector<std::pair<linalg::LinalgOp, ContractionKernelSpec>, 0> found;
    module.walk([&](linalg::LinalgOp op) {
      if (op->getParentOfType<gpu::LaunchOp>() ||
          op->getParentOfType<gpu::GPUModuleOp>())
        return;
      FailureOr<ContractionKernelSpec> spec =
          getSpec(op, precision, hasWarpgroupMma(chip));
      if (succeeded(spec))
        found.emplace_back(op, *spec);
    });
    KernelCache cache(module);
    IRRewriter rewriter(&getContext());
    for (auto &[op, spec] : found)
      convertContraction(rewriter, op, spec, fuseEpilogues, cache);
  }
};

} // namespace
