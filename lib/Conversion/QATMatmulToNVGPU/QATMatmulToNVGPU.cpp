//===- QATMatmulToNVGPU.cpp - qat.matmul to tensor-core kernels -*- C++ -*-===//
//
// The convert-qat-matmul-to-nvgpu pass: qat.matmul on tensors becomes buffers,
// a launch of a tensor-core kernel and the result as a tensor again.
//
//===----------------------------------------------------------------------===//

#include "qat/Conversion/QATMatmulToNVGPU/QATMatmulToNVGPU.h"
#include "qat/Transforms/OptionCheckedPass.h"

#include "MatmulKernel.h"

#include "qat/Conversion/GPUShapeChecks/GPUShapeChecks.h"
#include "qat/Conversion/QATToLinalg/QATToLinalg.h"
#include "qat/Conversion/TensorCoreKernels/PersistentLaunch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::qat {
#define GEN_PASS_DEF_CONVERTQATMATMULTONVGPU
#include "qat/Conversion/Passes.h.inc"
} // namespace mlir::qat

using namespace mlir;
using namespace mlir::qat;

//===----------------------------------------------------------------------===//
// MatmulKernelSpec, EpilogueCoefficients
//===----------------------------------------------------------------------===//

MatmulKernelSpec MatmulKernelSpec::get(MatmulOp op, MatmulGPUStrategy strategy,
                                       StringRef chip, unsigned stages,
                                       Int4Mma int4Mma) {
  MatmulKernelSpec spec;
  RankedTensorType lhs = op.getLhs().getType();
  spec.m = lhs.getDimSize(0);
  spec.n = op.getRhs().getType().getDimSize(0);
  spec.packed = op.getPacked();
  spec.kBytes = lhs.getDimSize(1);
  spec.k = spec.kBytes * (spec.packed ? 2 : 1);
  spec.lhsCodeType = lhs.getElementType();
  spec.rhsCodeType = op.getRhs().getType().getElementType();
  spec.lhsGrid = op.getLhsQuantizer().getGrid();
  spec.rhsGrid = op.getRhsQuantizer().getGrid();
  spec.lhsPerRow = op.getLhsQuantizer().getGranularity() == Granularity::PerRow;
  spec.rhsPerRow = op.getRhsQuantizer().getGranularity() == Granularity::PerRow;
  spec.lhsScaleElementType = op.getLhsScale().getType().getElementType();
  spec.rhsScaleElementType = op.getRhsScale().getType().getElementType();
  spec.resultElementType = op.getType().getElementType();
  if (strategy == MatmulGPUStrategy::Auto)
    strategy = hasWarpgroupMma(chip) && !spec.packed
                   ? MatmulGPUStrategy::Wgmma
                   : MatmulGPUStrategy::MmaSync;
  spec.strategy = strategy;
  spec.stages = stages ? stages
                : strategy == MatmulGPUStrategy::Wgmma
                    ? getWgmmaDefaultStages()
                    : getMmaSyncDefaultStages();
  spec.unpackInt4 = spec.packed &&
                    (int4Mma == Int4Mma::Unpack ||
                     (int4Mma == Int4Mma::Auto && spec.k <= kMaxUnpackedInt4K));
  if (strategy == MatmulGPUStrategy::Wgmma)
    spec.wgmmaTileN = chooseWgmmaTileN(spec);
  return spec;
}

std::string MatmulKernelSpec::getName() const {
  std::string name;
  llvm::raw_string_ostream os(name);
  os << "qat_matmul_";
  if (ShapedType::isDynamic(m))
    os << "dyn";
  else
    os << m;
  os << "x" << n << "x" << k << "_" << stringifyGrid(lhsGrid) << "_"
     << stringifyGrid(rhsGrid) << "_"
     << (packed                       ? "s4"
         : lhsGrid.hasIntegerLevels() ? "s8"
                                      : "f8")
     << "_" << resultElementType;
  if (strategy == MatmulGPUStrategy::Wgmma)
    os << "_wgmma"
       << (wgmmaTileN == 256 ? "" : "_n" + std::to_string(wgmmaTileN))
       << (claimsWgmmaTiles(*this) ? "_claimed" : "");
  if (consumers)
    os << "_epilogue";
  return name;
}

