//===- RowLayout.cpp - Where a row's chunks lie among threads ---*- C++ -*-===//
//
// The chunk positions, butterfly partners and whole-row reductions of each
// layout of the fused row kernels.
//
//===----------------------------------------------------------------------===//

#include "RowLayout.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <cassert>

using namespace mlir;
using namespace mlir::qat;

/// NVIDIA's warp.
static constexpr int64_t kWarp = 32;

Value mlir::qat::combine(ImplicitLocOpBuilder &b, Combine kind, Value lhs,
                         Value rhs) {
  if (kind == Combine::Sum)
    return arith::AddFOp::create(b, lhs, rhs);
  return arith::MaximumFOp::create(b, lhs, rhs);
}

gpu::AllReduceOperation mlir::qat::getReduceOperation(Combine kind) {
  return kind == Combine::Sum ? gpu::AllReduceOperation::ADD
                              : gpu::AllReduceOperation::MAXIMUMF;
}

Value mlir::qat::reduceLanes(ImplicitLocOpBuilder &b, Value value, Combine kind,
                             int64_t size, int64_t stride) {
  if (size == 1)
    return value;
  std::optional<uint32_t> clusterSize;
  if (size < kWarp)
    clusterSize = uint32_t(size);
  return gpu::SubgroupReduceOp::create(b, value, getReduceOperation(kind),
                                       /*uniform=*/true, clusterSize,
                                       uint32_t(stride));
}

static Value index(ImplicitLocOpBuilder &b, int64_t value) {
  return arith::ConstantIndexOp::create(b, value);
}

RowLayout RowLayout::getPlain(int64_t threads, int64_t chunksPerThread,
                              int64_t chunks) {
  return RowLayout(Kind::Plain, threads, chunksPerThread, chunks);
}

RowLayout RowLayout::getPaired(int64_t threads, int64_t chunks,
                               int64_t pairBit) {
  assert(threads % kWarp == 0 && pairBit >= 0 && pairBit < 5 &&
         "the paired layout pairs chunks of whole warps");
  return RowLayout(Kind::Paired, threads, 2, chunks, pairBit);
}

RowLayout RowLayout::getQuad(int64_t threads, int64_t chunks) {
  assert(threads % kWarp == 0 && "the quad layout holds whole warps");
  return RowLayout(Kind::Quad, threads, 4, chunks);
}

RowLayout RowLayout::getExchanged() const {
  assert(hasExchangedForm() && "only the quad layout has an exchanged form");
  return RowLayout(Kind::Exchanged, T, C, K);
}

int64_t RowLayout::getChunkOffset(int64_t j) const {
  switch (kind) {
  case Kind::Plain:
    return j * T;
  case Kind::Paired:
    return j << pairBit;
  case Kind::Quad:
    return 4 * j;
  case Kind::Exchanged:
    return j;
  }
  llvm_unreachable("unknown row layout");
}

std::pair<int64_t, int64_t> RowLayout::getChunkPartner(int64_t distance) const {
  int64_t chunkStep = 0, threadStep = distance;
  switch (kind) {
  case Kind::Plain:
    if (distance >= T)
      chunkStep = distance / T;
    break;
  case Kind::Paired: {
    int64_t pair = int64_t(1) << pairBit;
    if (distance == pair)
      chunkStep = 1;
    else if (distance < kWarp)
      threadStep = distance < pair ? distance : distance / 2;
    break;
  }
  case Kind::Quad:
    // Chunk bits 0, 1: lane bits 0, 1; 2, 3: the thread's chunks j; 4, 5:
    // lane bits 2, 3.
    if (distance == 4 || distance == 8)
      chunkStep = distance / 4;
    else if (distance >= 16)
      threadStep = distance / 4;
    break;
  case Kind::Exchanged:
    // Chunk bits 0, 1: the thread's chunks j; 2, 3: lane bits 0, 1; 4, 5:
    // lane bits 2, 3.
    if (distance < 4)
      chunkStep = distance;
    else
      threadStep = distance / 4;
    break;
  }
  if (chunkStep)
    threadStep = 0;
  return {chunkStep, threadStep};
}

