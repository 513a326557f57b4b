//===- ContractionKernelBuilder.cpp - What contraction kernels share ------===//
//
// ContractionKernelBuilderBase: arguments, conversions, the CTA order and the
// result epilogue of the mma.sync and wgmma kernels.
//
//===----------------------------------------------------------------------===//

#include "ContractionKernelBuilder.h"
#include "qat/Conversion/TensorCoreKernels/PersistentLaunch.h"

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
  if (hasManyLargeTiles(128)) {
    tileM = tileN = 128;
    warpsM = 2;
    warpsN = 4;
  } else {
    tileM = tileN = 64;
    warpsM = warpsN = 2;
  }
}

bool ContractionKernelSpec::hasManyLargeTiles(int64_t largeTileN) const {
  if (ShapedType::isDynamic(m) || ShapedType::isDynamic(batch))
    return true;
  return llvm::divideCeil(m, 128) * llvm::divideCeil(n, largeTileN) * batch >=
         kMinLargeTileCTAs;
}

std::string ContractionKernelSpec::getName() const {
  std::string name;
  llvm::raw_string_ostream os(name);
  auto size = [&](int64_t value) -> llvm::raw_ostream & {
    if (ShapedType::isDynamic(value))
      return os << "dyn";
    return os << value;
  };
  os << "qat_contraction_";
  if (batch != 1)
    size(batch) << "x";
  size(m) << "x" << n << "x";
  size(k) << "_"
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

Value mlir::qat::buildContractionSize(OpBuilder &builder, Location loc,
                                      const ContractionKernelSpec &spec,
                                      ContractionDim dim, Value lhs) {
  auto [size, position] =
      dim == ContractionDim::Batch ? std::pair{spec.batch, spec.lhs.batchDim}
      : dim == ContractionDim::M   ? std::pair{spec.m, spec.lhs.rowDim}
                                   : std::pair{spec.k, spec.lhs.colDim};
  if (!ShapedType::isDynamic(size))
    return arith::ConstantIndexOp::create(builder, loc, size);
  return memref::DimOp::create(builder, loc, lhs, position);
}

std::pair<Value, Value>
mlir::qat::buildContractionGrid(OpBuilder &builder, Location loc,
                                const ContractionKernelSpec &spec,
                                const ContractionKernel &kernel, Value lhs) {
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(builder, loc, value);
  };
  auto size = [&](ContractionDim dim) {
    return buildContractionSize(builder, loc, spec, dim, lhs);
  };
  bool staticM = !ShapedType::isDynamic(spec.m);
  bool staticBatch = !ShapedType::isDynamic(spec.batch);
  auto tilesPerBatch = [&]() -> Value {
    if (staticM)
      return index(spec.getGridX());
    Value tilesM = arith::CeilDivUIOp::create(
        builder, loc, size(ContractionDim::M), index(spec.tileM));
    int64_t tilesN = llvm::divideCeil(spec.n, spec.tileN);
    if (tilesN == 1)
      return tilesM;
    return arith::MulIOp::create(builder, loc, tilesM, index(tilesN));
  };
  if (spec.strategy == ContractionStrategy::MmaSync) {
    Value tiles = tilesPerBatch();
    return {tiles, size(ContractionDim::Batch)};
  }
  Value tiles;
  if (staticM && staticBatch) {
    tiles = index(spec.getGridX() * spec.batch);
  } else {
    tiles = tilesPerBatch();
    if (!staticBatch || spec.batch != 1)
      tiles = arith::MulIOp::create(builder, loc, tiles,
                                    size(ContractionDim::Batch));
  }
  if (kernel.persistent)
    tiles = buildPersistentGrid(builder, loc, tiles, spec.claimTiles);
  return {tiles, index(1)};
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
  auto size = [&](int64_t value, ContractionDim dim) {
    return ShapedType::isDynamic(value)
               ? buildContractionSize(b, b.getLoc(), spec, dim, lhs)
               : idx(value);
  };
  mSize = size(spec.m, ContractionDim::M);
  kSize = size(spec.k, ContractionDim::K);
  batchSize = size(spec.batch, ContractionDim::Batch);
  return arg;
}

Value ContractionKernelBuilderBase::countTilesM(int64_t tileM) {
  if (!ShapedType::isDynamic(spec.m))
    return idx(llvm::divideCeil(spec.m, tileM));
  return b.createOrFold<arith::CeilDivUIOp>(mSize, idx(tileM));
}

Value ContractionKernelBuilderBase::countTilesK(int64_t tileK) {
  if (!ShapedType::isDynamic(spec.k))
    return idx(llvm::divideCeil(spec.k, tileK));
  return b.createOrFold<arith::CeilDivUIOp>(kSize, idx(tileK));
}

Value ContractionKernelBuilderBase::lastRow() {
  if (!ShapedType::isDynamic(spec.m))
    return idx(spec.m - 1);
  return b.createOrFold<arith::SubIOp>(mSize, idx(1));
}

void ContractionKernelBuilderBase::computeTileOrigin(Value pid, int64_t tileM,
                                                     int64_t tileN) {
  bool dynamic = ShapedType::isDynamic(spec.m);
  std::tie(m0, n0) = groupedTileOrigin(
      pid, dynamic ? ShapedType::kDynamic : llvm::divideCeil(spec.m, tileM),
      dynamic ? countTilesM(tileM) : Value(), llvm::divideCeil(spec.n, tileN),
      tileM, tileN);
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