bool MatmulKernelSpec::operator==(const MatmulKernelSpec &other) const {
  return m == other.m && n == other.n && k == other.k &&
         kBytes == other.kBytes && packed == other.packed &&
         unpackInt4 == other.unpackInt4 && lhsCodeType == other.lhsCodeType &&
         rhsCodeType == other.rhsCodeType && lhsGrid == other.lhsGrid &&
         rhsGrid == other.rhsGrid && lhsPerRow == other.lhsPerRow &&
         rhsPerRow == other.rhsPerRow &&
         lhsScaleElementType == other.lhsScaleElementType &&
         rhsScaleElementType == other.rhsScaleElementType &&
         resultElementType == other.resultElementType &&
         strategy == other.strategy && stages == other.stages &&
         wgmmaTileN == other.wgmmaTileN && consumers == other.consumers;
}

EpilogueCoefficients EpilogueCoefficients::get(GridAttrInterface lhs,
                                               GridAttrInterface rhs,
                                               int64_t k) {
  bool lhsCentered = lhs.hasHalfIntegerLevels(),
       rhsCentered = rhs.hasHalfIntegerLevels();
  EpilogueCoefficients c;
  if (lhsCentered && rhsCentered) {
    // (a+1/2)(b+1/2) = (4ab + 2a + 2b + 1)/4
    c.accFactor = 4;
    c.lhsRowSumFactor = 2;
    c.rhsRowSumFactor = 2;
    c.constant = static_cast<int32_t>(k);
    c.scale = 0.25;
  } else if (lhsCentered) {
    // (a+1/2) b = (2ab + b)/2
    c.accFactor = 2;
    c.rhsRowSumFactor = 1;
    c.scale = 0.5;
  } else if (rhsCentered) {
    // a (b+1/2) = (2ab + a)/2
    c.accFactor = 2;
    c.lhsRowSumFactor = 1;
    c.scale = 0.5;
  }
  return c;
}

EpilogueCoefficients EpilogueCoefficients::getUnpackedInt4(
    GridAttrInterface lhs, GridAttrInterface rhs, int64_t k, int64_t paddedK) {
  bool lhsCentered = lhs.hasHalfIntegerLevels(),
       rhsCentered = rhs.hasHalfIntegerLevels();
  EpilogueCoefficients c;
  // 16a or 8(2a+1) per operand.
  c.accShift = (lhsCentered ? 3 : 4) + (rhsCentered ? 3 : 4);
  if (lhsCentered && rhsCentered) {
    c.constant = static_cast<int32_t>(k - paddedK);
    c.scale = 0.25;
  } else if (lhsCentered || rhsCentered) {
    c.scale = 0.5;
  }
  return c;
}

//===----------------------------------------------------------------------===//
// Chips
//===----------------------------------------------------------------------===//

/// N of `sm_<N>...`; std::nullopt for any other string.
static std::optional<unsigned> getSMVersion(StringRef chip) {
  unsigned version = 0;
  if (!chip.consume_front("sm_") || chip.consumeInteger(10, version))
    return std::nullopt;
  return version;
}

bool mlir::qat::hasNativeInt4Mma(StringRef chip) {
  // sm_80 to sm_89 (Ampere, Ada) have 4-bit integer tensor cores. Hopper
  // emulates mma.sync .s4 (about 18x slower than s8 on an H100,
  // docs/gpu.md); later chips are not known to run it natively either.
  std::optional<unsigned> version = getSMVersion(chip);
  return version && *version >= 80 && *version < 90;
}

std::string mlir::qat::checkChipOption(StringRef chip) {
  StringRef name = chip;
  unsigned version = 0;
  if (!name.empty() &&
      (!name.consume_front("sm_") || name.consumeInteger(10, version) ||
       version < 10 || version > 121 ||
       !(name.empty() || name == "a" || name == "f")))
    return ("chip=" + chip +
            " is not a CUDA architecture (sm_<N> up to sm_121, optionally "
            "with an 'a' or 'f' suffix)")
        .str();
  return "";
}

