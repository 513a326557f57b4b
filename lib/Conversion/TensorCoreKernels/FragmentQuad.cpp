//===- FragmentQuad.cpp - Wide stores of mma fragment results -------------===//
//
// transposeFragmentQuad: an mma fragment's 16-bit results regrouped over a
// quad of lanes so that each lane stores 8 consecutive columns.
//
//===----------------------------------------------------------------------===//

#include "qat/Conversion/TensorCoreKernels/KernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::qat;

Value mlir::qat::transposeFragmentQuad(ImplicitLocOpBuilder &b, Value quadLane,
                                       ArrayRef<Value> pairs) {
  assert(pairs.size() == 8 && "a pair for each of 4 blocks");
  Type type = pairs.front().getType();
  Type i32 = b.getI32Type();
  // Each pair as one 32-bit word.
  SmallVector<Value, 4> words;
  for (int64_t j = 0; j < 4; ++j) {
    Value pair = vector::FromElementsOp::create(b, VectorType::get({2}, type),
                                                pairs.slice(2 * j, 2));
    words.push_back(vector::ExtractOp::create(
        b, vector::BitCastOp::create(b, VectorType::get({1}, i32), pair),
        ArrayRef<int64_t>{0}));
  }
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
