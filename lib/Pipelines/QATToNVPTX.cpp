//===- QATToNVPTX.cpp - The qat-to-nvptx pipeline ---------------*- C++ -*-===//
//
// qat on tensors -> fused gpu.launch kernels -> device buffers -> NVVM ->
// cubin embedded in host code lowered to the LLVM dialect.
//
//===----------------------------------------------------------------------===//

#include "qat/Conversion/Passes.h"
#include "qat/Dialect/QAT/Transforms/Passes.h"
#include "qat/Pipelines/Pipelines.h"
#include "qat/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

/// 90 for "sm_90" or "sm_90a"; 0 if `chip` names no sm_ version.
static unsigned chipVersion(StringRef chip) {
  unsigned version = 0;
  if (!chip.consume_front("sm_") ||
      chip.take_while(llvm::isDigit).getAsInteger(10, version))
    return 0;
  return version;
}

void mlir::qat::buildQATToNVPTXPipeline(
    OpPassManager &pm, const QATToNVPTXPipelineOptions &options) {
  // A call that returns tensors (a training step calling its gradient
  // function) would need buffer ownership decided at run time, which the
  // deallocation pipeline does with host-side stores into device buffers;
  // inlined, the callee's ops also fuse with the caller's.
  pm.addPass(createInlinerPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // Kernels at tensor level: qat.matmul on the tensor cores, then every
  // row-local qat op fused into one launch per fusion group.
  // The chip picks the tensor-core instruction for packed 4-bit codes.
  ConvertQATMatmulToNVGPUOptions matmul;
  matmul.chip = options.chip;
  matmul.fuseEpilogues = options.fuseEpilogues;
  pm.addPass(createConvertQATMatmulToNVGPU(matmul));
  // The backward rotates its inputs again rather than reading the forward's
  // rotated copies: the forward kernels then do not store them.
  pm.addNestedPass<func::FuncOp>(createQATRecomputeRotations());
  ConvertQATToGPUOptions rows;
  rows.elementsPerThread = options.elementsPerThread;
  rows.hadamardExchange = options.hadamardExchange;
  rows.allowFallback = true;
  pm.addNestedPass<func::FuncOp>(createConvertQATToGPU(rows));
  // Float contractions (the gradient matmuls of a backward pass, any
  // linalg.matmul or batch_matmul of a model) on the tensor cores, with an
  // elementwise consumer (bias, activation, scale, mask) in the kernel's
  // epilogue, before the elementwise fusion could fold producers into their
  // bodies.
  ConvertLinalgContractionsToNVGPUOptions contractions;
  contractions.precision = options.contractionPrecision;
  contractions.fuseEpilogues = options.fuseEpilogues;
  contractions.chip = options.chip;
  pm.addPass(createConvertLinalgContractionsToNVGPU(contractions));
  // What the row kernels do not cover (long rows, f64, sub-byte code
  // types, ...) takes the generic route: linalg, then kernels below. It runs
  // after the contraction pass so that the linalg it makes keeps its f32
  // products instead of becoming tensor-core contractions.
  pm.addPass(createConvertQATToLinalg());
  // The linalg ops around them (losses, gradients of float matmuls, SGD
  // updates): elementwise chains fuse into one op, hence one kernel, and the
  // tensors between them never become buffers.
  pm.addPass(createLinalgElementwiseOpFusionPass());
  // Reductions for threads: parallel dimensions outermost, full reductions
  // (a loss into a scalar) split into partials over many threads and a
  // short final reduction.
  pm.addNestedPass<func::FuncOp>(createGPUParallelizeReductions());
  // A loss and its gradient read their inputs once, in one kernel.
  pm.addNestedPass<func::FuncOp>(createGPUFuseReductionSiblings());
  // No CSE from here to bufferization: the kernels read their tensors
  // through bufferization.to_buffer, which is Pure, so CSE would merge the
  // to_buffer of a forward kernel with that of a backward kernel reading the
  // same tensor, and one-shot bufferization, seeing the tensor's last read
  // at the first, would reuse its buffer before the second kernel runs.
  pm.addPass(createCanonicalizerPass());

  // Buffers: function arguments, results and temporaries live in device
  // memory; the host code only allocates, launches and frees.
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  // As on the CPU: a training loop yields new parameter tensors.
  bufferize.allowReturnAllocsFromLoops = true;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());

  // Every remaining linalg op becomes a kernel through upstream's parallel
  // loop route: its parallel dimensions become an scf.parallel, tiled so
  // that the inner loop nest (constant bounds, in-bounds check) maps to the
  // threads of a block and the outer one to the grid; reduction dimensions
  // stay sequential loops in each thread. This route rather than
  // tile-using-forall + transform-dialect mapping because it needs no
  // per-op transform script: convert-linalg-to-parallel-loops covers every
  // linalg op, named or generic, of any rank, and the tile sizes are the
  // one knob (`linalg-tile-sizes`). The kernels are plain (no shared-memory
  // tiling, no tensor cores): they serve the glue of a training step, while
  // the quantizers, low-bit matmuls and float contractions have the
  // hand-built kernels above (a contraction gets here only in a form the
  // tensor-core kernel does not take, or with contraction-precision=f32).
  // Ops without a parallel dimension (the final reduction of a split loss,
  // rank-0 ops) run in a single-thread kernel.
  pm.addNestedPass<func::FuncOp>(createGPUSerialLinalg());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  // A fill and the matmul accumulating into it have the same iteration
  // space: one kernel.
  pm.addNestedPass<func::FuncOp>(createParallelLoopFusionPass());
  // Reduction loops accumulate in registers, and each thread takes a short
  // vector of a row: 16-byte accesses and fewer, fuller CTAs.
  pm.addNestedPass<func::FuncOp>(createGPUPromoteAccumulators());
  pm.addNestedPass<func::FuncOp>(createGPUVectorizeParallelLoops());
  pm.addNestedPass<func::FuncOp>(createGPUBatchLoopLoads());
  GPUTileParallelLoopsOptions tiling;
  tiling.tileSizes = llvm::to_vector(options.linalgTileSizes);
  pm.addNestedPass<func::FuncOp>(createGPUTileParallelLoops(tiling));
  // Innermost-first: the last tile size becomes threadIdx.x, so that a
  // warp reads consecutive elements of a row.
  GpuMapParallelLoopsPassOptions mapping;
  mapping.mappingPolicyStr = "innermost-first";
  pm.addNestedPass<func::FuncOp>(createGpuMapParallelLoopsPass(mapping));
  pm.addNestedPass<func::FuncOp>(createConvertParallelLoopToGpuPass());
  pm.addPass(createCanonicalizerPass());

  pm.addNestedPass<func::FuncOp>(createGPUDeviceBuffers());
  pm.addPass(createCanonicalizerPass());

  // Kernels: outline, then compile for the chip. CSE and the canonicalizer
  // above replace a launch body's constants by equal ones of the host
  // (gpu.launch is not isolated from above), and outlining would pass each
  // as a kernel parameter: the kernel then keeps an unknown value in a
  // register where an immediate did, which cost the dynamic-rows QuEST
  // forward 10 registers and a third of its resident CTAs (the host has a
  // `0 : index` for the row count's memref.dim). Sink them back first.
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createGPUNameKernels());
  // Host-side gpu ops become asynchronous on one stream: the form that
  // gpu-to-llvm lowers (a synchronous gpu.alloc has no lowering).
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
  pm.addPass(createLowerAffinePass());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = options.features;
  target.optLevel = options.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createLowerDynamicExpandShape());
  kernels.addPass(memref::createExpandStridedMetadataPass());
  kernels.addPass(createLowerAffinePass());
  kernels.addPass(createSCFToControlFlowPass());
  if (options.dependentLaunch && chipVersion(options.chip) >= 90)
    kernels.addPass(createGPUDependentLaunch());
  kernels.addPass(createGPUBF16MmaToNVVM());
  kernels.addPass(createConvertNVGPUToNVVMPass());
  kernels.addPass(createConvertGpuOpsToNVVMOps());
  // NVVM ops without an LLVM intrinsic (the wgmma kernel's mbarrier waits
  // and wgmma.mma_async) become inline PTX.
  kernels.addPass(createConvertNVVMToLLVMPass());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions binary;
  binary.toolkitPath = options.toolkit;
  binary.compilationTarget = options.format;
  binary.cmdOptions = options.ptxasOptions;
  pm.addPass(createGpuModuleToBinaryPass(binary));

  // Host code: launches become calls into the qat CUDA runtime (mgpu*), the
  // TMA descriptors of the wgmma kernels calls of
  // mgpuTensorMapEncodeTiledMemref (the kernels are binaries by now, so
  // this converts host ops only).
  pm.addPass(createConvertNVGPUToNVVMPass());
  pm.addPass(createLowerDynamicExpandShape());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}