bool mlir::qat::hasTensorCoreMma(StringRef chip) {
  std::optional<unsigned> version = getSMVersion(chip);
  return chip.empty() || (version && *version >= 80);
}

bool mlir::qat::hasWarpgroupMma(StringRef chip) {
  // wgmma and setmaxnreg are architecture-specific: sm_90a, not sm_90 (whose
  // PTX must run on later chips too) nor later chips.
  return chip == "sm_90a";
}

//===----------------------------------------------------------------------===//
// Rewrite
//===----------------------------------------------------------------------===//

namespace {

/// Whether `check` (a support check that reports through the function it
/// is given) passes for `op`, reporting nothing. (An empty
/// InFlightDiagnostic would not do: it converts to success.)
bool passesQuietly(
    MatmulOp op,
    function_ref<LogicalResult(function_ref<InFlightDiagnostic()>)> check) {
  ScopedDiagnosticHandler quiet(op.getContext(),
                                [](Diagnostic &) { return success(); });
  return succeeded(check([&] { return op.emitOpError(); }));
}

/// The kernels of one module, created on demand: equal specs share a kernel.
class KernelCache {
public:
  KernelCache(ModuleOp module, MatmulGPUStrategy strategy, StringRef chip,
              unsigned stages, Int4Mma int4Mma)
      : module(module), symbolTable(module), strategy(strategy), chip(chip),
        stages(stages), int4Mma(int4Mma) {}

  MatmulKernelSpec getSpec(MatmulOp op) const {
    return MatmulKernelSpec::get(op, strategy, chip, stages, int4Mma);
  }

  LogicalResult checkSupport(const MatmulKernelSpec &spec,
                             function_ref<InFlightDiagnostic()> emitError) {
    switch (spec.strategy) {
    case MatmulGPUStrategy::MmaSync:
      return checkMmaSyncSupport(spec, emitError);
    case MatmulGPUStrategy::Wgmma:
      // An empty chip leaves the target open; any other must have wgmma.
      if (!chip.empty() && !hasWarpgroupMma(chip))
        return emitError() << "the wgmma kernel needs chip=sm_90a, got chip="
                           << chip;
      return checkWgmmaSupport(spec, emitError);
    case MatmulGPUStrategy::Auto:
      break;
    }
    llvm_unreachable("the strategy of a spec is decided");
  }

  /// The kernel for `spec`; a new one goes into its own `gpu.module`, placed
  /// before the top-level op that holds `user`.
  MatmulKernel getOrCreate(OpBuilder &builder, Operation *user,
                           const MatmulKernelSpec &spec) {
    for (auto &[existing, kernel] : kernels)
      if (existing == spec)
        return kernel;

    OpBuilder::InsertionGuard guard(builder);
    gpu::GPUModuleOp gpuModule = createModule(builder, user, spec.getName());
    MatmulKernel kernel;
    switch (spec.strategy) {
    case MatmulGPUStrategy::MmaSync:
      kernel = buildMmaSyncKernel(builder, user->getLoc(), gpuModule, spec);
      break;
    case MatmulGPUStrategy::Wgmma:
      kernel = buildWgmmaKernel(builder, user->getLoc(), gpuModule, spec);
      break;
    case MatmulGPUStrategy::Auto:
      llvm_unreachable("the strategy of a spec is decided");
    }
    kernels.emplace_back(spec, kernel);
    return kernel;
  }

  /// The row-sum kernel of `operands` code buffers of `kBytes` bytes a row
  /// (any row counts).
  gpu::GPUFuncOp getOrCreateRowSums(OpBuilder &builder, Operation *user,
                                    int64_t kBytes, unsigned operands) {
    gpu::GPUFuncOp &kernel = rowSumKernels[{kBytes, operands}];
    if (kernel)
      return kernel;
    OpBuilder::InsertionGuard guard(builder);
    std::string name = "qat_code_row_sums_k" + std::to_string(kBytes);
    if (operands > 1)
      name += "_x" + std::to_string(operands);
    gpu::GPUModuleOp gpuModule = createModule(builder, user, name);
    kernel = buildCodeRowSumKernel(builder, user->getLoc(), gpuModule, kBytes,
                                   operands);
    return kernel;
  }

