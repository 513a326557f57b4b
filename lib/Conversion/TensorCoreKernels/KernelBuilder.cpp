//===- KernelBuilder.cpp - What tensor-core kernel builders share ---------===//
//
// KernelBuilder: constants, index arithmetic, guarded stores and the grouped
// order of the CTA tiles.
//
//===----------------------------------------------------------------------===//

#include "qat/Conversion/TensorCoreKernels/KernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace mlir::qat;

Value KernelBuilder::idx(int64_t value) {
  Value &constant = indexConstants[value];
  if (!constant) {
    OpBuilder atEntry = OpBuilder::atBlockBegin(entry);
    constant = arith::ConstantIndexOp::create(atEntry, b.getLoc(), value);
  }
  return constant;
}

Value KernelBuilder::i32(int64_t value) {
  Value &constant = i32Constants[value];
  if (!constant) {
    OpBuilder atEntry = OpBuilder::atBlockBegin(entry);
    constant = arith::ConstantIntOp::create(atEntry, b.getLoc(), b.getI32Type(),
                                            value);
  }
  return constant;
}

Value KernelBuilder::add(Value x, Value y) {
  return b.createOrFold<arith::AddIOp>(x, y);
}

Value KernelBuilder::mul(Value x, int64_t y) {
  return b.createOrFold<arith::MulIOp>(x, idx(y));
}

Value KernelBuilder::shr(Value x, int64_t y) {
  return y ? b.createOrFold<arith::ShRUIOp>(x, idx(y)) : x;
}

Value KernelBuilder::shl(Value x, int64_t y) {
  return y ? b.createOrFold<arith::ShLIOp>(x, idx(y)) : x;
}

Value KernelBuilder::bitAnd(Value x, int64_t y) {
  return b.createOrFold<arith::AndIOp>(x, idx(y));
}

Value KernelBuilder::ult(Value x, Value y) {
  return b.createOrFold<arith::CmpIOp>(arith::CmpIPredicate::ult, x, y);
}

Value KernelBuilder::both(Value x, Value y) {
  if (!x || !y)
    return x ? x : y;
  return arith::AndIOp::create(b, x, y);
}

void KernelBuilder::emitGuarded(Value condition,
                                llvm::function_ref<void()> emit) {
  if (!condition) {
    emit();
    return;
  }
  auto ifOp = scf::IfOp::create(b, condition, /*withElseRegion=*/false);
  ImplicitLocOpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  emit();
}

std::pair<Value, Value>
KernelBuilder::groupedTileOrigin(Value pid, int64_t tilesM, Value tilesMValue,
                                 int64_t tilesN, int64_t tileM, int64_t tileN) {
  constexpr int64_t kRasterGroupM = 8;
  bool dynamic = ShapedType::isDynamic(tilesM);
  int64_t groupM = dynamic ? kRasterGroupM : std::min(kRasterGroupM, tilesM);
  Value perGroup = idx(groupM * tilesN);
  Value group = b.createOrFold<arith::DivUIOp>(pid, perGroup);
  Value firstM = mul(group, groupM);
  // The last group of tile rows may be shorter.
  Value groupSize = !dynamic && tilesM % groupM == 0
                        ? idx(groupM)
                        : b.createOrFold<arith::MinUIOp>(
                              b.createOrFold<arith::SubIOp>(
                                  dynamic ? tilesMValue : idx(tilesM), firstM),
                              idx(groupM));
  Value inGroup = b.createOrFold<arith::RemUIOp>(pid, perGroup);
  Value pidM = add(firstM, b.createOrFold<arith::RemUIOp>(inGroup, groupSize));
  Value pidN = b.createOrFold<arith::DivUIOp>(inGroup, groupSize);
  return {mul(pidM, tileM), mul(pidN, tileN)};
}
