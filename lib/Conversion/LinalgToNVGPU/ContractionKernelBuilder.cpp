//===- ContractionKernelBuilder.cpp - What contraction kernels share ------===//
//
// ContractionKernelBuilderBase: arguments, conversions, the CTA order and the
// result epilogue of the mma.sync and wgmma kernels.
//
//===----------------------------------------------------------------------===//

#include "ContractionKernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::qat;

//===----------------------------------------------------------------------===//
// ContractionKernelSpec
//===----------------------------------------------------------------------===//

void ContractionKernelSpec::chooseTiles() {
  if (strategy == ContractionStrategy::Wgmma) {
    chooseWgmmaTiles(*this);
    return;
  }
  int64_t largeCTAs =
      llvm::divideCeil(m, 128) * llvm::divideCeil(n, 128) * batch;
  if (largeCTAs >= kMinLargeTileCTAs) {
    tileM = tileN = 128;
    warpsM = 2;
    warpsN = 4;
  } else {
    tileM = tileN = 64;
    warpsM = warpsN = 2;
  }
}

std::string ContractionKernelSpec::getName() const {
  std::string name;
  llvm::raw_string_ostream os(name);
  os << "qat_contraction_";
  if (batch != 1)
    os << batch << "x";
  os << m << "x" << n << "x" << k << "_"
     << (computeType.isF32() ? std::string("tf32")
                             : [&] {
                                 std::string type;
                                 llvm::raw_string_ostream ts(type);
                                 ts << computeType;
                                 return type;
                               }())
     << "_" << out.elementType << "_" << tileM << "x" << tileN;
  if (strategy == ContractionStrategy::Wgmma)
    os << "_wgmma";
  if (claimTiles)
    os << "_claimed";
  if (epilogue)
    os << "_epilogue";
  return name;
}

bool ContractionKernelSpec::operator==(
    const ContractionKernelSpec &other) const {
  return batch == other.batch && m == other.m && n == other.n && k == other.k &&
         lhs == other.lhs && rhs == other.rhs && out == other.out &&
         accumulate == other.accumulate && computeType == other.computeType &&
         epilogue == other.epilogue && tileM == other.tileM &&
         tileN == other.tileN && warpsM == other.warpsM &&
         warpsN == other.warpsN && strategy == other.strategy &&
         stages == other.stages && claimTiles == other.claimTiles;
}

//===----------------------------------------------------------------------===//
// ContractionKernelBuilderBase
//===----------------------------------------------------------------------===//

Value mlir::qat::convertFloat(OpBuilder &builder, Location loc, Value value,
                              Type to) {
  Type from = getElementTypeOrSelf(value.getType());
  if (from == to)
    return value;
  Type type = to, f32 = builder.getF32Type();
  if (auto vector = dyn_cast<VectorType>(value.getType())) {
    type = vector.clone(to);
    f32 = vector.clone(f32);
  }
  if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
    return arith::ExtFOp::create(builder, loc, type, value);
  if (from.getIntOrFloatBitWidth() > to.getIntOrFloatBitWidth())
    return arith::TruncFOp::create(builder, loc, type, value);
  // f16 <-> bf16: through f32, exact on the way up.
  return arith::TruncFOp::create(
      builder, loc, type, arith::ExtFOp::create(builder, loc, f32, value));
}

Value ContractionKernelBuilderBase::convert(Value value, Type to) {
  return convertFloat(b, b.getLoc(), value, to);
}

SmallVector<Value>
ContractionKernelBuilderBase::indices(const ContractionOperand &operand,
                                      Value row, Value col) {
  SmallVector<Value> result(operand.shape.size());
  if (operand.batchDim >= 0)
    result[operand.batchDim] = batchIndex;
  result[operand.rowDim] = row;
  result[operand.colDim] = col;
  return result;
}

unsigned ContractionKernelBuilderBase::bindArguments(gpu::GPUFuncOp func) {
  entry = &func.getBody().front();
  b.setInsertionPointToStart(entry);
  unsigned arg = 0;
  lhs = entry->getArgument(arg++);
  rhs = entry->getArgument(arg++);
  if (spec.accumulate)
    init = entry->getArgument(arg++);
  if (spec.epilogue) {
    for (const EpilogueOperand &operand : spec.epilogue->operands)
      if (operand.kind == EpilogueOperand::Kind::Buffer)
        epilogueBuffers.push_back(entry->getArgument(arg++));
    llvm::SetVector<Value> captured;
    getUsedValuesDefinedAbove(*spec.epilogue->body, captured);
    for (Value value : captured)
      epilogueConstants.map(
          value, b.clone(*value.getDefiningOp())
                     ->getResult(cast<OpResult>(value).getResultNumber()));
  }
  result = entry->getArgument(arg++);
  return arg;
}

void ContractionKernelBuilderBase::computeTileOrigin(Value pid, int64_t tileM,
                                                     int64_t tileN) {
  std::tie(m0, n0) =
      groupedTileOrigin(pid, llvm::divideCeil(spec.m, tileM), Value(),
                        llvm::divideCeil(spec.n, tileN), tileM, tileN);
}