  /// The unpacking kernel of packed codes of `kBytes` bytes a row.
  gpu::GPUFuncOp getOrCreateUnpack(OpBuilder &builder, Operation *user,
                                   int64_t kBytes) {
    gpu::GPUFuncOp &kernel = unpackKernels[kBytes];
    if (kernel)
      return kernel;
    OpBuilder::InsertionGuard guard(builder);
    gpu::GPUModuleOp gpuModule = createModule(
        builder, user, "qat_unpack_codes_k" + std::to_string(kBytes));
    kernel = buildUnpackCodesKernel(builder, user->getLoc(), gpuModule, kBytes);
    return kernel;
  }

private:
  /// A `gpu.module` named `name` (renamed if the name is taken) before the
  /// top-level op that holds `user`; leaves `builder` there.
  gpu::GPUModuleOp createModule(OpBuilder &builder, Operation *user,
                                StringRef name) {
    Operation *topLevel = user;
    while (topLevel->getParentOp() != module)
      topLevel = topLevel->getParentOp();
    builder.setInsertionPoint(topLevel);
    auto gpuModule = gpu::GPUModuleOp::create(builder, user->getLoc(), name);
    symbolTable.insert(gpuModule, Block::iterator(topLevel));
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    builder.getUnitAttr());
    return gpuModule;
  }

  ModuleOp module;
  SymbolTable symbolTable;
  MatmulGPUStrategy strategy;
  std::string chip;
  unsigned stages;
  Int4Mma int4Mma;
  std::vector<std::pair<MatmulKernelSpec, MatmulKernel>> kernels;
  llvm::DenseMap<std::pair<int64_t, unsigned>, gpu::GPUFuncOp> rowSumKernels;
  llvm::DenseMap<int64_t, gpu::GPUFuncOp> unpackKernels;
};

