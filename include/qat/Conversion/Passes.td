//===- Passes.td - Conversions out of the qat dialect ------*- tablegen -*-===//
//
// Declarations of the passes that lower qat ops to other dialects.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_CONVERSION_PASSES_TD
#define QAT_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// QATToLinalg
//===----------------------------------------------------------------------===//

def ConvertQATToLinalg : Pass<"convert-qat-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower qat ops to linalg, arith and math on tensors";
  let description = [{
    Rewrites every qat op, forward and backward, into `linalg.generic`,
    `linalg.matmul`, `linalg.fill` and `tensor` reshapes with `arith`/`math`
    bodies, following the semantics of docs/semantics.md. Arithmetic is done
    in f32 whatever the storage types: operands are extended on read and
    results truncated on write. Sums over groups (mean squares, the LSQ step
    gradient) accumulate their f32 terms in f64, so that per_tensor
    reductions over millions of elements stay accurate.

    * Quantizer groups are rows of a 3-D view `[rows, groups, group length]`
      of the input (`tensor.collapse_shape`/`tensor.expand_shape`), so that
      per-group reductions (`qat.scale`, the trust threshold, the LSQ step
      gradient) are `linalg.generic` reductions over the innermost dimension
      and the steps broadcast along it.
    * Packed codes are built and read two per byte in one `linalg.generic`
      over the byte (low nibble first).
    * `qat.matmul` accumulates integers exactly in i32 with a transposed-B
      `linalg.matmul` (the codes, or `2*code+1` on the centered grid), then
      applies the dequantizing epilogue.
    * `qat.hadamard` is a fast Walsh-Hadamard transform: its log2(n)
      butterfly levels, two per `linalg.generic` over the view
      `[..., D/4h, 2, 2, h]` of the rows (measured against a product with
      the constant block, see the pattern).

    Example:

    <!-- mlir-doc: wrap %x: tensor<4x64xf32>, %s: tensor<4x1xf32> -->
    ```mlir
    %q = qat.quantize %x, %s as <signed, 8 bits, absmax, per_row>
        : tensor<4x64xf32>, tensor<4x1xf32> -> tensor<4x64xi8>
    ```
    becomes a `linalg.generic` whose body computes
    `clamp(roundeven(x / s), -128, 127)` with `math.roundeven`,
    `arith.maxnumf`/`arith.minnumf` and `arith.fptosi`.

    Every qat op is illegal afterwards; an op the patterns cannot lower is
    reported and the pass fails.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

//===----------------------------------------------------------------------===//
// QATToGPU
//===----------------------------------------------------------------------===//

def ConvertQATToGPU : Pass<"convert-qat-to-gpu", "::mlir::func::FuncOp"> {
  let summary = "Fuse the row-local qat ops into GPU kernels, one launch per "
                "fusion group";
  let description = [{
    Every qat op except `qat.matmul` is row-local: row `r` of its results
    (the last dimension) depends only on row `r` of its operands. This pass
    partitions the `qat.hadamard`, `qat.scale`, `qat.quantize`,
    `qat.dequantize`, `qat.fake_quant` and `qat.fake_quant_grad` ops of each
    block into fusion groups (connected by producer-consumer edges, same rows
    and row length) and emits each group as one `gpu.launch`: the group's
    external inputs are read once, the values only used inside the group stay
    in registers (and shared memory for the cross-warp Hadamard stages), the
    results used outside are written once. A QuEST forward
    `hadamard -> scale -> quantize packed -> fake_quant` is one kernel; so is
    its backward `fake_quant_grad(trust) -> hadamard`.

    An elementwise linalg op joins the group of a qat op that produces one
    of its operands (an optimizer's update of a weight from its gradient,
    a scaling between two qat ops): every loop parallel, every operand a
    float tensor of the result's shape read through the identity map, inits
    the body does not read, and a body of pure scalar ops (no `linalg.index`)
    that takes only scalars from above. Its body runs on the values the
    thread holds, so the gradient of QuEST's weight backward never leaves
    registers and the SGD step adds no kernel. Such an op alone stays
    linalg.

    The rewrite stays at tensor level so that it composes with one-shot
    bufferization: inputs become buffers through
    `bufferization.to_buffer ... read_only`, results are `memref.alloc`s
    written by the launch and returned as
    `bufferization.to_tensor ... restrict writable`.

    `per_tensor` quantizers that need a reduction over the whole tensor
    (`qat.scale`, the trust estimator's standard deviation and the LSQ step
    gradient) use separate reduction launches, since no CTA can see every
    row.

    Rows too long for the register and shared-memory budget of a kernel,
    element types other than f32/bf16/f16 and codes that are not stored in
    whole bytes are reported as errors on the op.

    Example:

    <!-- mlir-doc: wrap %x: tensor<64x256xf32> -->
    ```mlir
    #q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
    %xh = qat.hadamard %x block 128 : tensor<64x256xf32>
    %s = qat.scale %xh as #q4 : tensor<64x256xf32> -> tensor<64x1xf32>
    %q = qat.quantize %xh, %s as #q4 packed
        : tensor<64x256xf32>, tensor<64x1xf32> -> tensor<64x128xi8>
    ```
    becomes one `gpu.launch` that reads `%x` and writes `%s` and `%q`.
  }];
  let options = [
    Option<"elementsPerThread", "elements-per-thread", "unsigned",
           /*default=*/"16",
           "Elements of a row tensor each thread keeps in registers (the "
           "threads per row follow from it, up to 1024)">,
    Option<"hadamardExchange", "hadamard-exchange", "bool",
           /*default=*/"true",
           "For bf16 Hadamard transforms of block 128 whose reductions span "
           "whole rows (QuEST), swap the index bits a thread holds with the "
           "lane bits by one exchange of the values through shared memory, "
           "so that every butterfly stage is an addition in registers, "
           "instead of shuffling every element in 2 or 3 stages">,
    Option<"allowFallback", "allow-fallback", "bool", /*default=*/"false",
           "Leave the qat ops that the row kernels cannot compute in place "
           "(with a remark saying why) for convert-qat-to-linalg and the "
           "generic GPU route, instead of failing (qat-to-nvptx sets it)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::math::MathDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
    // Zero-size ops take the linalg route (GPUShapeChecks.h).
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def ConvertQATMatmulToNVGPU
    : Pass<"convert-qat-matmul-to-nvgpu", "::mlir::ModuleOp"> {
  let summary = "Lower qat.matmul to an integer tensor-core GPU kernel";
  let description = [{
    Replaces every `qat.matmul` by a launch of a GPU kernel that multiplies
    the integer codes on the tensor cores with int32 accumulation, and
    applies the dequantizing epilogue (row sums for the 1/2 offsets of the
    centered grid, the steps of both operands, conversion to the result
    type) before writing each output element once.

    `strategy` picks the kernel: `mma-sync` (`nvgpu.mma.sync` with s8
    operands and mmaShape [16, 8, 32], cp.async pipelining; sm_80 and later)
    or `wgmma` (Hopper warpgroup MMA, `nvvm.wgmma.mma_async` m64n256k32 s8,
    fed by TMA loads of 128-byte swizzled tiles through an mbarrier pipeline
    from a producer warpgroup to two consumer warpgroups; `chip=sm_90a`
    only, s8 codes: packed 4-bit codes are first made one a byte by the
    `qat.quantize` that makes them, or else unpacked by a kernel of their
    own). `auto`, the default, takes `wgmma` when `chip` is `sm_90a` and
    `mma-sync` otherwise: for `sm_80` to `sm_89`, for plain `sm_90` (whose
    PTX must not use the sm_90a-only instructions) and when no chip is
    named. The wgmma
    kernel gets TMA descriptors of A and B made on the host by
    `nvgpu.tma.create.descriptor` (lowered to calls of the CUDA runtime's
    `mgpuTensorMapEncodeTiledMemref`).

    On mma-sync, `packed` 4-bit codes stay packed in global and shared
    memory (half the bytes of s8). `int4-mma` says how they meet the tensor
    cores: `unpack`
    turns each fragment register of eight codes into two s8 registers, one
    for the even and one for the odd codes (16c for a signed code c,
    16c + 8 = 8(2c+1) for a centered one, so no row sums are needed), and
    runs two s8 mma.sync [16, 8, 32] where one s4 mma.sync [16, 8, 64]
    would run; the accumulator holds 64 to 256 times the exact sum, shifted
    back in the epilogue, which bounds K to 130944. `native` runs the s4
    mma.sync on the packed registers. `auto` (the default) picks `native`
    when `chip` names a chip with 4-bit tensor cores (sm_80 to sm_89) and
    `unpack` otherwise, also when no chip is given: Hopper emulates s4 MMA
    about 18x slower than s8, while on Ampere or Ada the unpacked kernel
    does the s8 kernel's tensor-core work from half its bytes (about half of
    native s4's peak rate), so for an unknown chip `unpack` costs least.
    Beyond K = 130944 `auto` falls back to `native`, which is exact for
    every K the verifier accepts.

    The rewrite stays at tensor level so that it composes with one-shot
    bufferization: operands become buffers through `bufferization.to_buffer`,
    the result is a `memref.alloc` written by a `gpu.launch_func` and
    returned through `bufferization.to_tensor ... restrict writable`. The
    kernel is a `gpu.func` in a `gpu.module` of its own, with its shared
    memory as a 128-byte aligned `memref.global`; ops with equal shapes,
    grids and types share one kernel. A later pipeline attaches the NVVM
    target, puts the host buffers in device memory and compiles the module.

    Shapes: M and N are arbitrary (tail tiles are guarded); K must give rows
    of a multiple of 16 bytes (K % 16 == 0 for i8 codes, K % 32 == 0 for
    packed 4-bit codes); the tail of the last K tile (64 bytes for mma-sync,
    128 for wgmma) is zero-filled.
    Unpacked codes must be stored as i8. Unsupported ops are reported and
    the pass fails.

    With `fuse-epilogues` (the default) the wgmma kernel of a static M
    applies the product's consumers in its epilogue when every use of the
    product is an elementwise `linalg.generic` (a loss gradient, a bias and
    activation) or a sum of a function of every element into a scalar f32
    (a loss), with an elementwise one: it loads their other inputs (tensors
    of the product's shape, defined before the qat.matmul, read at identity
    maps) where the element is, stores the elementwise op's result instead
    of the product, and leaves one partial sum a consumer warp, which a
    `linalg.generic` reduction adds to the sum's init where the sum was. The
    product itself is never stored. The bodies must be scalar code without
    `linalg.index` or values from above, and the sum's must add one term to
    its accumulator. Kernel names end in `_epilogue`.

    Example:

    <!-- mlir-doc: wrap %a: tensor<256x512xi8>, %b: tensor<128x512xi8>, %sa: tensor<256x1xf32>, %sb: tensor<128x1xf32> -->
    ```mlir
    #w4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
    %y = qat.matmul %a, %b, %sa, %sb as #w4, #w4 packed
        : tensor<256x512xi8>, tensor<128x512xi8>, tensor<256x1xf32>,
          tensor<128x1xf32> -> tensor<256x128xbf16>
    ```
    becomes `bufferization.to_buffer` of the four operands, a
    `memref.alloc() : memref<256x128xbf16>`, a `gpu.launch_func` of
    `@qat_matmul_256x128x1024_centered_centered_s4_bf16::@qat_matmul_mma_sync`
    on 2 blocks of 256 threads, and a `bufferization.to_tensor`.
  }];
  let options = [
    Option<"strategy", "strategy", "::mlir::qat::MatmulGPUStrategy",
           "::mlir::qat::MatmulGPUStrategy::Auto",
           "Kernel strategy", [{::llvm::cl::values(
             clEnumValN(::mlir::qat::MatmulGPUStrategy::Auto, "auto",
                        "wgmma with chip=sm_90a (packed 4-bit codes made "
                        "or unpacked to a code a byte first), mma-sync "
                        "otherwise"),
             clEnumValN(::mlir::qat::MatmulGPUStrategy::MmaSync, "mma-sync",
                        "warp-level mma.sync with cp.async pipelining "
                        "(sm_80 and later)"),
             clEnumValN(::mlir::qat::MatmulGPUStrategy::Wgmma, "wgmma",
                        "warpgroup wgmma.mma_async with TMA loads and an "
                        "mbarrier pipeline (sm_90a; packed codes unpacked "
                        "first)"))}]>,
    Option<"stages", "stages", "unsigned", /*default=*/"0",
           "Shared-memory pipeline stages of the K loop; 0: the strategy's "
           "default (mma-sync: 3, at most 3 of 16 KiB; wgmma: 4, at most 6 "
           "of 32 KiB)">,
    Option<"int4Mma", "int4-mma", "::mlir::qat::Int4Mma",
           "::mlir::qat::Int4Mma::Auto",
           "Tensor-core instruction for packed 4-bit codes", [{::llvm::cl::values(
             clEnumValN(::mlir::qat::Int4Mma::Auto, "auto",
                        "native on chips with 4-bit MMA (chip=sm_80..sm_89), "
                        "unpack otherwise"),
             clEnumValN(::mlir::qat::Int4Mma::Native, "native",
                        "s4 mma.sync m16n8k64"),
             clEnumValN(::mlir::qat::Int4Mma::Unpack, "unpack",
                        "s4 registers unpacked to s8, two mma.sync m16n8k32"))}]>,
    Option<"chip", "chip", "std::string", /*default=*/"",
           "Target chip (sm_80, sm_90, ...) for int4-mma=auto; empty: "
           "unknown">,
    Option<"fuseEpilogues", "fuse-epilogues", "bool", /*default=*/"true",
           "Apply an elementwise consumer of the product (and a sum over "
           "it, such as a loss) in the wgmma kernel's epilogue">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
    // Zero-size ops take the linalg route (GPUShapeChecks.h).
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

//===----------------------------------------------------------------------===//
// LinalgToNVGPU
//===----------------------------------------------------------------------===//

def ConvertLinalgContractionsToNVGPU
    : Pass<"convert-linalg-contractions-to-nvgpu", "::mlir::ModuleOp"> {
  let summary = "Float linalg contractions on tensors to tiled tensor-core "
                "(mma.sync) kernels";
  let description = [{
    Rewrites every float matrix product on tensors, in whatever form linalg
    spells it, into a launch of a shared-memory tiled kernel on the tensor
    cores (`nvgpu.ldmatrix` + `nvgpu.mma.sync`, f32 accumulators, sm_80 and
    later): `linalg.matmul` with any indexing maps (transposed operands, the
    `A^T B` and `A B^T` of backward passes), `linalg.batch_matmul` and any
    `linalg.generic` whose body is `c + a * b` (with `arith.extf` of the
    inputs allowed) over projected-permutation maps with one M, one N, one
    K and at most one batch dimension. The result is
    `init + sum_k a * b`: the init is read in the epilogue unless it is a
    `linalg.fill` of zero.

    Precision: f16 x f16 runs on f16 tensor cores, other 16-bit inputs on
    bf16 ones (an f16 operand beside a bf16 one is rounded to bf16). Inputs
    with an f32 operand follow `precision`: `tf32` (the default: 10-bit
    mantissa, mma.sync m16n8k8 .tf32, the operands' low 13 mantissa bits
    ignored), `bf16` (operands rounded to bf16 when they enter shared
    memory: twice tf32's tensor-core rate, 7-bit mantissa) or `f32` (the
    pass leaves them alone: they keep the plain parallel-loop kernel of
    the rest of the pipeline, exact f32 arithmetic). Accumulation is f32
    in every case, also for bf16 or f16 results (rounded once at the end,
    where linalg's semantics round after every step).

    Kernel (`LinalgToNVGPU/ContractionMmaSync.cpp`): a CTA computes one
    output tile, its warps own warp tiles of m16n8 MMA tiles; K advances in
    64-byte tiles (32 bf16/f16 or 16 f32 elements) through two stages of
    swizzled shared memory: every thread loads its share of the next tile
    from global memory (16-byte chunks with one vector load each where K
    is the operand's contiguous dimension and a multiple of a chunk;
    otherwise single elements, threads consecutive along the contiguous
    rows, so transposed operands read coalesced too), converts it to the
    compute type and stores it into the other stage while the warps
    multiply the current one. Out-of-bounds rows, columns and K elements read as zero; the
    epilogue stores only in-bounds elements, so M, N and K are arbitrary.
    Tile shape (a heuristic on the problem shape): 128x128 on 8 warps (warp
    tiles 64x32) when that gives at least `kMinLargeTileCTAs` = 120 CTAs
    (about one per SM of an H100), otherwise 64x64 on 4 warps (warp tiles
    32x32), so that small products still spread over many SMs. The batch
    dimension is the grid's y.

    Hopper (`chip=sm_90a`; `qat-to-nvptx` passes its chip): a contraction
    whose operands TMA can load takes the warpgroup-MMA kernel instead
    (`LinalgToNVGPU/ContractionWgmma.cpp`): TMA loads into 128-byte swizzled
    shared memory, an mbarrier pipeline from a producer warpgroup to two
    consumer warpgroups running `wgmma.mma_async` (m64n256 or m64n128, f32
    accumulators), the same epilogue. It takes bf16 and f16 operands with K
    contiguous or with M (N) contiguous (the wgmma transpose bits), and f32
    ones as tf32 with K contiguous in both; the contiguous dimension must be
    a multiple of 16 bytes (TMA's row strides). Operands of another type
    than the compute type (f32 with `precision=bf16`, mixed types) are first
    converted by an elementwise kernel of their own. Tiles: 128x256 when
    that gives at least 120 CTAs, otherwise 128x128; 4 or 6 stages. Other
    chips, and what TMA cannot load (tf32 with a transposed operand, rows of
    an odd number of 16-byte units), keep mma.sync.

    Ops that are left alone (they keep the plain parallel-loop kernel):
    integer and f64 contractions, dynamic shapes, more than one M, N, K or
    batch dimension, bodies that are not a multiply-accumulate, f32 inputs
    with precision=f32, and buffers (the pass works on tensors).

    Epilogue fusion (`fuse-epilogues`, on by default): when every use of the
    result is one elementwise linalg op in the same block that reads it
    where it is (identity maps), that op (generalized, with the elementwise
    producers of its other operands and a chain of elementwise users fused
    into it by linalg's elementwise fusion) runs in the kernel's epilogue:
    its body is applied to each element before the store, its other
    operands (a bias vector, a scale, a mask, a second matrix) loaded at the
    element's position, and the op disappears. A consumer that reads the
    result transposed, a reduction, or a second consumer keep their own
    kernels (`LinalgToNVGPU/ContractionEpilogue.cpp` has the rules).

    <!-- mlir-doc: wrap %x: tensor<64x96xbf16>, %w: tensor<96x80xbf16>, %zero: tensor<64x80xf32>, %bias: tensor<80xf32>, %e: tensor<64x80xf32> -->
    ```mlir
    %y = linalg.matmul ins(%x, %w : tensor<64x96xbf16>, tensor<96x80xbf16>)
        outs(%zero : tensor<64x80xf32>) -> tensor<64x80xf32>
    %b = linalg.broadcast ins(%bias : tensor<80xf32>)
        outs(%e : tensor<64x80xf32>) dimensions = [0]
    %h = linalg.add ins(%y, %b : tensor<64x80xf32>, tensor<64x80xf32>)
        outs(%e : tensor<64x80xf32>) -> tensor<64x80xf32>
    // -> one launch of a kernel that stores acc + bias[j]
    ```
  }];
  let options = [
    Option<"precision", "precision", "::mlir::qat::ContractionPrecision",
           "::mlir::qat::ContractionPrecision::TF32",
           "Tensor-core precision of contractions with f32 operands",
           [{::llvm::cl::values(
             clEnumValN(::mlir::qat::ContractionPrecision::TF32, "tf32",
                        "tf32 mma.sync (10-bit mantissa)"),
             clEnumValN(::mlir::qat::ContractionPrecision::BF16, "bf16",
                        "operands rounded to bf16, bf16 mma.sync"),
             clEnumValN(::mlir::qat::ContractionPrecision::F32, "f32",
                        "no tensor cores: exact f32 in the plain kernels"))}]>,
    Option<"fuseEpilogues", "fuse-epilogues", "bool", /*default=*/"true",
           "Apply an elementwise consumer of the result in the kernel's "
           "epilogue">,
    Option<"chip", "chip", "std::string", /*default=*/"",
           "Target chip: sm_90a gives the contractions that the wgmma "
           "kernel takes to it; any other (or none) keeps mma.sync; before "
           "sm_80 (no such mma.sync) the pass leaves contractions as they "
           "are">
  ];
  let dependentDialects = [
    "::mlir::LLVM::LLVMDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

#endif // QAT_CONVERSION_PASSES_TD