Value ContractionKernelBuilderBase::applyEpilogue(Value element, Value row,
                                                  Value col) {
  if (!spec.epilogue)
    return element;
  Block &body = spec.epilogue->body->front();
  IRMapping mapping = epilogueConstants;
  auto buffer = epilogueBuffers.begin();
  for (auto [operand, argument] :
       llvm::zip_equal(spec.epilogue->operands, body.getArguments())) {
    switch (operand.kind) {
    case EpilogueOperand::Kind::Result:
      mapping.map(argument, element);
      break;
    case EpilogueOperand::Kind::Buffer: {
      SmallVector<Value> at;
      for (EpilogueOperand::Role role : operand.roles)
        at.push_back(role == EpilogueOperand::Role::Batch ? batchIndex
                     : role == EpilogueOperand::Role::Row ? row
                                                          : col);
      mapping.map(argument, memref::LoadOp::create(b, *buffer++, at));
      break;
    }
    case EpilogueOperand::Kind::Unused:
      break;
    }
  }
  for (Operation &op : body.without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(op)) {
      // The op's loops are the result's dimensions.
      int64_t dim = index.getDim();
      mapping.map(index.getResult(), dim == spec.out.batchDim ? batchIndex
                                     : dim == spec.out.rowDim ? row
                                                              : col);
      continue;
    }
    b.clone(op, mapping);
  }
  return mapping.lookup(body.getTerminator()->getOperand(0));
}

void ContractionKernelBuilderBase::storePair(Value row, Value col,
                                             Value rowInBounds, bool guardCols,
                                             ArrayRef<Value> pair) {
  Type resultType =
      spec.epilogue ? spec.epilogue->resultType : spec.out.elementType;
  auto value = [&](int64_t e, Value initValue) {
    Value sum = pair[e];
    if (initValue)
      sum = arith::AddFOp::create(b, sum, convert(initValue, b.getF32Type()));
    return applyEpilogue(convert(sum, spec.out.elementType), row, add(col, e));
  };
  // Pairs of adjacent columns start at even columns; with N even they are
  // either both in bounds or both out, and aligned for one vector access.
  if (spec.out.colsContiguous() && spec.n % 2 == 0) {
    Value inBounds = both(rowInBounds, guardCols ? ult(col, spec.n) : Value());
    emitGuarded(inBounds, [&] {
      vector::StoreOp::create(
          b,
          vector::FromElementsOp::create(b, VectorType::get({2}, resultType),
                                         resultPair(row, col, pair)),
          result, indices(spec.out, row, col), /*nontemporal=*/false,
          llvm::MaybeAlign(resultType.getIntOrFloatBitWidth() / 4));
    });
    return;
  }
  for (int64_t e : {0, 1}) {
    Value column = add(col, e);
    Value inBounds =
        both(rowInBounds,
             guardCols || spec.n % 2 != 0 ? ult(column, spec.n) : Value());
    emitGuarded(inBounds, [&] {
      SmallVector<Value> at = indices(spec.out, row, column);
      Value initValue;
      if (spec.accumulate)
        initValue = memref::LoadOp::create(b, init, at);
      memref::StoreOp::create(b, value(e, initValue), result, at);
    });
  }
}

SmallVector<Value, 2>
ContractionKernelBuilderBase::resultPair(Value row, Value col,
                                         ArrayRef<Value> pair) {
  Value initPair;
  if (spec.accumulate)
    initPair = vector::LoadOp::create(
        b, VectorType::get({2}, spec.out.elementType), init,
        indices(spec.out, row, col), /*nontemporal=*/false,
        llvm::MaybeAlign(spec.out.elementType.getIntOrFloatBitWidth() / 4));
  SmallVector<Value, 2> values;
  for (int64_t e : {0, 1}) {
    Value sum = pair[e];
    if (initPair)
      sum = arith::AddFOp::create(
          b, sum,
          convert(vector::ExtractOp::create(b, initPair, ArrayRef<int64_t>{e}),
                  b.getF32Type()));
    values.push_back(
        applyEpilogue(convert(sum, spec.out.elementType), row, add(col, e)));
  }
  return values;
}

bool ContractionKernelBuilderBase::canStoreBlocks(int64_t tileN) const {
  Type resultType =
      spec.epilogue ? spec.epilogue->resultType : spec.out.elementType;
  return resultType.getIntOrFloatBitWidth() == 16 &&
         spec.out.colsContiguous() && spec.n % tileN == 0 && tileN % 32 == 0;
}

void ContractionKernelBuilderBase::storeBlocks(Value row, Value rowInBounds,
                                               Value col0, Value quadLane,
                                               ArrayRef<Value> pairs) {
  Value block = transposeFragmentQuad(b, quadLane, pairs);
  emitGuarded(rowInBounds, [&] {
    vector::StoreOp::create(b, block, result,
                            indices(spec.out, row, add(col0, mul(quadLane, 8))),
                            /*nontemporal=*/false, llvm::MaybeAlign(16));
  });
}

gpu::GPUFuncOp mlir::qat::buildContractionKernelFunc(
    OpBuilder &builder, Location loc, gpu::GPUModuleOp module,
    const ContractionKernelSpec &spec, StringRef name, TypeRange extra) {
  auto memref = [](const ContractionOperand &operand) {
    return MemRefType::get(operand.shape, operand.elementType);
  };
  SmallVector<Type> arguments = {memref(spec.lhs), memref(spec.rhs)};
  if (spec.accumulate)
    arguments.push_back(memref(spec.out));
  Type resultType = spec.out.elementType;
  if (spec.epilogue) {
    for (const EpilogueOperand &operand : spec.epilogue->operands)
      if (operand.kind == EpilogueOperand::Kind::Buffer)
        arguments.push_back(
            MemRefType::get(operand.shape, operand.elementType));
    resultType = spec.epilogue->resultType;
  }
  arguments.push_back(MemRefType::get(spec.out.shape, resultType));
  arguments.append(extra.begin(), extra.end());
  auto func = gpu::GPUFuncOp::create(builder, loc, name,
                                     builder.getFunctionType(arguments, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(),
                builder.getUnitAttr());
  func.setKnownBlockSizeAttr(builder.getDenseI32ArrayAttr(
      {static_cast<int32_t>(spec.getThreads()), 1, 1}));
  return func;
}