/// qat.matmul -> to_buffer (A, B, sa, sb), memref.alloc (result),
/// gpu.launch_func, to_tensor (result). With spec.consumers the kernel
/// stores the elementwise consumer's result, which replaces that op, and a
/// fused sum is finished by a linalg reduction of the kernel's partial sums
/// where the sum was.
void lowerMatmul(RewriterBase &rewriter, MatmulOp op,
                 const MatmulKernelSpec &spec, KernelCache &cache) {
  MatmulKernel kernel = cache.getOrCreate(rewriter, op, spec);
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  auto toBuffer = [&](Value tensor) -> Value {
    auto type = cast<RankedTensorType>(tensor.getType());
    return bufferization::ToBufferOp::create(
        rewriter, loc, MemRefType::get(type.getShape(), type.getElementType()),
        tensor, /*read_only=*/true);
  };
  SmallVector<Value> buffers;
  for (Value tensor :
       {op.getLhs(), op.getRhs(), op.getLhsScale(), op.getRhsScale()})
    buffers.push_back(toBuffer(tensor));
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, value);
  };
  RankedTensorType resultType = op.getType();
  if (spec.consumers)
    resultType = RankedTensorType::get(resultType.getShape(),
                                       spec.consumers->getStoredType());
  // M known at run time: the result's rows and the grid come from A's.
  SmallVector<Value> dynamicSizes;
  Value grid;
  if (ShapedType::isDynamic(spec.m)) {
    Value m = memref::DimOp::create(rewriter, loc, buffers.front(), 0);
    dynamicSizes.push_back(m);
    Value tilesM =
        arith::CeilDivUIOp::create(rewriter, loc, m, index(kernel.tileM));
    grid = arith::MulIOp::create(rewriter, loc, tilesM, index(kernel.tilesN));
  } else {
    grid = index(kernel.gridSize);
  }
  Value resultBuffer = memref::AllocOp::create(
      rewriter, loc,
      MemRefType::get(resultType.getShape(), resultType.getElementType()),
      dynamicSizes);
  buffers.push_back(resultBuffer);
  // Row sums the kernel reads rather than computes, by one launch before
  // it.
  SmallVector<Value> summed;
  if (kernel.lhsRowSumArg)
    summed.push_back(buffers[0]);
  if (kernel.rhsRowSumArg)
    summed.push_back(buffers[1]);
  if (!summed.empty())
    llvm::append_range(buffers, launchCodeRowSums(rewriter, loc,
                                                  cache.getOrCreateRowSums(
                                                      rewriter, op, spec.kBytes,
                                                      summed.size()),
                                                  summed));
  if (kernel.tmaRowsA)
    buffers.append(
        buildWgmmaTensorMaps(rewriter, loc, kernel, buffers[0], buffers[1]));
  Value partials;
  if (spec.consumers) {
    for (Value input : spec.consumers->inputs)
      buffers.push_back(toBuffer(input));
    if (kernel.partialSums) {
      partials = memref::AllocOp::create(
          rewriter, loc,
          MemRefType::get({kernel.partialSums}, rewriter.getF32Type()));
      buffers.push_back(partials);
    }
  }

  if (kernel.persistent)
    grid = buildPersistentGrid(rewriter, loc, grid, kernel.claimsTiles,
                               kWgmmaPersistentTilesPerSM);
  if (kernel.claimsTiles)
    buffers.push_back(buildTileCounter(rewriter, loc));
  Value one = index(1);
  Value sharedBytes;
  if (kernel.dynamicSharedBytes)
    sharedBytes = arith::ConstantIntOp::create(
        rewriter, loc, rewriter.getI32Type(), kernel.dynamicSharedBytes);
  gpu::LaunchFuncOp::create(
      rewriter, loc, kernel.func, gpu::KernelDim3{grid, one, one},
      gpu::KernelDim3{index(kernel.blockSize), one, one}, sharedBytes, buffers);
  // The kernel writes every element of the fresh buffer and nothing else
  // aliases it.
  Value result = bufferization::ToTensorOp::create(
      rewriter, loc, resultType, resultBuffer, /*restrict=*/true,
      /*writable=*/true);
  if (!spec.consumers) {
    rewriter.replaceOp(op, result);
    return;
  }
  rewriter.replaceOp(spec.consumers->elementwise, result);
  if (linalg::GenericOp sum = spec.consumers->sum) {
    // The sum's accumulator plus the partial sums, where the sum was (its
    // init may be defined after the qat.matmul).
    rewriter.setInsertionPoint(sum);
    Location sumLoc = sum.getLoc();
    auto partialsType =
        RankedTensorType::get({kernel.partialSums}, rewriter.getF32Type());
    Value terms = bufferization::ToTensorOp::create(
        rewriter, sumLoc, partialsType, partials, /*restrict=*/true,
        /*writable=*/true);
    MLIRContext *context = rewriter.getContext();
    auto total = linalg::GenericOp::create(
        rewriter, sumLoc, sum.getResultTypes(), ValueRange{terms},
        sum.getDpsInits(),
        ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(1, context),
                            AffineMap::get(1, 0, context)},
        ArrayRef<utils::IteratorType>{utils::IteratorType::reduction},
        [](OpBuilder &nested, Location nestedLoc, ValueRange args) {
          Value next =
              arith::AddFOp::create(nested, nestedLoc, args[1], args[0]);
          linalg::YieldOp::create(nested, nestedLoc, next);
        });
    rewriter.replaceOp(sum, total.getResults());
  }
  rewriter.eraseOp(op);
}

/// qat.matmul whose consumers stay ops of their own: lowerMatmul.
struct MatmulToKernelLaunch : OpRewritePattern<MatmulOp> {
  MatmulToKernelLaunch(MLIRContext *context, KernelCache &cache)
      : OpRewritePattern(context), cache(cache) {}

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    MatmulKernelSpec spec = cache.getSpec(op);
    // The pass has reported unsupported ops already; stay silent here.
    if (!passesQuietly(op, [&](auto emitError) {
          return cache.checkSupport(spec, emitError);
        }))
      return rewriter.notifyMatchFailure(op, "unsupported by the strategy");
    lowerMatmul(rewriter, op, spec, cache);
    return success();
  }

  KernelCache &cache;
};

