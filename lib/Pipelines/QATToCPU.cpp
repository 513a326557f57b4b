//===- QATToCPU.cpp - The qat-to-cpu pipeline -------------------*- C++ -*-===//
//
// qat + linalg on tensors -> bufferized loops -> LLVM dialect.
//
//===----------------------------------------------------------------------===//

#include "qat/Pipelines/Pipelines.h"

#include "qat/Conversion/QATToLinalg/QATToLinalg.h"
#include "qat/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::qat::buildQATToCPUPipeline(OpPassManager &pm,
                                      const QATToCPUPipelineOptions &options) {
  pm.addPass(createConvertQATToLinalg());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Transposed matmul operands are copied into row-major tensors, then the
  // matmuls become loops over register blocks of vector.contract; on
  // tensors, so that each block of C is a loop-carried value that stays in
  // registers over the contraction loop. Before the elementwise fusion, which
  // would otherwise fold a quantizer feeding a matmul into the matmul's body
  // (recomputed for every output column, and no longer a matmul the
  // micro-kernel takes).
  if (options.vectorizeContractions) {
    pm.addNestedPass<func::FuncOp>(createCPUPackContractionOperands());
    pm.addNestedPass<func::FuncOp>(createCPUVectorizeContractions());
    pm.addPass(createCanonicalizerPass());
  }
  // Fuses an elementwise linalg.generic into its single consumer (e.g. a
  // dequantize or fake_quant feeding a user's elementwise op), so that the
  // tensor between them never becomes a buffer. Producers with several uses
  // are left alone (a Hadamard stage reads its input through four maps and
  // would recompute it four times).
  if (options.fuseElementwise) {
    pm.addPass(createLinalgElementwiseOpFusionPass());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
  }

  // Tensors to buffers. Function boundaries get identity layouts so that
  // callers (qat-run, the C interface) pass plain contiguous arrays.
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  // A training loop (scf.for over steps) yields updated parameters that are
  // new tensors, not the loop's own buffers updated in place.
  bufferize.allowReturnAllocsFromLoops = true;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());

  if (options.vectorizeContractions) {
    // The n-D reads and writes of register blocks become 1-D ones, which
    // convert-vector-to-llvm turns into loads and stores.
    VectorTransferToSCFOptions toSCF;
    toSCF.enableFullUnroll();
    pm.addNestedPass<func::FuncOp>(createConvertVectorToSCFPass(toSCF));
  }
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createLowerDynamicExpandShape());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createCanonicalizerPass());

  // vector.print (loss reports of training loops) becomes calls into the
  // runner utilities.
  // A register block's vector.contract ([rows x 1] by [1 x cols]) becomes
  // one broadcast and FMA on a cols-wide vector per row.
  ConvertVectorToLLVMPassOptions toLLVM;
  toLLVM.vectorContractLowering = vector::VectorContractLowering::OuterProduct;
  pm.addPass(createConvertVectorToLLVMPass(toLLVM));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  // bf16 arithmetic in f32, rounded to bf16 after each operation: the same
  // results (f32 holds more than twice bf16's precision), without the
  // compiler-rt helpers that LLVM's promotion of bf16 operations calls.
  arith::ArithEmulateUnsupportedFloatsOptions emulate;
  emulate.sourceTypeStrs = {"bf16"};
  emulate.targetTypeStr = "f32";
  pm.addPass(arith::createArithEmulateUnsupportedFloats(emulate));
  // bf16 conversions as integer arithmetic (round to nearest even, NaN kept):
  // the same bits on every CPU, and objects need no compiler-rt helper
  // (__truncsfbf2) that the host's libgcc may lack.
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  // Unused lanes of vector transfers are ub.poison.
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}