bool RowLayout::mayLieBeyondRow(int64_t j) const {
  if (kind == Kind::Plain)
    return (j + 1) * T > K;
  return C * T > K;
}

Value RowLayout::buildFirstChunk(ImplicitLocOpBuilder &b, Value tx,
                                 Value unexchangedFirst) const {
  // A sum of (tx & mask) * factor: bit fields of the thread index moved to
  // their chunk bits.
  auto moveBits = [&](ArrayRef<std::pair<int64_t, int64_t>> fields) {
    Value sum;
    for (auto [mask, factor] : fields) {
      Value term = arith::AndIOp::create(b, tx, index(b, mask));
      if (factor != 1)
        term = arith::MulIOp::create(b, term, index(b, factor));
      sum = sum ? arith::AddIOp::create(b, sum, term).getResult() : term;
    }
    return sum;
  };
  switch (kind) {
  case Kind::Plain:
    return tx;
  case Kind::Paired: {
    // Lane L = 16h + m of warp w: chunk 32w + hT + c(m, 0), which is
    // tx + (m & ~(2^P - 1)) + h * (T - 16).
    int64_t low = (int64_t(1) << pairBit) - 1;
    Value moved = arith::AndIOp::create(b, tx, index(b, 15 & ~low));
    Value half = arith::AndIOp::create(b, tx, index(b, 16));
    return arith::AddIOp::create(
        b, arith::AddIOp::create(b, tx, moved),
        arith::MulIOp::create(b, half, index(b, (T - 16) / 16)));
  }
  case Kind::Quad:
    // Lane L = 16h + 4b + q of warp w: chunk 64w + 2Th + 16b + q (j = 0).
    return moveBits({{~int64_t(31), 2}, {12, 4}, {3, 1}, {16, 2 * T / 16}});
  case Kind::Exchanged:
    // Lane 4k + q: chunk 4q of the block whose chunk q it holds unexchanged,
    // unexchangedFirst + 3q.
    assert(unexchangedFirst && "the exchanged layout needs the quad's chunk");
    return arith::AddIOp::create(
        b, unexchangedFirst,
        arith::MulIOp::create(b, arith::AndIOp::create(b, tx, index(b, 3)),
                              index(b, 3)));
  }
  llvm_unreachable("unknown row layout");
}

