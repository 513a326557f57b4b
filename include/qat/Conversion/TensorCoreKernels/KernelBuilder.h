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

  /// The storage of a warp-specialized wgmma kernel (consumerThreads
  /// consumer threads, then a producer warpgroup): `bytes` of its dynamic
  /// shared memory from the first multiple of 1024 bytes (the 128-byte
  /// swizzle's period) past the memory's start and past the mbarriers of
  /// `barrierType` (2 stages of them: full[s] at s with one arrival, empty[s]
  /// at stages + s with consumerThreads; then one per `extraArrivals`, at
  /// 2 stages + i with that many arrivals), which thread `tid` 0
  /// initializes and fences for the async proxy before a CTA barrier.
  /// Returns the bytes (an i8 memref), their shared-memory address and the
  /// mbarrier group.
  struct WarpSpecializedStorage {
    Value bytes, address, barriers;
  };
  WarpSpecializedStorage
  createWarpSpecializedStorage(Value tid, nvgpu::MBarrierGroupType barrierType,
                               int64_t stages, int64_t bytes,
                               int64_t consumerThreads,
                               ArrayRef<int64_t> extraArrivals = {});
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
