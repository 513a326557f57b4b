//===- QATEnums.td - Enumerations of the qat dialect -------*- tablegen -*-===//
//
// The granularity and the rounding of a quantizer, and the names under which
// the C API and the Python bindings know the built-in grids and scale methods
// (their ABI). The grids and scale methods themselves are attributes
// (QATAttrs.td); a new one needs a case here only to be reachable from C or
// Python.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_DIALECT_QAT_IR_QATENUMS_TD
#define QAT_DIALECT_QAT_IR_QATENUMS_TD

include "mlir/IR/EnumAttr.td"

def QAT_Grid : I32EnumAttr<"Grid", "built-in quantization grid", [
    // QuEST: 2^b levels symmetric around zero, zero itself not a level.
    I32EnumAttrCase<"Centered", 0, "centered">,
    // LSQ/StableQAT: two's complement levels [-2^(b-1), 2^(b-1)-1], with zero.
    I32EnumAttrCase<"Signed", 1, "signed">,
    // Float element formats (their encodings are the codes): fp8 and fp4.
    I32EnumAttrCase<"E4M3", 2, "e4m3">,
    I32EnumAttrCase<"E5M2", 3, "e5m2">,
    I32EnumAttrCase<"E2M1", 4, "e2m1">]> {
  let cppNamespace = "::mlir::qat";
  let genSpecializedAttr = 0;
}

def QAT_ScaleMethod : I32EnumAttr<"ScaleMethod", "built-in scale method", [
    // c = alpha_b * rms(x) + 1e-8, MSE-optimal clip for a Gaussian (QuEST).
    I32EnumAttrCase<"RmsGaussian", 0, "rms_gaussian">,
    // c = max|x|.
    I32EnumAttrCase<"AbsMax", 1, "absmax">,
    // The step is a trained parameter (LSQ) and receives a gradient.
    I32EnumAttrCase<"Learned", 2, "learned">,
    // A power-of-two step per block, OCP Microscaling (float grids).
    I32EnumAttrCase<"Mx", 3, "mx">,
    // An e4m3 step per block under a per-tensor f32 scale (NVFP4, e2m1).
    I32EnumAttrCase<"NvFp4", 4, "nvfp4">]> {
  let cppNamespace = "::mlir::qat";
  let genSpecializedAttr = 0;
}

def QAT_Granularity : I32EnumAttr<"Granularity",
                                  "which elements share one step", [
    I32EnumAttrCase<"PerTensor", 0, "per_tensor">,
    // One step per row: the whole last dimension.
    I32EnumAttrCase<"PerRow", 1, "per_row">,
    // One step per group of G consecutive elements of the last dimension.
    I32EnumAttrCase<"PerGroup", 2, "per_group">]> {
  let cppNamespace = "::mlir::qat";
  let genSpecializedAttr = 0;
}

def QAT_Rounding : I32EnumAttr<"Rounding", "how values round onto the grid", [
    // Round to nearest, ties to even.
    I32EnumAttrCase<"Nearest", 0, "nearest">,
    // Up with probability equal to the fractional distance (unbiased), from
    // a counter-based generator keyed by a seed and the element's index.
    I32EnumAttrCase<"Stochastic", 1, "stochastic">]> {
  let cppNamespace = "::mlir::qat";
  let genSpecializedAttr = 0;
}

#endif // QAT_DIALECT_QAT_IR_QATENUMS_TD
