//===- qat-capi-test.c - Drive qat through its C API only ---------*- C -*-===//
//
// A C99 program that registers qat, parses, verifies and prints qat IR,
// builds and reads back every qat attribute, checks that invalid attributes
// become diagnostics, and runs pass pipelines by name. It sees nothing but the
// C headers, like a binding would.
//
//===----------------------------------------------------------------------===//

// RUN: qat-capi-test 2>&1 | FileCheck %s

#include "qat-c/Dialect/QAT.h"
#include "qat-c/Registration.h"

#include "mlir-c/Diagnostics.h"
#include "mlir-c/IR.h"
#include "mlir-c/Pass.h"
#include "mlir-c/Support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// A failed expectation prints where and exits non-zero, so that a broken
// accessor fails the test even where FileCheck would see plausible text.
#define EXPECT(cond)                                                           \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stdout, "FAILED: %s at line %d\n", #cond, __LINE__);             \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

static void printToStdout(MlirStringRef text, void *userData) {
  (void)userData;
  fwrite(text.data, 1, text.length, stdout);
}

static void printAttr(const char *label, MlirAttribute attr) {
  printf("%s: ", label);
  mlirAttributePrint(attr, printToStdout, NULL);
  printf("\n");
}

static MlirContext createContext(void) {
  MlirContext ctx = mlirContextCreate();
  MlirDialectRegistry registry = mlirDialectRegistryCreate();
  qatRegisterAllDialects(registry);
  mlirContextAppendDialectRegistry(ctx, registry);
  mlirDialectRegistryDestroy(registry);
  return ctx;
}

//===----------------------------------------------------------------------===//
// Diagnostics: every error is captured, printed with its location, counted.
//===----------------------------------------------------------------------===//

static int numErrors = 0;

static MlirLogicalResult captureDiagnostic(MlirDiagnostic diagnostic,
                                           void *userData) {
  (void)userData;
  if (mlirDiagnosticGetSeverity(diagnostic) == MlirDiagnosticError)
    ++numErrors;
  printf("diagnostic at ");
  mlirLocationPrint(mlirDiagnosticGetLocation(diagnostic), printToStdout, NULL);
  printf(": ");
  mlirDiagnosticPrint(diagnostic, printToStdout, NULL);
  printf("\n");
  return mlirLogicalResultSuccess();
}

//===----------------------------------------------------------------------===//
// Registration
//===----------------------------------------------------------------------===//

static void testRegistration(void) {
  printf("@registration\n");
  MlirDialectHandle handle = mlirGetDialectHandle__qat__();
  MlirStringRef ns = mlirDialectHandleGetNamespace(handle);
  printf("namespace: %.*s\n", (int)ns.length, ns.data);
  // CHECK-LABEL: @registration
  // CHECK: namespace: qat

  // The handle alone is enough for a context that needs only qat.
  MlirContext ctx = mlirContextCreate();
  MlirDialect dialect = mlirDialectHandleLoadDialect(handle, ctx);
  EXPECT(!mlirDialectIsNull(dialect));
  MlirStringRef loaded = mlirDialectGetNamespace(dialect);
  printf("loaded: %.*s\n", (int)loaded.length, loaded.data);
  // CHECK: loaded: qat
  mlirContextDestroy(ctx);
}

//===----------------------------------------------------------------------===//
// Parse, verify, print
//===----------------------------------------------------------------------===//

static const char *kLayer =
    "#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>\n"
    "func.func @layer(%x: tensor<4x256xf32>) -> tensor<4x256xf32> {\n"
    "  %r = qat.hadamard %x block 128 : tensor<4x256xf32>\n"
    "  %s = qat.scale %r as #q4 : tensor<4x256xf32> -> tensor<4x1xf32>\n"
    "  %y = qat.fake_quant %r, %s as #q4 with trust\n"
    "      : tensor<4x256xf32>, tensor<4x1xf32>\n"
    "  %z = qat.hadamard %y block 128 : tensor<4x256xf32>\n"
    "  %w = qat.hadamard %z block 128 : tensor<4x256xf32>\n"
    "  return %w : tensor<4x256xf32>\n"
    "}\n";