Value RowLayout::reduceRowInWarp(ImplicitLocOpBuilder &b, Combine combineKind,
                                 Value tx, ArrayRef<Value> partials) const {
  auto upperHalf = [&] {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::ne,
                                 arith::AndIOp::create(b, tx, index(b, 16)),
                                 index(b, 0));
  };
  auto fromOtherHalf = [&](Value value) {
    return gpu::ShuffleOp::create(b, value, int32_t(16), int32_t(kWarp),
                                  gpu::ShuffleMode::XOR)
        .getShuffleResult();
  };
  switch (kind) {
  case Kind::Plain:
  case Kind::Exchanged: {
    // The thread's chunks, then the warp's lanes. (The exchanged layout's
    // values are a row's only copy: its sum need not match another
    // layout's.)
    Value total = partials[0];
    for (Value partial : partials.drop_front())
      total = combine(b, combineKind, total, partial);
    return reduceLanes(b, total, combineKind, std::min(T, kWarp), 1);
  }
  case Kind::Paired: {
    // The plain layout adds chunk t and chunk T + t in thread t. Here lane
    // L = 16h + m holds chunks 32w + hT + c(m, j): the two halves of the
    // warp trade the chunks the other one adds, lane m (h = 0) adds its
    // chunk 32w + c(m, 0) and the other half's chunk T + 32w + c(m, 0),
    // lane 16 + m the same for c(m, 1). That is the value of lane s(L) =
    // c(m, h) of the plain layout, in the other order for h = 1 (the same
    // bits: addition and maximum are commutative); s moves bit 4 of L to
    // bit P and bits P..3 one up. The butterfly then pairs lanes across the
    // renamed bits in the order of the subgroup reduction's lowering (own
    // value first, strides 1, 2, ..., 16 of the plain layout): plain strides
    // 1 .. pair/2 are lane strides 1 .. pair/2, plain stride pair is lane
    // 16, plain strides 2*pair .. 16 are lane strides pair .. 8.
    Value upper = upperHalf();
    Value kept = arith::SelectOp::create(b, upper, partials[1], partials[0]);
    Value sent = arith::SelectOp::create(b, upper, partials[0], partials[1]);
    Value total = combine(b, combineKind, kept, fromOtherHalf(sent));
    int64_t pair = int64_t(1) << pairBit;
    total = reduceLanes(b, total, combineKind, pair, /*stride=*/1);
    total = reduceLanes(b, total, combineKind, /*size=*/2, /*stride=*/16);
    return reduceLanes(b, total, combineKind, kWarp / 2 / pair, pair);
  }
  case Kind::Quad: {
    // The plain layout with T' = 2T threads adds chunks t and T' + t in
    // thread t. Lane 16h + m holds chunks 64w + hT' + o(m, j), o(m, j) =
    // 16b + 4j + q: the halves trade the chunks j = 2(1-h), 2(1-h) + 1, and
    // lane 16h + m adds, for j = 2h + k, both halves' chunks of offset
    // o(m, j): plain thread 64w + o(m, j) (commutative, the same bits). The
    // two sums a0, a1 are those of plain lanes (bit 2 = 0, 1) l = q + 4k +
    // 8h + 16 b0 of plain warp 2w + b1, in lane 16h + 4b + q. Plain strides
    // 1, 2: lane strides 1, 2; stride 4: the two registers; 8: lane 16; 16:
    // lane 4. Each lane ends with the total of plain warp 2w + (bit 3 of its
    // lane).
    Value upper = upperHalf();
    SmallVector<Value, 2> sums;
    for (int64_t k = 0; k < 2; ++k) {
      Value kept =
          arith::SelectOp::create(b, upper, partials[2 + k], partials[k]);
      Value sent =
          arith::SelectOp::create(b, upper, partials[k], partials[2 + k]);
      sums.push_back(combine(b, combineKind, kept, fromOtherHalf(sent)));
    }
    Value a0 = reduceLanes(b, sums[0], combineKind, /*size=*/4, /*stride=*/1);
    Value a1 = reduceLanes(b, sums[1], combineKind, /*size=*/4, /*stride=*/1);
    Value total = combine(b, combineKind, a0, a1);
    total = reduceLanes(b, total, combineKind, /*size=*/2, /*stride=*/16);
    return reduceLanes(b, total, combineKind, /*size=*/2, /*stride=*/4);
  }
  }
  llvm_unreachable("unknown row layout");
}

std::pair<Value, Value> RowLayout::buildRowWarp(ImplicitLocOpBuilder &b,
                                                Value tx, Value warp,
                                                Value lane) const {
  if (kind != Kind::Quad)
    return {warp, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane,
                                        index(b, 0))};
  // Plain warp 2w + (lane bit 3), stored by lanes 0 and 8.
  Value plainWarp = arith::AddIOp::create(
      b, arith::MulIOp::create(b, warp, index(b, 2)),
      arith::ShRUIOp::create(b, arith::AndIOp::create(b, tx, index(b, 8)),
                             index(b, 3)));
  Value leader = arith::CmpIOp::create(
      b, arith::CmpIPredicate::eq, arith::AndIOp::create(b, tx, index(b, 23)),
      index(b, 0));
  return {plainWarp, leader};
}
