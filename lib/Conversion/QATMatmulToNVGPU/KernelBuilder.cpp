//===- KernelBuilder.cpp - What the qat.matmul kernels share ----*- C++ -*-===//
//
// MatmulKernelBuilderBase: the CTA order with M static or dynamic and the
// epilogue's element math of the mma.sync and wgmma kernel builders.
//
//===----------------------------------------------------------------------===//

#include "MatmulKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::qat;

void MatmulKernelBuilderBase::computeTileOrigin(Value pid, int64_t tileM,
                                                int64_t tileN) {
  // With M dynamic, the grouping assumes full groups of tile rows and clamps
  // the last one at run time.
  std::tie(m0, n0) = groupedTileOrigin(
      pid, dynamicM() ? ShapedType::kDynamic : llvm::divideCeil(spec.m, tileM),
      dynamicM() ? b.createOrFold<arith::CeilDivUIOp>(mRows, idx(tileM))
                 : Value(),
      llvm::divideCeil(spec.n, tileN), tileM, tileN);
}

Value MatmulKernelBuilderBase::loadStep(Value steps, Value row) {
  Value step = memref::LoadOp::create(b, steps, ValueRange{row, idx(0)});
  unsigned width = step.getType().getIntOrFloatBitWidth();
  if (width < 32)
    return arith::ExtFOp::create(b, b.getF32Type(), step);
  if (width > 32)
    return arith::TruncFOp::create(b, b.getF32Type(), step);
  return step;
}

Value MatmulKernelBuilderBase::dequantize(
    const EpilogueCoefficients &coefficients, Value acc, Value lhsRowSum,
    Value rhsRowSum, Value rowScale, Value colScale) {
  Type f32 = b.getF32Type();
  // An f32 accumulator (fp8 codes) holds the sum of the levels already.
  if (acc.getType() == f32)
    return scaleProduct(acc, rowScale, colScale);
  // Exact integer part of the epilogue (see EpilogueCoefficients). Every
  // product of unpacked 4-bit codes is a multiple of 2^accShift: the shift
  // is exact.
  Value t = acc;
  if (coefficients.accShift != 0)
    t = arith::ShRSIOp::create(b, t, i32(coefficients.accShift));
  if (coefficients.accFactor != 1)
    t = arith::MulIOp::create(b, t, i32(coefficients.accFactor));
  auto addScaled = [&](Value sum, int32_t factor) {
    if (factor != 1)
      sum = arith::MulIOp::create(b, sum, i32(factor));
    t = arith::AddIOp::create(b, t, sum);
  };
  if (coefficients.needsLhsRowSums())
    addScaled(lhsRowSum, coefficients.lhsRowSumFactor);
  if (coefficients.needsRhsRowSums())
    addScaled(rhsRowSum, coefficients.rhsRowSumFactor);
  if (coefficients.constant != 0)
    t = arith::AddIOp::create(b, t, i32(coefficients.constant));
  return scaleProduct(arith::SIToFPOp::create(b, f32, t), rowScale, colScale);
}

Value MatmulKernelBuilderBase::scaleProduct(Value sum, Value rowScale,
                                            Value colScale) {
  Value value = arith::MulFOp::create(
      b, arith::MulFOp::create(b, sum, rowScale), colScale);
  if (spec.resultElementType != value.getType())
    value = arith::TruncFOp::create(b, spec.resultElementType, value);
  return value;
}

Value mlir::qat::accumulateBytes(ImplicitLocOpBuilder &b, Value bytes,
                                 Value sum) {
  auto vec4xi8 = VectorType::get({4}, b.getI8Type());
  Value ones = arith::ConstantOp::create(
      b, DenseElementsAttr::get(vec4xi8, b.getI8IntegerAttr(1)));
  for (int64_t word = 0; word < 4; ++word) {
    Value four = vector::ShuffleOp::create(
        b, bytes, bytes,
        ArrayRef<int64_t>{4 * word, 4 * word + 1, 4 * word + 2, 4 * word + 3});
    sum = NVVM::DotAccumulate4WayOp::create(
        b, b.getI32Type(), four, NVVM::DotAccumulateType::SIGNED, ones,
        NVVM::DotAccumulateType::SIGNED, sum);
  }
  return sum;
}