/// The wgmma kernel's spec for the packed op of `spec` once unpackCodes has
/// made its codes one a byte.
static MatmulKernelSpec getUnpackedWgmmaSpec(MatmulKernelSpec spec,
                                             unsigned stages) {
  spec.packed = spec.unpackInt4 = false;
  spec.kBytes = spec.k;
  spec.strategy = MatmulGPUStrategy::Wgmma;
  spec.stages = stages ? stages : getWgmmaDefaultStages();
  spec.wgmmaTileN = chooseWgmmaTileN(spec);
  return spec;
}

struct ConvertQATMatmulToNVGPUPass
    : qat::OptionCheckedPass<
          ConvertQATMatmulToNVGPUPass,
          qat::impl::ConvertQATMatmulToNVGPUBase<ConvertQATMatmulToNVGPUPass>> {
  using OptionCheckedPass::OptionCheckedPass;

  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    // The launches this pass creates must pass buffer deallocation.
    registerGPULaunchFuncMemoryEffects(registry);
  }

  /// The options on their own (each qat.matmul is checked against the
  /// strategy it gets later); empty when they are valid.
  std::string checkOptions() const {
    std::string error = checkChipOption(chip);
    if (!error.empty())
      return error;
    unsigned most = strategy == MatmulGPUStrategy::MmaSync ? 3 : 4;
    if (stages != 0 && (stages < 2 || stages > most))
      return "stages=" + std::to_string(stages) + " must be 0 (the " +
             "strategy's default) or 2 to " + std::to_string(most);
    return "";
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!hasValidOptions())
      return signalPassFailure();
    // Before any planning: dynamic dimensions where the kernels take them,
    // sizes the planner's int64 arithmetic can take, and no zero-size matmul
    // left for it (the CPU's linalg instead).
    auto isMatmul = [](Operation *op) { return isa<MatmulOp>(op); };
    if (failed(checkGPUDynamicShapes(module, isMatmul)) ||
        failed(checkGPUTensorSizes(module, isMatmul)) ||
        failed(lowerZeroSizeOpsToLinalg(module, isMatmul)))
      return signalPassFailure();

    // With a chip that multiplies 4-bit codes natively, auto means native;
    // otherwise it stays auto: unpacked wherever K allows.
    Int4Mma mode = int4Mma == Int4Mma::Auto && hasNativeInt4Mma(chip)
                       ? Int4Mma::Native
                       : int4Mma;
    KernelCache cache(module, strategy, chip, stages, mode);
    IRRewriter rewriter(&getContext());

    // fp8 codes multiply on wgmma only; elsewhere (and where strategy=auto
    // finds the wgmma kernel unfit) their values, exact in bf16 and tf32,
    // go through the float contractions' tensor-core kernels, which a later
    // pass builds.
    SmallVector<MatmulOp> floatCodes;
    module.walk([&](MatmulOp op) {
      if (op.getLhsQuantizer().getGrid().hasIntegerLevels())
        return;
      MatmulKernelSpec spec = cache.getSpec(op);
      if (spec.strategy != MatmulGPUStrategy::Wgmma ||
          (strategy == MatmulGPUStrategy::Auto &&
           !passesQuietly(op, [&](auto emitError) {
             return checkWgmmaSupport(spec, emitError);
           })))
        floatCodes.push_back(op);
    });
    for (MatmulOp op : floatCodes) {
      rewriter.setInsertionPoint(op);
      rewriter.replaceOp(op, buildMatmulAsLinalg(rewriter, op.getLoc(), op,
                                                 op.getLhs(), op.getRhs(),
                                                 op.getLhsScale(),
                                                 op.getRhsScale()));
    }

    // Packed 4-bit codes reach wgmma one a byte. Auto keeps the mma.sync
    // kernel (which unpacks in registers) where the wgmma kernel would not
    // take the unpacked op.
    SmallVector<MatmulOp> packed;
    module.walk([&](MatmulOp op) {
      if (!canUnpackCodes(op))
        return;
      if (strategy == MatmulGPUStrategy::Wgmma ||
          (strategy == MatmulGPUStrategy::Auto && hasWarpgroupMma(chip) &&
           passesQuietly(op, [&](auto emitError) {
             return checkWgmmaSupport(
                 getUnpackedWgmmaSpec(cache.getSpec(op), stages), emitError);
           })))
        packed.push_back(op);
    });
    for (MatmulOp op : packed)
      unpackCodes(rewriter, op, [&] {
        return cache.getOrCreateUnpack(rewriter, op,
                                       op.getLhs().getType().getDimSize(1));
      });

    // Report every op the strategy cannot compile before building a kernel.
    bool supported = true;
    // An older chip would end in the NVPTX backend's fatal "Cannot select".
    module.walk([&](MatmulOp op) {
      if (!hasTensorCoreMma(chip)) {
        op.emitOpError() << "the tensor-core kernel needs integer mma.sync "
                            "(sm_80 or newer), got chip="
                         << chip;
        supported = false;
        return;
      }
      MatmulKernelSpec spec = cache.getSpec(op);
      if (failed(cache.checkSupport(spec, [&] { return op.emitOpError(); })))
        supported = false;
    });
    if (!supported)
      return signalPassFailure();

    // qat.matmul ops whose consumers the wgmma kernel applies: the rewrite
    // replaces and erases those consumers too, so it runs here rather than
    // in the walk below (which erases only the op it visits).
    // Each op's consumers are matched right before it is lowered: lowering
    // an op replaces its elementwise consumer, which a later op's consumer
    // may read (a residual chain), so a match made earlier could hold the
    // erased value.
    if (fuseEpilogues) {
      SmallVector<MatmulOp> candidates;
      module.walk([&](MatmulOp op) {
        MatmulKernelSpec spec = cache.getSpec(op);
        if (spec.strategy == MatmulGPUStrategy::Wgmma &&
            !ShapedType::isDynamic(spec.m))
          candidates.push_back(op);
      });
      for (MatmulOp op : candidates) {
        MatmulKernelSpec spec = cache.getSpec(op);
        spec.consumers = matchFusedConsumers(op);
        if (spec.consumers)
          lowerMatmul(rewriter, op, spec, cache);
      }
    }

    // One rewrite per op, no fixed point: every match adds (or reuses) a
    // kernel, and nothing the rewrite creates matches again.
    RewritePatternSet patterns(&getContext());
    patterns.add<MatmulToKernelLaunch>(&getContext(), cache);
    walkAndApplyPatterns(module, std::move(patterns));
  }
};

} // namespace

