//===- RowLayout.h - Where a row's chunks lie among threads -----*- C++ -*-===//
//
// The layouts of the fused row kernels (RowwiseKernelEmitter.cpp): which
// chunks of a row each thread holds, where a Hadamard butterfly finds its
// partner, and how a reduction over a whole row combines the threads in the
// summation order of the plain layout, so that every layout gives the same
// bits.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_LIB_CONVERSION_QATTOGPU_ROWLAYOUT_H
#define QAT_LIB_CONVERSION_QATTOGPU_ROWLAYOUT_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <utility>

namespace mlir::qat {

/// How the partial results of a reduction combine.
enum class Combine { Sum, Max };

/// lhs + rhs or max(lhs, rhs) (f32).
Value combine(ImplicitLocOpBuilder &b, Combine kind, Value lhs, Value rhs);

/// The gpu.subgroup_reduce operation of `kind`.
gpu::AllReduceOperation getReduceOperation(Combine kind);

/// Reduces `value` over the `size` lanes t, t ^ stride, t ^ 2*stride, ...
/// of each thread t's warp (gpu.subgroup_reduce with a cluster; lowered to
/// butterfly shuffles of strides stride, 2*stride, ..., each combined as
/// (own, other), the order the row kernels' reductions rely on for identical
/// bits in every lane).
Value reduceLanes(ImplicitLocOpBuilder &b, Value value, Combine kind,
                  int64_t size, int64_t stride);

/// How the chunks of a row (V consecutive elements each, one vector access)
/// are spread over the T threads of the row, each holding C of them:
///
///  * plain: chunk c = j * T + t is thread t's j-th chunk; consecutive
///    threads touch consecutive 16-byte pieces (coalesced).
///  * paired (C = 2, T a multiple of 32): a thread's two chunks differ in
///    chunk bit P < 5, so that the butterfly stage of that bit stays in
///    registers. Warp w still holds chunks 32w + [0, 32) and T + 32w +
///    [0, 32), lanes 0-15 the first run and 16-31 the second: lane L = 16h +
///    m holds chunks 32w + hT + c(m, j), c(m, j) = (m >> P) << (P + 1) |
///    j << P | m % 2^P. A warp's 16-byte accesses still cover whole 2^P-chunk
///    runs (128 bytes for P = 3).
///  * quad (C = 4, the paired layout with bit 3 and T' = 2T threads): chunk
///    bits 2 and 3 in registers, two butterfly stages. Lane L = 16h + 4b + q
///    of warp w holds chunks 64w + hT' + 16b + 4j + q.
///  * exchanged (the quad layout's Hadamard blocks of 16 chunks after one
///    exchange of the values through shared memory, which swaps chunk bits
///    0, 1 with 2, 3): lane 4k + q holds chunks 4q + j of its block, 4
///    consecutive chunks.
///
/// Reductions over a whole row keep the summation order of the plain layout
/// with getRowLanes() threads (the exchanged layout, which holds a tensor's
/// only copy, has its own).
class RowLayout {
public:
  static RowLayout getPlain(int64_t threads, int64_t chunksPerThread,
                            int64_t chunks);
  static RowLayout getPaired(int64_t threads, int64_t chunks, int64_t pairBit);
  static RowLayout getQuad(int64_t threads, int64_t chunks);

  /// Whether this layout has an exchanged form (getExchanged): the quad
  /// layout, whose Hadamard blocks of 16 chunks hold all their index bits
  /// but two in registers in either form.
  bool hasExchangedForm() const { return kind == Kind::Quad; }
  RowLayout getExchanged() const;

  //===--------------------------------------------------------------------===//
  // Chunks
  //===--------------------------------------------------------------------===//

  /// How far a thread's chunk j lies after its chunk 0.
  int64_t getChunkOffset(int64_t j) const;
  /// Where the chunk that differs from a thread's chunk in chunk bit
  /// `distance` (a power of two; 0 for a partner in the same chunk) lies:
  /// {chunkStep, 0}, in the thread's chunk j ^ chunkStep, or {0,
  /// threadStep}, in the same chunk j of thread t ^ threadStep.
  std::pair<int64_t, int64_t> getChunkPartner(int64_t distance) const;
  /// Whether a thread's chunk j may lie beyond the row (in the last chunk
  /// round of the plain layout; in any round of the others, whose rounds
  /// interleave).
  bool mayLieBeyondRow(int64_t j) const;
  /// Whether a thread's chunks are consecutive and lie in one Hadamard
  /// block, in the row or beyond it as a whole: one access covers them.
  bool hasContiguousChunks() const { return kind == Kind::Exchanged; }
  /// The thread's chunk 0 from its index `tx` in the row (and, for the
  /// exchanged layout, `unexchangedFirst`, the chunk 0 of the layout it is
  /// exchanged from).
  Value buildFirstChunk(ImplicitLocOpBuilder &b, Value tx,
                        Value unexchangedFirst = {}) const;

  //===--------------------------------------------------------------------===//
  // Reductions over whole rows
  //===--------------------------------------------------------------------===//

  /// The threads of the plain layout whose summation order the reductions
  /// keep: T, or 2T for the quad layout.
  int64_t getRowLanes() const { return kind == Kind::Quad ? 2 * T : T; }
  /// Reduces the partials of thread `tx` (one per chunk, 0 beyond the row)
  /// within its warp: every lane ends with the total of the warp of the
  /// plain order (getRowLanes() threads) that buildRowWarp names.
  Value reduceRowInWarp(ImplicitLocOpBuilder &b, Combine kind, Value tx,
                        ArrayRef<Value> partials) const;
  /// The warp of the plain order (of getRowLanes() lanes) whose total this
  /// thread holds after reduceRowInWarp, and whether it is the thread that
  /// stores that total (one per such warp). `warp` and `lane` are tx / 32
  /// and tx % 32.
  std::pair<Value, Value> buildRowWarp(ImplicitLocOpBuilder &b, Value tx,
                                       Value warp, Value lane) const;

private:
  enum class Kind { Plain, Paired, Quad, Exchanged };
  RowLayout(Kind kind, int64_t threads, int64_t chunksPerThread, int64_t chunks,
            int64_t pairBit = -1)
      : kind(kind), T(threads), C(chunksPerThread), K(chunks),
        pairBit(pairBit) {}

  Kind kind;
  /// Threads per row, chunks per thread, chunks per row.
  int64_t T, C, K;
  /// The paired layout's chunk bit P.
  int64_t pairBit;
};

} // namespace mlir::qat

#endif // QAT_LIB_CONVERSION_QATTOGPU_ROWLAYOUT_H
