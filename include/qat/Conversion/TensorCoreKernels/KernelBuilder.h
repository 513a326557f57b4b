//===- KernelBuilder.h - What tensor-core kernel builders share -*- C++ -*-===//
//
// The base of the builders of qat's tensor-core kernels (qat.matmul's and the
// float contractions', mma.sync and wgmma): constants, index arithmetic, the
// order of the CTA tiles, guarded stores, the storage and roles of the
// warp-specialized wgmma kernels, and the transpose of an mma fragment's
// results for wide stores.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_CONVERSION_TENSORCOREKERNELS_KERNELBUILDER_H
#define QAT_CONVERSION_TENSORCOREKERNELS_KERNELBUILDER_H

#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <utility>

namespace mlir::qat {

/// Spin hint of mbarrier.try_wait (upstream's examples use the same).
constexpr int64_t kMBarrierWaitTicks = 10000000;

/// Tiles claimed ahead by the producer of a kernel that claims its tiles
/// (KernelBuilder::beginTileLoop), and the shared memory their slots take.
constexpr int64_t kTileClaimSlots = 2;
constexpr int64_t kTileClaimSlotBytes = 4 * kTileClaimSlots;

/// Index and int32 constants created once, at the kernel's entry (`entry`,
/// set by the derived builder before the first use); index arithmetic folded
/// where operands are constant.
class KernelBuilder {
protected:
  explicit KernelBuilder(ImplicitLocOpBuilder &b) : b(b) {}

  Value idx(int64_t value);
  Value i32(int64_t value);
  Value add(Value x, Value y);
  Value add(Value x, int64_t y) { return y ? add(x, idx(y)) : x; }
  Value mul(Value x, int64_t y);
  Value shr(Value x, int64_t y);
  Value shl(Value x, int64_t y);
  Value bitAnd(Value x, int64_t y);
  Value ult(Value x, int64_t y) { return ult(x, idx(y)); }
  Value ult(Value x, Value y);
  /// x && y where either may be absent (always true).
  Value both(Value x, Value y);
  /// Emits `emit` under `condition`, or unconditionally without one.
  void emitGuarded(Value condition, llvm::function_ref<void()> emit);

  /// The first row and column of CTA tile `pid` of tileM x tileN tiles,
  /// `tilesN` of them a row: CTAs along N within groups of 8 tile rows, so
  /// that the CTAs resident together share A and B panels in L2. `tilesM`
  /// may be ShapedType::kDynamic, with `tilesMValue` the count at run time:
  /// the last group is then clamped at run time.
  std::pair<Value, Value> groupedTileOrigin(Value pid, int64_t tilesM,
                                            Value tilesMValue, int64_t tilesN,
                                            int64_t tileM, int64_t tileN);

  /// The mbarriers of a warp-specialized kernel with `stages` stages.
  static int64_t getWarpSpecializedBarriers(int64_t stages, bool claimTiles) {
    return 2 * stages + (claimTiles ? 2 * kTileClaimSlots : 0);
  }

  /// The storage of a warp-specialized wgmma kernel (consumerThreads
  /// consumer threads, then a producer warpgroup): `bytes` of its dynamic
  /// shared memory from the first multiple of 1024 bytes (the 128-byte
  /// swizzle's period) past the memory's start and past the mbarriers of
  /// `barrierType` (getWarpSpecializedBarriers: full[s] at s with one
  /// arrival, empty[s] at stages + s with consumerThreads; with claimTiles
  /// then the claim slots' full[i] at 2 stages + i with one arrival and
  /// empty[i] at 2 stages + kTileClaimSlots + i with consumerThreads), which
  /// thread `tid` 0 initializes and fences for the async proxy before a CTA
  /// barrier. With claimTiles the claim slots (kTileClaimSlots i32) follow the
  /// bytes, which the kernel's shared memory must leave room for.
  struct WarpSpecializedStorage {
    /// The bytes (an i8 memref), their shared-memory address, the mbarrier
    /// group and the claim slots (or null).
    Value bytes, address, barriers, claimSlots;
    int64_t stages = 0;
  };
  WarpSpecializedStorage createWarpSpecializedStorage(
      Value tid, nvgpu::MBarrierGroupType barrierType, int64_t stages,
      int64_t bytes, int64_t consumerThreads, bool claimTiles = false);
  /// Starts the loop of a persistent warp-specialized kernel over its CTA's
  /// tiles out of [0, tiles), each of kTiles K tiles, leaving the builder in
  /// the loop's body; returns the tile and the rounds before it (the CTA's
  /// K tiles so far, which the stages and phases follow). Without a
  /// `counter`, CTA c takes tiles c, c + gridDim.x, ...; with one (an i32
  /// memref<1> that is zero at launch), the producer thread claims each
  /// next tile with an atomic add and passes it to the consumers through a
  /// claim slot, and every side stops at the first tile past the last.
  std::pair<Value, Value> beginTileLoop(const WarpSpecializedStorage &storage,
                                        Value counter, Value tiles,
                                        Value kTiles, bool producer);

  /// The parity of the phase of its stage's mbarrier that `round` (the
  /// CTA's K tiles so far, over `stages` stages) completes: (round /
  /// stages) % 2, flipped for the producer's wait for the round before.
  Value phaseParity(Value round, int64_t stages, bool flip);
  /// The roles as the two branches of one condition, so that setmaxnreg
  /// applies: threads below consumerThreads run `consumer` with
  /// consumerRegisters registers; the rest give registers back down to
  /// producerRegisters and the first of them runs `producer`.
  void emitWarpSpecializedRoles(Value tid, int64_t consumerThreads,
                                int64_t consumerRegisters,
                                int64_t producerRegisters,
                                llvm::function_ref<void()> consumer,
                                llvm::function_ref<void()> producer);

  ImplicitLocOpBuilder &b;
  Block *entry = nullptr;

private:
  llvm::DenseMap<int64_t, Value> indexConstants, i32Constants;
};

/// For the epilogues of the tensor-core kernels, whose mma accumulator
/// fragment gives lane l of a warp the result pairs at columns 8j + 2 (l % 4)
/// of its row: with `pairs` a quad lane's 16-bit results of 4 consecutive
/// 8-column blocks (j = 0..3; pairs[2j] and pairs[2j + 1]) and `quadLane` =
/// l % 4, returns that lane's 8 consecutive results of block `quadLane` as a
/// vector<8 x their type>, by a transpose over the quad's lanes (3 xor
/// shuffles). Stored with one 16-byte access a lane, a warp writes 64-byte
/// runs of 8 rows instead of 16-byte ones, half-sector writes that held the
/// epilogues back (docs/benchmarks.md). Every lane must call it.
Value transposeFragmentQuad(ImplicitLocOpBuilder &b, Value quadLane,
                            ArrayRef<Value> pairs);

} // namespace mlir::qat

#endif // QAT_CONVERSION_TENSORCOREKERNELS_KERNELBUILDER_H
