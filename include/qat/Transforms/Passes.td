//===- Passes.td - Passes of the qat pipelines -------------*- tablegen -*-===//
//
// Passes that are not tied to the qat dialect but that the qat pipelines
// need between upstream stages.
//
//===----------------------------------------------------------------------===//

#ifndef QAT_TRANSFORMS_PASSES_TD
#define QAT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerDynamicExpandShape : Pass<"qat-lower-dynamic-expand-shape"> {
  let summary = "Lower memref.expand_shape ops that split a dimension into "
                "several dynamic ones to memref.reinterpret_cast";
  let description = [{
    MLIR 22's `expand-strided-metadata` crashes on a `memref.expand_shape`
    with more than one dynamic size in a reassociation group (for example a
    `?x64` buffer expanded to `?x?x64`, batch and sequence both dynamic): it
    derives the sizes of a group from its static ones and leaves all but one
    dynamic size unset (llvm-project issue 186830, fixed in LLVM 23). Such
    ops come from any model with dynamic batch and sequence dimensions, and
    from the qat lowerings that compute a row-wise op on the [rows, D] view
    of such a tensor.

    This pass rewrites each of them, before `expand-strided-metadata`, into
    `memref.reinterpret_cast` of the source's base buffer and offset, with
    the sizes of the op's `output_shape` and the strides they imply: within
    a group the innermost dimension keeps the source dimension's stride and
    each outer one is the next inner one's stride times its size. Other
    `memref.expand_shape` ops are left to `expand-strided-metadata`.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

def GPUDeviceBuffers : Pass<"qat-gpu-device-buffers", "func::FuncOp"> {
  let summary = "Place the buffers of host code in GPU memory";
  let description = [{
    After bufferization, the temporaries and results of a function that runs
    its work in `gpu.launch` kernels are still `memref.alloc` (host memory).
    This pass turns host-side `memref.alloc`/`memref.dealloc`/`memref.copy`
    into `gpu.alloc`/`gpu.dealloc`/`gpu.memcpy`, so that kernels read and
    write device memory and the function's arguments and results are device
    buffers.

    Host code must not touch element data any more: an operation outside a
    kernel that loads, stores or computes on a buffer (a linalg op that no
    GPU strategy mapped, for example) is reported as an error naming it,
    instead of becoming a host access to device memory at run time.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def GPUParallelizeReductions : Pass<"qat-gpu-parallelize-reductions",
                                    "func::FuncOp"> {
  let summary = "Shape linalg reductions on tensors for GPU threads: "
                "parallel dimensions outermost, full reductions split";
  let description = [{
    On the GPU, the parallel dimensions of a linalg op are spread over
    threads and its reduction dimensions become a loop in each thread
    (`convert-linalg-to-parallel-loops`, whose loops nest in iterator
    order). This pass prepares linalg ops on tensors for that:

    * Parallel dimensions go first (`linalg::interchangeGenericOp`, named
      ops generalized): a column sum (`linalg.reduce` over dimension 0)
      would otherwise keep a host loop that launches a kernel per row.
    * A reduction over every dimension into a rank-0 result (a loss
      `sum((y - t)^2)`) has no parallel dimension and would run in one
      thread. When its body folds each value into the accumulator with one
      combiner that has a neutral element (`arith.addf`, `arith.maximumf`,
      ...), it is split into partial reductions on many threads and a
      reduction of the partials:
      - over several dimensions, the innermost one with at least
        `min-parallel` iterations (or a dynamic size) becomes parallel:
        `p[j] = sum_i f(x[i, j])`, then `sum_j p[j]`;
      - over one dimension of more than `serial-limit` elements (static),
        linalg's split-reduction makes about sqrt(N) strided partials.
      The final reduction, short now, runs in one thread
      (`qat-gpu-serial-linalg`).
    * A reduction over one dimension of more than `serial-limit` elements
      beside fewer than 262144 parallel iterations (the partial sums
      above, a column sum of a tall matrix) is split by linalg's
      split-reduction into slices of consecutive elements (at least 16
      each), about 262144 parallel iterations in all (65536 threads of 4
      after `qat-gpu-vectorize-parallel-loops`), and a reduction of the
      slices: otherwise each of a
      few threads would walk a whole column. The order of the additions changes, as in
      any parallel reduction.
    * Each `linalg.fill` with one user moves right before it, so that the
      fill of an accumulator and its reduction become one kernel.
  }];
  let options = [
    Option<"minParallel", "min-parallel", "int64_t", /*default=*/"32",
           "Fewest iterations of the dimension a multi-dimensional "
           "reduction is split along">,
    Option<"serialLimit", "serial-limit", "int64_t", /*default=*/"1024",
           "Reductions over at most this many elements (a full 1-D one, or "
           "one dimension beside few parallel iterations) are not split">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def GPUFuseReductionSiblings : Pass<"qat-gpu-fuse-reduction-siblings",
                                    "func::FuncOp"> {
  let summary = "Compute an elementwise op in the reduction that reads the "
                "same tensors";
  let description = [{
    A loss and its gradient read the same tensors: `sum((y - t)^2)` and
    `dy = c (y - t)` are a reduction and an elementwise op over `y` and
    `t`, two kernels that each read both from memory. On the GPU these
    kernels are memory-bound, so reading the inputs once halves their cost.

    This pass merges an elementwise `linalg.generic` (every loop parallel,
    identity maps, no `linalg.index`) into a reduction `linalg.generic`
    that reads every one of its inputs, each through the same indexing map
    (a permutation, so each element once), at most 256 reduction
    iterations (each thread of the fused kernel computes that many elements
    of the map) and, where
    `qat-gpu-parallelize-reductions` split the reduction into slices, the
    same `tensor.expand_shape`. The fused op keeps the reduction's loops and
    results and gains the elementwise op's output, indexed like the inputs
    (in the split view, collapsed back after the op): each iteration stores
    the element it computes, while the reduction accumulates as before.
    The fused op takes the place of the later of the two, so neither may
    read the other's result and what the first makes may only be used after
    the second. Run it after `qat-gpu-parallelize-reductions`.

    Example: after the split of a loss over 64 x 128 elements into
    slices,

    <!-- mlir-doc: wrap %y: tensor<64x128xf32>, %t: tensor<64x128xf32>, %p0: tensor<4x128xf32>, %e: tensor<64x128xf32> -->
    ```mlir
    %dy = linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>,
                                           affine_map<(m, n) -> (m, n)>,
                                           affine_map<(m, n) -> (m, n)>],
                          iterator_types = ["parallel", "parallel"]}
        ins(%y, %t : tensor<64x128xf32>, tensor<64x128xf32>)
        outs(%e : tensor<64x128xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %d = arith.subf %a, %b : f32
      linalg.yield %d : f32
    } -> tensor<64x128xf32>
    %ys = tensor.expand_shape %y [[0, 1], [2]] output_shape [4, 16, 128]
        : tensor<64x128xf32> into tensor<4x16x128xf32>
    %ts = tensor.expand_shape %t [[0, 1], [2]] output_shape [4, 16, 128]
        : tensor<64x128xf32> into tensor<4x16x128xf32>
    %p = linalg.generic {indexing_maps = [affine_map<(s, n, r) -> (s, r, n)>,
                                          affine_map<(s, n, r) -> (s, r, n)>,
                                          affine_map<(s, n, r) -> (s, n)>],
                         iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%ys, %ts : tensor<4x16x128xf32>, tensor<4x16x128xf32>)
        outs(%p0 : tensor<4x128xf32>) {
    ^bb0(%a: f32, %b: f32, %acc: f32):
      %d = arith.subf %a, %b : f32
      %q = arith.mulf %d, %d : f32
      %s = arith.addf %acc, %q : f32
      linalg.yield %s : f32
    } -> tensor<4x128xf32>
    ```
    becomes one op with the outputs `%p0` and `%e` expanded to 4x16x128,
    indexed `(s, n, r) -> (s, r, n)`, whose second result collapsed is `%dy`.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

def GPUSerialLinalg : Pass<"qat-gpu-serial-linalg", "func::FuncOp"> {
  let summary = "Run linalg ops without parallel loops in single-thread GPU "
                "kernels";
  let description = [{
    On buffers, a linalg op whose iterators are all reductions (a loss summed
    into a `memref<f32>`) or that has no loops at all (a rank-0 `linalg.fill`
    or elementwise op) has no parallel dimension to spread over threads:
    `convert-linalg-to-parallel-loops` would leave it as sequential host
    code reading device memory. This pass moves every such op on the host
    into a `gpu.launch` of one block of one thread, where it is lowered to
    loops like any other kernel body. Consecutive ops share one kernel, so
    that `fill + reduce + scale` of a mean is one launch.

    Example:

    <!-- mlir-doc: skip pseudo-IR: the shape of a loop nest, bodies elided -->
    ```mlir
    linalg.fill ins(%zero : f32) outs(%sum : memref<f32>)
    linalg.generic {iterator_types = ["reduction"], ...}
        ins(%x : memref<1024xf32>) outs(%sum : memref<f32>) { ... }
    ```
    becomes one `gpu.launch` (1 block of 1 thread) holding both ops.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect"];
}

def GPUPromoteAccumulators : Pass<"qat-gpu-promote-accumulators",
                                  "func::FuncOp"> {
  let summary = "Keep the accumulators of reduction loops in registers";
  let description = [{
    `convert-linalg-to-parallel-loops` lowers a reduction dimension to an
    `scf.for` that loads the output element, combines and stores it back on
    every iteration. In a GPU thread that store sits between consecutive
    iterations' loads: unless the kernel's buffers are known not to alias,
    each iteration waits for the previous one's memory round trip, and a
    column sum over 256 rows runs at a third of the memory bandwidth.

    This pass turns such a pair (a `memref.load` and a later `memref.store`
    of the same buffer at indices defined outside the loop) into a value
    carried by the loop: loaded before it, stored after it. It does so only
    where alias analysis proves every other access of the loop to touch a
    different buffer (a fresh allocation against a function argument or
    another allocation) and no other op of the loop has memory effects.
    Inner loops go first, so a nest of reduction loops keeps one register.
    Only loops that one thread runs at a time are changed: on the host,
    in the iterations of a host `scf.parallel` (each owns the elements it
    accumulates) and in single-thread kernels (`qat-gpu-serial-linalg`);
    in other kernels threads may share an element.

    Example:

    <!-- mlir-doc: wrap %in: memref<256x64xf32>, %acc: memref<64xf32>, %j: index, %c0: index, %c1: index, %c256: index -->
    ```mlir
    scf.for %k = %c0 to %c256 step %c1 {
      %x = memref.load %in[%k, %j] : memref<256x64xf32>
      %s = memref.load %acc[%j] : memref<64xf32>
      %t = arith.addf %s, %x : f32
      memref.store %t, %acc[%j] : memref<64xf32>
    }
    ```
    becomes, where `%acc` is an allocation and `%in` an argument,

    <!-- mlir-doc: wrap %in: memref<256x64xf32>, %acc: memref<64xf32>, %j: index, %c0: index, %c1: index, %c256: index -->
    ```mlir
    %init = memref.load %acc[%j] : memref<64xf32>
    %sum = scf.for %k = %c0 to %c256 step %c1 iter_args(%s = %init) -> (f32) {
      %x = memref.load %in[%k, %j] : memref<256x64xf32>
      %t = arith.addf %s, %x : f32
      scf.yield %t : f32
    }
    memref.store %sum, %acc[%j] : memref<64xf32>
    ```
  }];
}

def GPUVectorizeParallelLoops : Pass<"qat-gpu-vectorize-parallel-loops",
                                     "func::FuncOp"> {
  let summary = "Give each GPU thread of a glue kernel a short vector of "
                "consecutive elements";
  let description = [{
    The kernels of `convert-linalg-to-parallel-loops` (losses, their
    gradients, updates) give each thread one element: a warp then reads 128
    bytes of an f32 row per instruction and the many small CTAs cost more
    than the bytes. This pass rewrites a host `scf.parallel` (before
    `qat-gpu-tile-parallel-loops`) whose innermost dimension runs from 0 to
    a static multiple of V with step 1 so that each iteration handles V
    consecutive elements of it: the loop counts vectors, loads and stores
    indexed by that dimension in their last index become `vector.load` and
    `vector.store` of V elements, and the arithmetic between them works on
    vectors (loop-invariant scalars are broadcast; reduction loops inside
    the body carry vectors).

    V is the largest of 8, 4, 2 for which every vector access is at most 16
    bytes, the dimension's size is a multiple of V and each accessed
    buffer's row strides and offset are multiples of V (a row's vectors then
    start at multiples of their size: buffers are 16-byte aligned, as the
    qat runtime and the PyTorch integration require). A loop is left as it
    is when anything else uses that dimension: an index computed from it,
    a load that gathers along another dimension, an op without an
    elementwise vector form, or an op with other side effects.
  }];
  let dependentDialects = ["::mlir::vector::VectorDialect"];
}

def GPUBatchLoopLoads : Pass<"qat-gpu-batch-loop-loads", "func::FuncOp"> {
  let summary = "Issue the loads of several iterations of a GPU thread's "
                "loop before their stores";
  let description = [{
    A thread of a glue kernel that loops (a partial sum over rows that also
    stores an elementwise result, as the loss kernel does after
    `qat-gpu-fuse-reduction-siblings`) stores in every iteration what it
    computed from that iteration's loads. Neither LLVM nor ptxas may move
    the next iteration's loads above that store unless they know the
    buffers apart, and kernel arguments do not say so: each iteration then
    waits for a full memory round trip, with two 16-byte loads in flight.

    This pass unrolls such an `scf.for` in the body of a host `scf.parallel`
    that becomes a kernel (before `qat-gpu-tile-parallel-loops`) by 4 and
    moves the loads of the unrolled iterations, with their address
    computations, above the first store. It applies where the trip count is
    a static multiple of 4 greater than 4, the body holds only loads,
    stores (`memref` and `vector`) and ops without memory effects, and
    alias analysis proves every loaded buffer distinct from every stored
    one (fresh allocations against function arguments and each other).
    Loops without stores are left to LLVM, which batches their loads itself.

    Example (`%y`, `%t` arguments, `%dy` an allocation):

    <!-- mlir-doc: wrap %y: memref<64x4096xf32>, %t: memref<64x4096xf32>, %dy: memref<64x4096xf32>, %j: index, %c0: index, %c1: index, %c64: index, %init: f32 -->
    ```mlir
    %sum = scf.for %k = %c0 to %c64 step %c1 iter_args(%s = %init) -> (f32) {
      %a = memref.load %y[%k, %j] : memref<64x4096xf32>
      %b = memref.load %t[%k, %j] : memref<64x4096xf32>
      %d = arith.subf %a, %b : f32
      memref.store %d, %dy[%k, %j] : memref<64x4096xf32>
      %sq = arith.mulf %d, %d : f32
      %next = arith.addf %s, %sq : f32
      scf.yield %next : f32
    }
    ```
    becomes a loop of step 4 whose body loads `%y` and `%t` at rows `%k`
    to `%k + 3` first, then computes and stores the four iterations.
  }];
}

def GPUTileParallelLoops : Pass<"qat-gpu-tile-parallel-loops",
                                "func::FuncOp"> {
  let summary = "Tile host scf.parallel loops into blocks of threads";
  let description = [{
    Tiles every outermost `scf.parallel` loop of host code (the loops of
    `convert-linalg-to-parallel-loops`) into a loop over tiles and an inner
    loop over the elements of a tile, with constant bounds and an in-bounds
    check (`scf::tileParallelLoop` with fixed upper bounds), so that
    `gpu-map-parallel-loops` can map the outer loop to blocks and the inner
    one to threads and `convert-parallel-loops-to-gpu` can launch it.

    Unlike `scf-parallel-loop-tiling`, whose sizes apply to the outermost
    dimensions, `tile-sizes` are aligned with the innermost dimensions: with
    `tile-sizes=4,64` a 2-D loop gets 4x64 tiles, a 1-D loop 64 and a 3-D
    loop 1x4x64. With `gpu-map-parallel-loops{mapping-policy=innermost-first}`
    the last size becomes threadIdx.x, so consecutive threads of a warp
    touch consecutive elements of a row-major buffer.
  }];
  let options = [
    ListOption<"tileSizes", "tile-sizes", "int64_t",
               "Threads per block along the innermost dimensions, innermost "
               "last (default 4,64)">
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect"];
}

def GPUNameKernels : Pass<"qat-gpu-name-kernels", "::mlir::ModuleOp"> {
  let summary = "Name each GPU kernel after its gpu.module";
  let description = [{
    `gpu-kernel-outlining` puts every kernel of a function `@f` in its own
    module (`@f_kernel`, `@f_kernel_0`, ...) but names the kernel in each of
    them `@f_kernel`, and `convert-qat-matmul-to-nvgpu` names every matmul
    kernel `@qat_matmul_mma_sync`. The runtime, profilers and error
    messages only see the kernel's name. This pass renames the one kernel
    of each such module after the module and updates its launches, so that
    `cuLaunchKernel for kernel 'f_kernel_3' failed` says which one.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def GPUBF16MmaToNVVM : Pass<"qat-gpu-bf16-mma-to-nvvm"> {
  let summary = "Lower bf16 nvgpu.mma.sync to nvvm.mma.sync";
  let description = [{
    MLIR 22's `convert-nvgpu-to-nvvm` lowers `nvgpu.mma.sync` on f16, tf32,
    i8, i4 and f64 operands, but not bf16 ("failed to deduce operand PTX
    types"). Kernels built at the nvgpu level (the row kernels once
    multiplied bf16 values by H_16 this way) emit the side-effect-free
    `nvgpu.mma.sync` rather than `nvvm.mma.sync` itself, which buffer deallocation (run on the host function that
    holds the launch) rejects as an op of unknown memory effects. This pass
    rewrites the m16n8k16 bf16 form (f32 accumulators) into
    `nvvm.mma.sync` with the operands as 32-bit registers, the form the
    NVPTX backend takes; run it on the kernels before
    `convert-nvgpu-to-nvvm`.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::vector::VectorDialect"];
}

def GPUDependentLaunch : Pass<"qat-gpu-dependent-launch",
                              "::mlir::gpu::GPUModuleOp"> {
  let summary = "Let each kernel start while the one before it finishes "
                "(programmatic dependent launch, sm_90+)";
  let description = [{
    Between two kernels of one stream the GPU normally drains the first
    grid, then launches the second: a gap of a microsecond or two in which
    no SM works, which is a tenth of a memory-bound row kernel at 4096x2048.
    Hopper's programmatic dependent launch lets the second grid's CTAs be
    scheduled while the first one's last CTAs run; each CTA then waits in
    `griddepcontrol.wait` until the first grid has completed and its memory
    is visible. This pass puts that wait at the entry of every kernel of
    the module, before any memory access (so no kernel reads an input or
    overwrites a buffer early), and `griddepcontrol.launch_dependents` right
    after it, so that the next kernel may launch as soon as every CTA of
    this one has started. It marks the module with the global
    `qat_griddepcontrol`: the qat CUDA runtime launches the kernels of
    marked modules with the programmatic stream serialization attribute,
    and every other kernel as before. Needs sm_90 or newer.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect"];
}

def CPUPackContractionOperands : Pass<"qat-cpu-pack-contraction-operands",
                                      "func::FuncOp"> {
  let summary = "Copy transposed operands of matmuls into the row-major "
                "layout the CPU micro-kernel reads";
  let description = [{
    A training step multiplies every weight in three forms: `x w^T`
    (forward), `dy w` and `dy^T x` (backward), written as `linalg.matmul`
    or `linalg.batch_matmul` with transposed indexing maps. The CPU
    micro-kernel (`qat-cpu-vectorize-contractions`) streams rows of `B` as
    vectors and broadcasts elements of `A`; a transposed `B` would be read
    one element at a time with a stride. This pass rewrites such an op into
    `linalg.transpose` of the transposed operands into fresh tensors (the
    packing step of a GEMM: O(n^2) copies against O(n^3) products) and the
    same op with the default maps. A transposed `A` is packed too, so that
    the kernel sees one form.

    <!-- mlir-doc: skip a sketch: signatures or types only -->
    ```mlir
    %y = linalg.matmul indexing_maps = [(m, k), (n, k), (m, n)]
        ins(%x, %w : tensor<64x128xf32>, tensor<32x128xf32>) ...
    // becomes
    %wt = linalg.transpose ins(%w : tensor<32x128xf32>)
        outs(%e : tensor<128x32xf32>) permutation = [1, 0]
    %y = linalg.matmul ins(%x, %wt : tensor<64x128xf32>, tensor<128x32xf32>) ...
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def CPUVectorizeContractions : Pass<"qat-cpu-vectorize-contractions",
                                    "func::FuncOp"> {
  let summary = "Tile f32 matmuls on tensors into register blocks and "
                "vectorize them into outer products";
  let description = [{
    Rewrites each `linalg.matmul` and `linalg.batch_matmul` on tensors with
    the default indexing maps, static shapes and f32 operands into a loop
    nest over register blocks of `C` (`rows` x `cols`, the largest sizes
    from the options' lists that divide the dimensions) and, innermost, the
    contraction dimension one element at a time: each iteration is one
    `vector.contract` of an `A` column (rows elements, broadcast) with a `B`
    row (cols elements), which `convert-vector-to-llvm` with the
    `outerproduct` contraction lowering turns into `rows` fused
    multiply-adds on `cols`-wide vectors. The block of `C` is carried by the
    contraction loop: its slice and its vector read and write are hoisted
    out of the loop (`hoistLoopInvariantSubsets`), so it lives in registers:
    8x32 f32 is 16 AVX-512 registers.

    Where `B` has more columns than a block, the op is first tiled into
    panels of `cols` columns of `C` (the outer loop), and each panel's
    columns of `B` are copied (`linalg.copy`) into a contiguous K x cols
    tensor that the panel's blocks read: the packing step of a GEMM, which
    turns the blocks' reads of `B` rows at `B`'s row stride into one
    sequential stream.

    An operand produced by `linalg.transpose` (the copy that
    `qat-cpu-pack-contraction-operands` makes of a transposed operand) is
    tiled into 16x16 blocks of its last two dimensions, each vectorized into
    a transposing `vector.transfer_read` and a write (AVX-512 permutes in
    LLVM) instead of scalar loops that read the source one element per
    cache line; transposes whose last two sizes are not multiples of 16 stay
    as they are.

    Ops whose sizes no listed block divides, other element types and
    other indexing maps are left alone (scalar loops after bufferization).
  }];
  let options = [
    ListOption<"rowSizes", "rows", "int64_t",
               "Rows of the register block of C, tried in order">,
    ListOption<"colSizes", "cols", "int64_t",
               "Columns of the register block of C, tried in order">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif // QAT_TRANSFORMS_PASSES_TD
