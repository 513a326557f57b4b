//===- KernelBuilder.cpp - What the qat.matmul kernels share ----*- C++ -*-===//
//
// MatmulKernelBuilderBase: constants, index arithmetic, the CTA order and the
// epilogue's element math of the mma.sync and wgmma kernel builders.
//
//===----------------------------------------------------------------------===//

#include "MatmulKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::qat;

Value MatmulKernelBuilderBase::idx(int64_t value) {
  Value &constant = indexConstants[value];
  if (!constant) {
    OpBuilder atEntry = OpBuilder::atBlockBegin(entry);
    constant = arith::ConstantIndexOp::create(atEntry, b.getLoc(), value);
  }
  return constant;
}

Value MatmulKernelBuilderBase::i32(int64_t value) {
  Value &constant = i32Constants[value];
  if (!constant) {
    OpBuilder atEntry = OpBuilder::atBlockBegin(entry);
    constant = arith::ConstantIntOp::create(atEntry, b.getLoc(), b.getI32Type(),
                                            value);
  }
  return constant;
}

Value MatmulKernelBuilderBase::add(Value x, Value y) {
  return b.createOrFold<arith::AddIOp>(x, y);
}

Value MatmulKernelBuilderBase::mul(Value x, int64_t y) {
  return b.createOrFold<arith::MulIOp>(x, idx(y));
}

Value MatmulKernelBuilderBase::shr(Value x, int64_t y) {
  return b.createOrFold<arith::ShRUIOp>(x, idx(y));
}

Value MatmulKernelBuilderBase::shl(Value x, int64_t y) {
  return b.createOrFold<arith::ShLIOp>(x, idx(y));
}

Value MatmulKernelBuilderBase::bitAnd(Value x, int64_t y) {
  return b.createOrFold<arith::AndIOp>(x, idx(y));
}

Value MatmulKernelBuilderBase::ult(Value x, Value y) {
  return b.createOrFold<arith::CmpIOp>(arith::CmpIPredicate::ult, x, y);
}

void MatmulKernelBuilderBase::computeTileOrigin(Value pid, int64_t tileM,
                                                int64_t tileN) {
  constexpr int64_t kRasterGroupM = 8;
  int64_t tilesN = llvm::divideCeil(spec.n, tileN);
  // With M dynamic, the grouping assumes full groups of kRasterGroupM tile
  // rows and clamps the last one at run time like a static M that groupM
  // does not divide.
  int64_t tilesM = dynamicM() ? kRasterGroupM : llvm::divideCeil(spec.m, tileM);
  int64_t groupM = std::min(kRasterGroupM, tilesM);
  Value perGroup = idx(groupM * tilesN);
  Value group = b.createOrFold<arith::DivUIOp>(pid, perGroup);
  Value firstM = mul(group, groupM);
  // The last group of tile rows may be shorter.
  Value tilesMValue =
      dynamicM() ? b.createOrFold<arith::CeilDivUIOp>(mRows, idx(tileM))
                 : idx(tilesM);
  Value groupSize =
      !dynamicM() && tilesM % groupM == 0
          ? idx(groupM)
          : b.createOrFold<arith::MinUIOp>(
                b.createOrFold<arith::SubIOp>(tilesMValue, firstM),
                idx(groupM));
  Value inGroup = b.createOrFold<arith::RemUIOp>(pid, perGroup);
  Value pidM = add(firstM, b.createOrFold<arith::RemUIOp>(inGroup, groupSize));
  Value pidN = b.createOrFold<arith::DivUIOp>(inGroup, groupSize);
  m0 = mul(pidM, tileM);
  n0 = mul(pidN, tileN);
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
  Type f32 = b.getF32Type();
  Value value = arith::MulFOp::create(
      b, arith::MulFOp::create(b, arith::SIToFPOp::create(b, f32, t), rowScale),
      colScale);
  if (spec.resultElementType != f32)
    value = arith::TruncFOp::create(b, spec.resultElementType, value);
  return value;
}

void MatmulKernelBuilderBase::emitGuarded(Value condition,
                                          function_ref<void()> store) {
  if (!condition) {
    store();
    return;
  }
  auto ifOp = scf::IfOp::create(b, condition, /*withElseRegion=*/false);
  ImplicitLocOpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  store();
}

Value MatmulKernelBuilderBase::both(Value x, Value y) {
  if (!x || !y)
    return x ? x : y;
  return arith::AndIOp::create(b, x, y);
}

Value mlir::qat::transposeFragmentQuad(ImplicitLocOpBuilder &b, Value quadLane,
                                       ArrayRef<Value> words, Type type) {
  assert(words.size() == 4 && "a word for each of 4 blocks");
  Type i32 = b.getI32Type();
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, value);
  };
  // The word at the dynamic position `at` (0-3) of `values`.
  auto pick = [&](ArrayRef<Value> values, Value at) {
    Value picked = values[0];
    for (int64_t k = 1; k < 4; ++k)
      picked = arith::SelectOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, at, index(k)),
          values[k], picked);
    return picked;
  };
  // Lane q has pair q of each block j and wants the pairs of block q. In
  // round i it sends its pair of block q ^ i to lane q ^ i, from which it
  // gets that lane's pair of block q: pair q ^ i of block q.
  SmallVector<Value, 4> received = {pick(words, quadLane)};
  for (int64_t i = 1; i < 4; ++i) {
    Value sent = pick(words, arith::XOrIOp::create(b, quadLane, index(i)));
    received.push_back(
        gpu::ShuffleOp::create(b, sent, arith::ConstantIntOp::create(b, i32, i),
                               arith::ConstantIntOp::create(b, i32, 32),
                               gpu::ShuffleMode::XOR)
            .getShuffleResult());
  }
  SmallVector<Value, 4> ordered;
  for (int64_t r = 0; r < 4; ++r)
    ordered.push_back(
        pick(received, arith::XOrIOp::create(b, quadLane, index(r))));
  return vector::BitCastOp::create(
      b, VectorType::get({8}, type),
      vector::FromElementsOp::create(b, VectorType::get({4}, i32), ordered));
}