//===----------------------------------------------------------------------===//
// Memory effects of gpu.launch_func
//===----------------------------------------------------------------------===//

namespace {
/// A kernel launch reads and writes the buffers it is given. Upstream
/// declares no effects for gpu.launch_func, and ownership-based buffer
/// deallocation rejects ops with unknown effects.
struct LaunchFuncMemoryEffects
    : MemoryEffectOpInterface::ExternalModel<LaunchFuncMemoryEffects,
                                             gpu::LaunchFuncOp> {
  void
  getEffects(Operation *op,
             SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
                 &effects) const {
    for (OpOperand &operand : op->getOpOperands()) {
      if (!isa<BaseMemRefType>(operand.get().getType()))
        continue;
      effects.emplace_back(MemoryEffects::Read::get(), &operand);
      effects.emplace_back(MemoryEffects::Write::get(), &operand);
    }
  }
};

/// Creating a TMA descriptor reads the memref's pointer and shape, not its
/// elements (the kernel that gets the descriptor reads those, and it gets
/// the memref too). Upstream declares no effects for the op.
struct TmaCreateDescriptorMemoryEffects
    : MemoryEffectOpInterface::ExternalModel<TmaCreateDescriptorMemoryEffects,
                                             nvgpu::TmaCreateDescriptorOp> {
  void
  getEffects(Operation *op,
             SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
                 &effects) const {
    effects.emplace_back(MemoryEffects::Read::get(), &op->getOpOperand(0));
  }
};
} // namespace

void mlir::qat::registerGPULaunchFuncMemoryEffects(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, gpu::GPUDialect *) {
    gpu::LaunchFuncOp::attachInterface<LaunchFuncMemoryEffects>(*context);
  });
  registry.addExtension(+[](MLIRContext *context, nvgpu::NVGPUDialect *) {
    nvgpu::TmaCreateDescriptorOp::attachInterface<
        TmaCreateDescriptorMemoryEffects>(*context);
  });
}
