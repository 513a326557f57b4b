//===- QATMatmulToNVGPU.h - qat.matmul to tensor cores ----------*- C++ -*-===//
//
// Entry points of the lowering of qat.matmul to integer tensor-core kernels.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_CONVERSION_QATMATMULTONVGPU_QATMATMULTONVGPU_H
#define QAT_CONVERSION_QATMATMULTONVGPU_QATMATMULTONVGPU_H

#include "mlir/Pass/Pass.h"

#include <string>

namespace mlir {
class DialectRegistry;
class ModuleOp;

namespace qat {

/// How a qat.matmul kernel drives the tensor cores. Each strategy has its
/// own kernel builder and shares the host-side rewrite and the epilogue math.
enum class MatmulGPUStrategy {
  /// `Wgmma` for s8 codes when the `chip` option is sm_90a, `MmaSync`
  /// otherwise (packed 4-bit codes, other chips, no chip named).
  Auto,
  /// Warp-level `mma.sync` with cp.async pipelining: sm_80 and later.
  MmaSync,
  /// Hopper warpgroup MMA (`wgmma.mma_async`) fed by TMA loads through an
  /// mbarrier pipeline: sm_90a only, s8 codes only.
  Wgmma,
};

/// Empty if `chip` is empty (no chip named) or names a CUDA architecture the
/// tensor-core passes can take (`sm_<N>` up to sm_121, optionally with an
/// `a` or `f` suffix); otherwise the error, which names the option.
std::string checkChipOption(llvm::StringRef chip);

/// Whether `chip` is a chip with Hopper's architecture-specific
/// instructions (wgmma, setmaxnreg): exactly `sm_90a`.
bool hasWarpgroupMma(llvm::StringRef chip);

/// Whether `chip` has the mma.sync shapes the tensor-core kernels issue
/// (s8 m16n8k32, bf16/f16 m16n8k16, tf32 m16n8k8): sm_80 and newer. True
/// for an empty chip (the target is decided later).
bool hasTensorCoreMma(llvm::StringRef chip);

/// How packed 4-bit codes reach the tensor cores. Only sm_80 to sm_89 have
/// 4-bit integer MMA in hardware; on sm_90 `mma.sync ... .s4` is emulated
/// (about 18x slower than s8, measured on an H100) and later chips have no
/// 4-bit MMA at all.
enum class Int4Mma {
  /// `Native` where the `chip` option names a chip with 4-bit MMA, `Unpack`
  /// everywhere else (see the pass description).
  Auto,
  /// `mma.sync m16n8k64` with .s4 operands, straight from the packed bytes.
  Native,
  /// Packed codes in global and shared memory, each fragment register
  /// unpacked to two s8 registers right before two `mma.sync m16n8k32`.
  Unpack,
};

/// Whether `chip` (`sm_80`, `sm_90a`, ...) multiplies 4-bit integers on its
/// tensor cores at full rate. False for chips it does not know.
bool hasNativeInt4Mma(llvm::StringRef chip);

#define GEN_PASS_DECL_CONVERTQATMATMULTONVGPU
#include "qat/Conversion/Passes.h.inc"

/// Declares that `gpu.launch_func` reads and writes its memref operands and
/// that `nvgpu.tma.create.descriptor` reads its memref, so that
/// ownership-based buffer deallocation accepts the launches and TMA
/// descriptors created by convert-qat-matmul-to-nvgpu (upstream declares no
/// effects for either op).
void registerGPULaunchFuncMemoryEffects(DialectRegistry &registry);

} // namespace qat
} // namespace mlir

#endif // QAT_CONVERSION_QATMATMULTONVGPU_QATMATMULTONVGPU_H
