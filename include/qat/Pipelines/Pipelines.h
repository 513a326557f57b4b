//===- Pipelines.h - Named qat pipelines ------------------------*- C++ -*-===//
//
// The pipelines a user runs by name (`qat-opt --qat-to-cpu`) or builds from
// C++: an options struct, a builder and a registration each.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_PIPELINES_PIPELINES_H
#define QAT_PIPELINES_PIPELINES_H

#include "qat/Conversion/LinalgToNVGPU/ContractionPrecision.h"

#include "mlir/Pass/PassOptions.h"
#include "llvm/Support/Error.h"

namespace mlir {
class OpPassManager;

namespace qat {

/// Options of the CPU pipeline: qat + linalg on tensors to the LLVM dialect.
struct QATToCPUPipelineOptions
    : public PassPipelineOptions<QATToCPUPipelineOptions> {
  PassOptions::Option<bool> fuseElementwise{
      *this, "fuse-elementwise",
      llvm::cl::desc("Fuse elementwise linalg ops into their single consumer "
                     "before bufferization"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> vectorizeContractions{
      *this, "vectorize-contractions",
      llvm::cl::desc("Pack transposed matmul operands and compute f32 "
                     "matmuls in vectorized register blocks "
                     "(qat-cpu-pack-contraction-operands, "
                     "qat-cpu-vectorize-contractions)"),
      llvm::cl::init(true)};
};

/// Lowers qat ops to linalg, bufferizes, lowers to loops and to the LLVM
/// dialect. The result can be JIT-compiled or translated to an object file.
void buildQATToCPUPipeline(OpPassManager &pm,
                           const QATToCPUPipelineOptions &options);

/// Options of the GPU pipeline: qat on tensors to NVVM kernels in a cubin (or
/// PTX) embedded in host code in the LLVM dialect.
struct QATToNVPTXPipelineOptions
    : public PassPipelineOptions<QATToNVPTXPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("Target GPU: sm_80, sm_90, sm_90a, ..."),
      llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> features{
      *this, "features",
      llvm::cl::desc("PTX features, e.g. +ptx80 (PTX ISA 8.0)"),
      llvm::cl::init("+ptx80")};
  PassOptions::Option<unsigned> optLevel{
      *this, "opt-level",
      llvm::cl::desc("Optimization level of the NVPTX backend and ptxas"),
      llvm::cl::init(3)};
  PassOptions::Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit whose ptxas assembles the kernels"),
      llvm::cl::init("/usr/local/cuda")};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("What host code embeds: bin (cubin, assembled by "
                     "ptxas), isa (PTX, JIT-compiled by the driver) or fatbin"),
      llvm::cl::init("bin")};
  PassOptions::Option<unsigned> elementsPerThread{
      *this, "elements-per-thread",
      llvm::cl::desc("Elements of a row tensor each thread of the fused row "
                     "kernels keeps in registers (convert-qat-to-gpu)"),
      llvm::cl::init(16)};
  PassOptions::Option<bool> hadamardExchange{
      *this, "hadamard-exchange",
      llvm::cl::desc("Exchange the values of bf16 Hadamard blocks of 128 "
                     "through shared memory so that every butterfly stage "
                     "stays in registers, instead of shuffles "
                     "(convert-qat-to-gpu)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> dependentLaunch{
      *this, "dependent-launch",
      llvm::cl::desc("Let each kernel launch while the one before it "
                     "finishes (programmatic dependent launch, "
                     "qat-gpu-dependent-launch); sm_90 and newer, ignored "
                     "for older chips"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> ptxasOptions{
      *this, "ptxas-options",
      llvm::cl::desc("Extra command-line options for ptxas, e.g. "
                     "--warn-on-spills (quoted when it has spaces)"),
      llvm::cl::init("")};
  PassOptions::ListOption<int64_t> linalgTileSizes{
      *this, "linalg-tile-sizes",
      llvm::cl::desc("Threads per block of the kernels of linalg ops, along "
                     "their innermost parallel dimensions, innermost last "
                     "(threadIdx.x); at most 3 sizes, at most 1024 threads"),
      llvm::cl::list_init<int64_t>({4, 64})};
  PassOptions::Option<ContractionPrecision> contractionPrecision{
      *this, "contraction-precision",
      llvm::cl::desc("What the tensor cores compute for float contractions "
                     "with an f32 operand (16-bit ones always run in their "
                     "type)"),
      llvm::cl::init(ContractionPrecision::TF32),
      llvm::cl::values(
          clEnumValN(ContractionPrecision::TF32, "tf32",
                     "tf32 mma.sync (10-bit mantissa), the default"),
          clEnumValN(ContractionPrecision::BF16, "bf16",
                     "operands rounded to bf16, bf16 mma.sync"),
          clEnumValN(ContractionPrecision::F32, "f32",
                     "no tensor cores: exact f32 in plain kernels"))};
  PassOptions::Option<bool> fuseEpilogues{
      *this, "fuse-epilogues",
      llvm::cl::desc("Apply an elementwise consumer of a float contraction "
                     "in its kernel's epilogue, and those of a qat.matmul "
                     "on wgmma with a loss sum (docs/gpu.md)"),
      llvm::cl::init(true)};
};

/// Checks what LLVM would reject only with a fatal error or not at all: the
/// chip and the features against the NVPTX backend (and the PTX version
/// against the chip's minimum), the format, the optimization level, the
/// toolkit (its libdevice), and with the checks of the passes they configure
/// the elements per thread and the linalg tile sizes. The error names the
/// option, its value and the accepted values. The named pipeline (qat-opt,
/// parsePassPipeline) and qat-run call it before building the pipeline.
llvm::Error
verifyQATToNVPTXPipelineOptions(const QATToNVPTXPipelineOptions &options);

/// Maps qat ops to fused GPU kernels, bufferizes with buffers in device
/// memory, outlines the kernels, compiles them with the NVPTX backend (and
/// ptxas) and lowers the host code, whose launches call the qat CUDA runtime.
void buildQATToNVPTXPipeline(OpPassManager &pm,
                             const QATToNVPTXPipelineOptions &options);

/// Registers the named pipelines with the pass registry.
void registerPipelines();

} // namespace qat
} // namespace mlir

#endif // QAT_PIPELINES_PIPELINES_H
