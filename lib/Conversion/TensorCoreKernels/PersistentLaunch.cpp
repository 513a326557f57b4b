//===- PersistentLaunch.cpp - Host side of persistent kernels -------------===//

#include "qat/Conversion/TensorCoreKernels/PersistentLaunch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace mlir::qat;

/// The runtime's `mgpuMultiprocessorCount() -> i32`, declared in `module`
/// if it is not yet.
static func::FuncOp getMultiprocessorCount(ModuleOp module) {
  constexpr StringLiteral kName = "mgpuMultiprocessorCount";
  if (auto existing = module.lookupSymbol<func::FuncOp>(kName))
    return existing;
  OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
  auto func =
      func::FuncOp::create(builder, module.getLoc(), kName,
                           builder.getFunctionType({}, builder.getI32Type()));
  func.setPrivate();
  return func;
}

Value mlir::qat::buildPersistentGrid(OpBuilder &builder, Location loc,
                                     Value tiles, bool claims,
                                     int64_t tilesPerSM) {
  auto module =
      builder.getInsertionBlock()->getParentOp()->getParentOfType<ModuleOp>();
  Value count = arith::IndexCastUIOp::create(
      builder, loc, builder.getIndexType(),
      func::CallOp::create(builder, loc, getMultiprocessorCount(module),
                           ValueRange{})
          .getResult(0));
  Value ctas = arith::MinUIOp::create(builder, loc, tiles, count);
  if (claims)
    return ctas;
  Value few = arith::CmpIOp::create(
      builder, loc, arith::CmpIPredicate::ule, tiles,
      arith::MulIOp::create(
          builder, loc, count,
          arith::ConstantIndexOp::create(builder, loc, tilesPerSM)));
  return arith::SelectOp::create(builder, loc, few, ctas, tiles);
}

Value mlir::qat::buildTileCounter(OpBuilder &builder, Location loc) {
  Value counter = memref::AllocOp::create(
      builder, loc, MemRefType::get({1}, builder.getI32Type()));
  gpu::MemsetOp::create(
      builder, loc, /*asyncToken=*/Type(), ValueRange(), counter,
      arith::ConstantIntOp::create(builder, loc, builder.getI32Type(), 0));
  return counter;
}