static void testParseVerifyPrint(void) {
  printf("@parse\n");
  MlirContext ctx = createContext();
  MlirModule module =
      mlirModuleCreateParse(ctx, mlirStringRefCreateFromCString(kLayer));
  EXPECT(!mlirModuleIsNull(module));
  MlirOperation op = mlirModuleGetOperation(module);
  printf("verified: %d\n", mlirOperationVerify(op));
  mlirOperationPrint(op, printToStdout, NULL);
  printf("\n");
  // CHECK-LABEL: @parse
  // CHECK: verified: 1
  // CHECK: func.func @layer(%[[X:.*]]: tensor<4x256xf32>)
  // CHECK: %[[R:.*]] = qat.hadamard %[[X]] block 128
  // CHECK: %[[S:.*]] = qat.scale %[[R]] as <centered, 4 bits, {{.*}}per_row>
  // CHECK: qat.fake_quant %[[R]], %[[S]] as {{.*}} with trust
  // CHECK-COUNT-2: qat.hadamard
  mlirModuleDestroy(module);
  mlirContextDestroy(ctx);
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

static void testQuantizer(MlirContext ctx, MlirLocation loc) {
  printf("@quantizer\n");
  MlirAttribute q4 = qatQuantizerAttrGetChecked(loc, QatGridCentered, 4,
                                                QatScaleMethodRmsGaussian,
                                                QatGranularityPerRow, 0);
  EXPECT(!mlirAttributeIsNull(q4));
  printAttr("quest", q4);
  EXPECT(qatAttributeIsAQuantizerAttr(q4));
  EXPECT(!qatAttributeIsAGradientEstimatorAttr(q4));
  EXPECT(
      mlirTypeIDEqual(mlirAttributeGetTypeID(q4), qatQuantizerAttrGetTypeID()));
  printf("grid %d, bits %u, method %d, granularity %d, group %lld, codes "
         "[%lld, %lld]\n",
         (int)qatQuantizerAttrGetGrid(q4), qatQuantizerAttrGetBits(q4),
         (int)qatQuantizerAttrGetScaleMethod(q4),
         (int)qatQuantizerAttrGetGranularity(q4),
         (long long)qatQuantizerAttrGetGroupSize(q4),
         (long long)qatQuantizerAttrGetMinCode(q4),
         (long long)qatQuantizerAttrGetMaxCode(q4));
  // CHECK-LABEL: @quantizer
  // CHECK: quest: #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
  // CHECK: grid 0, bits 4, method 0, granularity 1, group 0, codes [-8, 7]

  MlirAttribute lsq = qatQuantizerAttrGetChecked(
      loc, QatGridSigned, 2, QatScaleMethodLearned, QatGranularityPerGroup, 64);
  EXPECT(!mlirAttributeIsNull(lsq));
  printAttr("lsq", lsq);
  EXPECT(qatQuantizerAttrGetGrid(lsq) == QatGridSigned);
  EXPECT(qatQuantizerAttrGetScaleMethod(lsq) == QatScaleMethodLearned);
  EXPECT(qatQuantizerAttrGetGranularity(lsq) == QatGranularityPerGroup);
  printf("bits %u, group %lld, codes [%lld, %lld]\n",
         qatQuantizerAttrGetBits(lsq),
         (long long)qatQuantizerAttrGetGroupSize(lsq),
         (long long)qatQuantizerAttrGetMinCode(lsq),
         (long long)qatQuantizerAttrGetMaxCode(lsq));
  // CHECK: lsq: #qat.quantizer<signed, 2 bits, learned, per_group<64>>
  // CHECK: bits 2, group 64, codes [-2, 1]

  MlirAttribute int8 = qatQuantizerAttrGetChecked(
      loc, QatGridSigned, 8, QatScaleMethodAbsMax, QatGranularityPerTensor, 0);
  printAttr("int8", int8);
  // CHECK: int8: #qat.quantizer<signed, 8 bits, absmax, per_tensor>

  // The float element formats and their block steps.
  MlirAttribute mxfp4 = qatQuantizerAttrGetChecked(
      loc, QatGridE2M1, 4, QatScaleMethodMx, QatGranularityPerGroup, 32);
  MlirAttribute nvfp4 = qatQuantizerAttrGetChecked(
      loc, QatGridE2M1, 4, QatScaleMethodNvFp4, QatGranularityPerGroup, 16);
  MlirAttribute fp8 = qatQuantizerAttrGetChecked(
      loc, QatGridE4M3, 8, QatScaleMethodAbsMax, QatGranularityPerTensor, 0);
  printAttr("mxfp4", mxfp4);
  printAttr("nvfp4", nvfp4);
  printAttr("fp8", fp8);
  EXPECT(qatQuantizerAttrGetGrid(mxfp4) == QatGridE2M1);
  EXPECT(qatQuantizerAttrGetScaleMethod(mxfp4) == QatScaleMethodMx);
  EXPECT(qatQuantizerAttrGetScaleMethod(nvfp4) == QatScaleMethodNvFp4);
  EXPECT(qatQuantizerAttrGetGrid(fp8) == QatGridE4M3);
  printf("fp8 codes [%lld, %lld]\n", (long long)qatQuantizerAttrGetMinCode(fp8),
         (long long)qatQuantizerAttrGetMaxCode(fp8));
  // CHECK: mxfp4: #qat.quantizer<e2m1, 4 bits, mx, per_group<32>>
  // CHECK: nvfp4: #qat.quantizer<e2m1, 4 bits, nvfp4, per_group<16>>
  // CHECK: fp8: #qat.quantizer<e4m3, 8 bits, absmax, per_tensor>
  // CHECK: fp8 codes [-128, 127]

  // Stochastic rounding.
  MlirAttribute nvfp4sr =
      qatQuantizerAttrWithRoundingChecked(loc, nvfp4, QatRoundingStochastic);
  printAttr("nvfp4 stochastic", nvfp4sr);
  EXPECT(qatQuantizerAttrGetRounding(nvfp4sr) == QatRoundingStochastic);
  EXPECT(qatQuantizerAttrGetRounding(nvfp4) == QatRoundingNearest);
  EXPECT(mlirAttributeEqual(
      qatQuantizerAttrWithRoundingChecked(loc, nvfp4sr, QatRoundingNearest),
      nvfp4));
  // CHECK: nvfp4 stochastic: #qat.quantizer<e2m1, 4 bits, nvfp4, per_group<16>,
  // stochastic>

  // A quantizer built from C is the very attribute the parser makes.
  MlirAttribute parsed = mlirAttributeParseGet(
      ctx, mlirStringRefCreateFromCString(
               "#qat.quantizer<signed, 2 bits, learned, per_group<64>>"));
  printf("same as parsed: %d\n", mlirAttributeEqual(parsed, lsq));
  // CHECK: same as parsed: 1
}

static void testEstimators(MlirContext ctx, MlirLocation loc) {
  printf("@estimators\n");
  // CHECK-LABEL: @estimators
  MlirAttribute ste = qatSteAttrGet(ctx);
  printAttr("ste", ste);
  EXPECT(qatAttributeIsASteAttr(ste) && !qatAttributeIsAClipAttr(ste));
  EXPECT(qatAttributeIsAGradientEstimatorAttr(ste));
  EXPECT(!qatAttributeIsAQuantizerAttr(ste));
  EXPECT(mlirTypeIDEqual(mlirAttributeGetTypeID(ste), qatSteAttrGetTypeID()));
  // CHECK: ste: #qat.ste

  MlirAttribute clip = qatClipAttrGet(ctx);
  printAttr("clip", clip);
  EXPECT(qatAttributeIsAClipAttr(clip) && !qatAttributeIsASteAttr(clip));
  EXPECT(qatAttributeIsAGradientEstimatorAttr(clip));
  EXPECT(mlirTypeIDEqual(mlirAttributeGetTypeID(clip), qatClipAttrGetTypeID()));
  // CHECK: clip: #qat.clip

  MlirAttribute trust = qatTrustAttrGet(ctx);
  printAttr("trust", trust);
  EXPECT(qatAttributeIsATrustAttr(trust));
  EXPECT(qatAttributeIsAGradientEstimatorAttr(trust));
  EXPECT(
      mlirTypeIDEqual(mlirAttributeGetTypeID(trust), qatTrustAttrGetTypeID()));
  EXPECT(!qatTrustAttrHasFactor(trust) && isnan(qatTrustAttrGetFactor(trust)));
  // alpha_4 / 15 = 2.513930578568423 / 15.
  printf("T(4 bits) = %.6f, T(9 bits) is nan: %d\n",
         qatTrustAttrGetFactorForBits(trust, 4),
         isnan(qatTrustAttrGetFactorForBits(trust, 9)));
  // CHECK: trust: #qat.trust
  // CHECK: T(4 bits) = 0.167595, T(9 bits) is nan: 1

  MlirAttribute trust25 = qatTrustAttrGetChecked(loc, 0.25);
  printAttr("trust<0.25>", trust25);
  EXPECT(qatTrustAttrHasFactor(trust25));
  printf("factor %.2f, T(4 bits) = %.2f\n", qatTrustAttrGetFactor(trust25),
         qatTrustAttrGetFactorForBits(trust25, 4));
  MlirAttribute trustParsed = mlirAttributeParseGet(
      ctx, mlirStringRefCreateFromCString("#qat.trust<0.25>"));
  printf("same as parsed: %d\n", mlirAttributeEqual(trustParsed, trust25));
  // CHECK: trust<0.25>: #qat.trust<0.25>
  // CHECK: factor 0.25, T(4 bits) = 0.25
  // CHECK: same as parsed: 1

  MlirAttribute fourier = qatFourierAttrGet(ctx);
  printAttr("fourier", fourier);
  EXPECT(qatAttributeIsAFourierAttr(fourier));
  EXPECT(qatAttributeIsAGradientEstimatorAttr(fourier));
  EXPECT(mlirTypeIDEqual(mlirAttributeGetTypeID(fourier),
                         qatFourierAttrGetTypeID()));
  EXPECT(!qatFourierAttrHasAmplitudes(fourier));
  printf("default amplitudes: %ld x %.2f\n",
         (long)qatFourierAttrGetNumAmplitudes(fourier),
         qatFourierAttrGetAmplitude(fourier, 0));
  EXPECT(isnan(qatFourierAttrGetAmplitude(fourier, 1)));
  // CHECK: fourier: #qat.fourier
  // CHECK: default amplitudes: 1 x 0.21

  const double amplitudes[] = {0.2, 0.01};
  MlirAttribute fourier2 = qatFourierAttrGetChecked(loc, 2, amplitudes);
  printAttr("fourier2", fourier2);
  EXPECT(qatFourierAttrHasAmplitudes(fourier2));
  printf("amplitudes: %ld: %.2f %.2f\n",
         (long)qatFourierAttrGetNumAmplitudes(fourier2),
         qatFourierAttrGetAmplitude(fourier2, 0),
         qatFourierAttrGetAmplitude(fourier2, 1));
  // CHECK: fourier2: #qat.fourier<[0.2, 0.01]>
  // CHECK: amplitudes: 2: 0.20 0.01
}

static void testInvalidAttributes(MlirContext ctx, MlirLocation loc) {
  printf("@invalid\n");
  // CHECK-LABEL: @invalid
  MlirDiagnosticHandlerID handler =
      mlirContextAttachDiagnosticHandler(ctx, captureDiagnostic, NULL, NULL);

  numErrors = 0;
  MlirAttribute bits9 = qatQuantizerAttrGetChecked(loc, QatGridCentered, 9,
                                                   QatScaleMethodRmsGaussian,
                                                   QatGranularityPerRow, 0);
  printf("bits 9: null %d, errors %d\n", mlirAttributeIsNull(bits9), numErrors);
  EXPECT(mlirAttributeIsNull(bits9) && numErrors == 1);
  // CHECK: diagnostic at loc("capi.mlir":3:7): bits must be in [1, 8], got 9
  // CHECK: bits 9: null 1, errors 1

  numErrors = 0;
  const double unbounded[] = {0.2, -0.1};
  MlirAttribute fourier = qatFourierAttrGetChecked(loc, 2, unbounded);
  printf("unbounded fourier: null %d, errors %d\n",
         mlirAttributeIsNull(fourier), numErrors);
  EXPECT(mlirAttributeIsNull(fourier) && numErrors == 1);
  // CHECK: diagnostic at loc("capi.mlir":3:7): fourier amplitudes give
  // CHECK-SAME: sqrt(2)*pi*sum|a_k| = 1.3329, which must be < 1
  // CHECK: unbounded fourier: null 1, errors 1

  numErrors = 0;
  EXPECT(mlirAttributeIsNull(qatFourierAttrGetChecked(loc, 0, NULL)));
  EXPECT(mlirAttributeIsNull(qatTrustAttrGetChecked(loc, -1.0)));
  EXPECT(mlirAttributeIsNull(qatTrustAttrGetChecked(loc, NAN)));
  EXPECT(mlirAttributeIsNull(
      qatQuantizerAttrGetChecked(loc, QatGridCentered, 4, QatScaleMethodLearned,
                                 QatGranularityPerRow, 0)));
  EXPECT(mlirAttributeIsNull(qatQuantizerAttrGetChecked(
      loc, QatGridSigned, 4, QatScaleMethodAbsMax, QatGranularityPerGroup, 0)));
  EXPECT(mlirAttributeIsNull(qatQuantizerAttrGetChecked(
      loc, (QatGrid)7, 4, QatScaleMethodAbsMax, QatGranularityPerRow, 0)));
  MlirAttribute learned = qatQuantizerAttrGetChecked(
      loc, QatGridSigned, 2, QatScaleMethodLearned, QatGranularityPerRow, 0);
  EXPECT(mlirAttributeIsNull(
      qatQuantizerAttrWithRoundingChecked(loc, learned, (QatRounding)5)));
  printf("other invalid attributes: errors %d\n", numErrors);
  EXPECT(numErrors == 7);
  // CHECK: the fourier estimator needs at least one amplitude
  // CHECK: trust factor must be positive and finite, got -1.0{{.*}}
  // CHECK: trust factor must be positive and finite, got nan
  // CHECK: learned steps (LSQ) require the signed grid, got centered
  // CHECK: group size must be positive, got 0
  // CHECK: unknown quantization grid 7, expected 0 (centered), 1 (signed),
  // CHECK-SAME: 2 (e4m3), 3 (e5m2) or 4 (e2m1)
  // CHECK: unknown rounding 5, expected 0 (nearest) or 1 (stochastic)
  // CHECK: other invalid attributes: errors 7

  mlirContextDetachDiagnosticHandler(ctx, handler);
}

static void testAttributes(void) {
  MlirContext ctx = createContext();
  MlirLocation loc = mlirLocationFileLineColGet(
      ctx, mlirStringRefCreateFromCString("capi.mlir"), 3, 7);
  testQuantizer(ctx, loc);
  testEstimators(ctx, loc);
  testInvalidAttributes(ctx, loc);
  mlirContextDestroy(ctx);
}

//===----------------------------------------------------------------------===//
// Pass pipelines by name
//===----------------------------------------------------------------------===//

/// The parser reports an error in pieces; collect them into one line.
static char pipelineError[1024];

static void collectPipelineError(MlirStringRef piece, void *userData) {
  (void)userData;
  size_t used = strlen(pipelineError);
  size_t room = sizeof(pipelineError) - used - 1;
  size_t length = piece.length < room ? piece.length : room;
  memcpy(pipelineError + used, piece.data, length);
  pipelineError[used + length] = '\0';
}

/// Parses `pipeline` and runs it on `module`; prints the outcome.
static int runPipeline(MlirContext ctx, MlirModule module,
                       const char *pipeline) {
  MlirPassManager pm = mlirPassManagerCreate(ctx);
  pipelineError[0] = '\0';
  MlirLogicalResult parsed = mlirParsePassPipeline(
      mlirPassManagerGetAsOpPassManager(pm),
      mlirStringRefCreateFromCString(pipeline), collectPipelineError, NULL);
  if (mlirLogicalResultIsFailure(parsed))
    printf("pipeline error: %s\n", pipelineError);
  int succeeded = 0;
  if (mlirLogicalResultIsSuccess(parsed))
    succeeded = mlirLogicalResultIsSuccess(
        mlirPassManagerRunOnOp(pm, mlirModuleGetOperation(module)));
  printf("%s: %s\n", pipeline, succeeded ? "ok" : "failed");
  mlirPassManagerDestroy(pm);
  return succeeded;
}

/// Counts the operations outside the LLVM dialect (and builtin.module).
static MlirWalkResult countNonLLVMOps(MlirOperation op, void *userData) {
  MlirStringRef name = mlirIdentifierStr(mlirOperationGetName(op));
  int isLLVM = name.length > 5 && strncmp(name.data, "llvm.", 5) == 0;
  int isModule =
      name.length == 14 && strncmp(name.data, "builtin.module", 14) == 0;
  if (!isLLVM && !isModule)
    ++*(int *)userData;
  return MlirWalkResultAdvance;
}

/// qat-to-cpu on qat ops that survive canonicalization: nothing but the
/// LLVM dialect may remain.
static void testLoweringQATOps(MlirContext ctx) {
  MlirModule module =
      mlirModuleCreateParse(ctx, mlirStringRefCreateFromCString(kLayer));
  EXPECT(!mlirModuleIsNull(module));
  EXPECT(runPipeline(ctx, module, "builtin.module(qat-to-cpu)"));
  int leftover = 0;
  mlirOperationWalk(mlirModuleGetOperation(module), countNonLLVMOps, &leftover,
                    MlirWalkPreOrder);
  EXPECT(leftover == 0);
  printf("qat ops to LLVM: lowered\n");
  mlirModuleDestroy(module);
}

static void testPipelines(void) {
  printf("@pipelines\n");
  // CHECK-LABEL: @pipelines
  // Twice on purpose: bindings may register on every import.
  qatRegisterAllPasses();
  qatRegisterAllPasses();
  MlirContext ctx = createContext();

  MlirModule module =
      mlirModuleCreateParse(ctx, mlirStringRefCreateFromCString(kLayer));
  EXPECT(!mlirModuleIsNull(module));
  // The rotations around fake_quant cancel: H(H(y)) = y.
  EXPECT(runPipeline(ctx, module, "builtin.module(canonicalize)"));
  mlirOperationPrint(mlirModuleGetOperation(module), printToStdout, NULL);
  printf("\n");
  // CHECK: builtin.module(canonicalize): ok
  // CHECK: qat.hadamard
  // CHECK: qat.scale
  // CHECK: %[[Y:.*]] = qat.fake_quant
  // CHECK-NOT: qat.hadamard
  // CHECK: return %[[Y]]

  EXPECT(!runPipeline(ctx, module, "builtin.module(no-such-pass)"));
  // CHECK: pipeline error: {{.*}}'no-such-pass' does not refer to a
  // CHECK-SAME: registered pass or pass pipeline
  // CHECK: builtin.module(no-such-pass): failed
  mlirModuleDestroy(module);

  // qat-to-cpu, registered by qatRegisterAllPasses, on a module whose qat ops
  // fold away: what reaches the LLVM dialect is plain func/arith code.
  MlirModule rotations = mlirModuleCreateParse(
      ctx, mlirStringRefCreateFromCString(
               "func.func @rotations(%x: tensor<4x256xf32>) -> "
               "tensor<4x256xf32> {\n"
               "  %0 = qat.hadamard %x block 64 : tensor<4x256xf32>\n"
               "  %1 = qat.hadamard %0 block 64 : tensor<4x256xf32>\n"
               "  return %1 : tensor<4x256xf32>\n"
               "}\n"));
  EXPECT(!mlirModuleIsNull(rotations));
  EXPECT(runPipeline(ctx, rotations, "builtin.module(qat-to-cpu)"));
  mlirOperationPrint(mlirModuleGetOperation(rotations), printToStdout, NULL);
  printf("\n");
  // CHECK: builtin.module(qat-to-cpu): ok
  // CHECK: llvm.func @rotations
  // CHECK-NOT: qat.
  // CHECK: builtin.module(qat-to-cpu): ok
  // CHECK: qat ops to LLVM: lowered
  mlirModuleDestroy(rotations);

  testLoweringQATOps(ctx);
  mlirContextDestroy(ctx);
}

int main(void) {
  testRegistration();
  testParseVerifyPrint();
  testAttributes();
  testPipelines();
  printf("@done\n");
  // CHECK-LABEL: @done
  return 0;
}
