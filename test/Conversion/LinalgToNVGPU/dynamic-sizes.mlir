// RUN: qat-opt %s --split-input-file --convert-linalg-contractions-to-nvgpu="chip=sm_80" | FileCheck %s --check-prefix=MMA
// RUN: qat-opt %s --split-input-file --convert-linalg-contractions-to-nvgpu="chip=sm_90a" | FileCheck %s --check-prefix=WG
// RUN: qat-opt %s --split-input-file --qat-to-nvptx="chip=sm_80 format=isa" | FileCheck %s --check-prefix=PTX80
// RUN: qat-opt %s --split-input-file --qat-to-nvptx="chip=sm_90a format=isa" | FileCheck %s --check-prefix=PTX90A
// RUN: qat-opt %s --split-input-file --qat-to-nvptx="chip=sm_80 format=bin toolkit=/usr/local/cuda" | FileCheck %s --check-prefix=BIN
// RUN: qat-opt %s --split-input-file --qat-to-nvptx="chip=sm_90a format=bin toolkit=/usr/local/cuda" | FileCheck %s --check-prefix=BIN

// Rows known only at run time (a training batch's tokens) take the
// tensor-core kernels too: the kernel reads the dynamic M, K or batch from
// A's buffer, the host computes the grid from it and allocates the result
// with its rows. A dynamic size counts as large for the tile choice. Through
// the whole pipeline the kernels are mma.sync (sm_80) and wgmma with TMA
// (sm_90a) PTX, which ptxas assembles for both.

// PTX80:      gpu.binary @qat_contraction_dynx512x256_bf16_f32_128x128
// PTX80-SAME:   mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX90A:     gpu.binary @qat_contraction_dynx512x256_bf16_f32_128x256_wgmma_claimed
// PTX90A-SAME:  wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16
// PTX90A-SAME:  cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// PTX90A-NOT:   .local
// BIN:        gpu.binary @qat_contraction_dynx512x256_{{[a-z0-9_]+}} {{.*}}bin = "\7FELF
// BIN:        gpu.binary @qat_contraction_512x256xdyn_{{[a-z0-9_]+}} {{.*}}bin = "\7FELF
// BIN:        gpu.binary @qat_contraction_dynxdynx128x64_{{[a-z0-9_]+}} {{.*}}bin = "\7FELF

// The forward product and the input gradient: M dynamic. Rows past M are
// clamped on load and not stored.
// MMA-LABEL: gpu.module @qat_contraction_dynx512x256_bf16_f32_128x128
// MMA:         gpu.func @qat_contraction_mma_sync(%[[A:.*]]: memref<?x256xbf16>, %{{.*}}: memref<512x256xbf16>, %{{.*}}: memref<?x512xf32>)
// MMA:           %[[M:.*]] = memref.dim %[[A]], %c0
// MMA:           %[[TILESM:.*]] = arith.ceildivui %[[M]], %c128
// MMA:           %[[LAST:.*]] = arith.subi %[[M]], %c1
// MMA:           arith.cmpi ult, %{{.*}}, %[[M]]
// MMA:           arith.minui %{{.*}}, %[[LAST]]
// MMA-LABEL: func.func @forward(
// MMA:         %[[HA:.*]] = bufferization.to_buffer %arg0
// MMA:         %[[ROWS:.*]] = memref.dim %[[HA]], %c0
// MMA:         %[[OUT:.*]] = memref.alloc(%[[ROWS]]) : memref<?x512xf32>
// MMA:         %[[HM:.*]] = memref.dim %[[HA]], %c0
// MMA:         %[[HT:.*]] = arith.ceildivui %[[HM]], %c128
// MMA:         %[[GRID:.*]] = arith.muli %[[HT]], %c4
// MMA:         gpu.launch_func @qat_contraction_dynx512x256_bf16_f32_128x128::@qat_contraction_mma_sync blocks in (%[[GRID]], %c1{{[_0-9]*}}, %c1{{[_0-9]*}}) threads in (%c256,
// MMA-SAME:      args(%[[HA]] : memref<?x256xbf16>, %{{.*}} : memref<512x256xbf16>, %[[OUT]] : memref<?x512xf32>)
// MMA:         bufferization.to_tensor %[[OUT]] restrict writable : memref<?x512xf32> to tensor<?x512xf32>

// On sm_90a the TMA descriptors are made from the run-time buffers; the
// tiles are claimed (their count is not known at compile time) by at most
// one CTA a multiprocessor.
// WG-LABEL: gpu.module @qat_contraction_dynx512x256_bf16_f32_128x256_wgmma_claimed
// WG:         gpu.func @qat_contraction_wgmma(%[[A:.*]]: memref<?x256xbf16>,
// WG:           %[[M:.*]] = memref.dim %[[A]], %c0
// WG:           %[[TILESM:.*]] = arith.ceildivui %[[M]], %c128
// WG:           %[[TILES:.*]] = arith.muli %[[TILESM]], %c2
// WG:           scf.while
// WG:             arith.cmpi ult, %{{.*}}, %[[TILES]]
// WG-LABEL: func.func @forward(
// WG:         %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<?x512xf32>
// WG:         nvgpu.tma.create.descriptor
// WG:         nvgpu.tma.create.descriptor
// WG:         %[[HT:.*]] = arith.ceildivui %{{.*}}, %c128
// WG:         %[[ALL:.*]] = arith.muli %[[HT]], %c2
// WG:         %[[SMS:.*]] = call @mgpuMultiprocessorCount()
// WG:         %[[SMSI:.*]] = arith.index_castui %[[SMS]]
// WG:         %[[CTAS:.*]] = arith.minui %[[ALL]], %[[SMSI]]
// WG:         gpu.launch_func @qat_contraction_dynx512x256_bf16_f32_128x256_wgmma_claimed::@qat_contraction_wgmma blocks in (%[[CTAS]],
func.func @forward(%x: tensor<?x256xbf16>, %w: tensor<512x256xbf16>) -> tensor<?x512xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x256xbf16>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?x512xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?x512xf32>) -> tensor<?x512xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : tensor<?x256xbf16>, tensor<512x256xbf16>) outs(%z : tensor<?x512xf32>) -> tensor<?x512xf32>
  return %y : tensor<?x512xf32>
}

// -----

// The weight gradient dY^T X: the tokens are K, dynamic. K may be 0 at run
// time: mma.sync then loads no tile (the K loop under a condition, zero
// sums otherwise); wgmma's K loops run no iteration, and its consumers
// release no stage.
// PTX80:      gpu.binary @qat_contraction_512x256xdyn_bf16_f32_64x64
// PTX80-SAME:   mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX90A:     gpu.binary @qat_contraction_512x256xdyn_bf16_f32_128x128_wgmma
// PTX90A-SAME:  wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16
// MMA-LABEL: gpu.module @qat_contraction_512x256xdyn_bf16_f32_64x64
// MMA:         gpu.func @qat_contraction_mma_sync(%[[A:.*]]: memref<?x512xbf16>, %{{.*}}: memref<?x256xbf16>, %{{.*}}: memref<512x256xf32>)
// MMA:           %[[K:.*]] = memref.dim %[[A]], %c0
// MMA:           %[[KT:.*]] = arith.ceildivui %[[K]], %c32
// MMA:           %[[ANY:.*]] = arith.cmpi ne, %[[KT]], %c0
// MMA:           %{{.*}}:8 = scf.if %[[ANY]] -> (vector<2x2xf32>,
// MMA:             arith.subi %[[K]], %c1
// MMA:             %[[LASTT:.*]] = arith.subi %[[KT]], %c1
// MMA:             scf.for %{{.*}} = %c0 to %[[LASTT]] step %c1
// MMA:           } else {
// MMA-NEXT:        scf.yield %cst, %cst, %cst, %cst, %cst, %cst, %cst, %cst
// MMA-LABEL: func.func @weight_gradient(
// MMA:         %[[OUT:.*]] = memref.alloc() : memref<512x256xf32>
// MMA:         gpu.launch_func @qat_contraction_512x256xdyn_bf16_f32_64x64::@qat_contraction_mma_sync blocks in (%c32, %c1{{[_0-9]*}}, %c1{{[_0-9]*}})

// WG-LABEL: gpu.module @qat_contraction_512x256xdyn_bf16_f32_128x128_wgmma
// WG:         gpu.func @qat_contraction_wgmma(%[[A:.*]]: memref<?x512xbf16>,
// WG:           %[[K:.*]] = memref.dim %[[A]], %c0
// WG:           %[[KT:.*]] = arith.ceildivui %[[K]], %c64
// WG:           scf.for %{{.*}} = %c0 to %[[KT]] step %c1 iter_args
// WG:           nvvm.wgmma.wait.group.sync.aligned 0
// WG:           %[[ANY:.*]] = arith.cmpi ne, %[[KT]], %c0
// WG:           scf.if %[[ANY]] {
// WG:             nvgpu.mbarrier.arrive
// WG:           scf.for %{{.*}} = %c0 to %[[KT]] step %c1 {
func.func @weight_gradient(%dy: tensor<?x512xbf16>, %x: tensor<?x256xbf16>) -> tensor<512x256xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<512x256xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<512x256xf32>) -> tensor<512x256xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%dy, %x : tensor<?x512xbf16>, tensor<?x256xbf16>) outs(%z : tensor<512x256xf32>) -> tensor<512x256xf32>
  return %y : tensor<512x256xf32>
}

// -----

// A dynamic batch (and M) with a fused epilogue reading a tensor of the
// result's dynamic shape: mma.sync launches the batch along y, wgmma counts
// the tiles of every batch along x.
// PTX80:      gpu.binary @qat_contraction_dynxdynx128x64_bf16_f32_128x128_epilogue
// PTX80-SAME:   mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX90A:     gpu.binary @qat_contraction_dynxdynx128x64_bf16_f32_128x256_wgmma_claimed_epilogue
// PTX90A-SAME:  wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16
// PTX90A-SAME:  cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// MMA-LABEL: gpu.module @qat_contraction_dynxdynx128x64_bf16_f32_128x128_epilogue
// MMA-LABEL: func.func @batched_residual(
// MMA:         %[[HA:.*]] = bufferization.to_buffer %arg0
// MMA:         %[[BATCH:.*]] = memref.dim %[[HA]], %c0
// MMA:         %[[ROWS:.*]] = memref.dim %[[HA]], %c1
// MMA:         %[[OUT:.*]] = memref.alloc(%[[BATCH]], %[[ROWS]]) : memref<?x?x128xbf16>
// MMA:         %[[HM:.*]] = memref.dim %[[HA]], %c1
// MMA:         %[[HT:.*]] = arith.ceildivui %[[HM]], %c128
// MMA:         %[[HB:.*]] = memref.dim %[[HA]], %c0
// MMA:         gpu.launch_func @qat_contraction_dynxdynx128x64_bf16_f32_128x128_epilogue::@qat_contraction_mma_sync blocks in (%[[HT]], %[[HB]], %c1{{[_0-9]*}})
// MMA-SAME:      memref<?x?x128xbf16>, %[[OUT]] : memref<?x?x128xbf16>)

// WG-LABEL: gpu.module @qat_contraction_dynxdynx128x64_bf16_f32_128x256_wgmma_claimed_epilogue
// WG:         gpu.func @qat_contraction_wgmma(%[[A:.*]]: memref<?x?x64xbf16>,
// WG:           %[[M:.*]] = memref.dim %[[A]], %c1
// WG:           %[[B:.*]] = memref.dim %[[A]], %c0
// WG:           %[[TILESM:.*]] = arith.ceildivui %[[M]], %c128
// WG:           %[[ALL:.*]] = arith.muli %[[TILESM]], %[[B]]
// WG-LABEL: func.func @batched_residual(
// WG:         %[[HT:.*]] = arith.ceildivui %{{.*}}, %c128
// WG:         %[[HB:.*]] = memref.dim
// WG:         %[[ALL:.*]] = arith.muli %[[HT]], %[[HB]]
// WG:         call @mgpuMultiprocessorCount()
#a = affine_map<(b, m, n, k) -> (b, m, k)>
#w = affine_map<(b, m, n, k) -> (b, n, k)>
#o = affine_map<(b, m, n, k) -> (b, m, n)>
#id = affine_map<(b, m, n) -> (b, m, n)>
func.func @batched_residual(%x: tensor<?x?x64xbf16>, %w: tensor<?x128x64xbf16>, %r: tensor<?x?x128xbf16>) -> tensor<?x?x128xbf16> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : tensor<?x?x64xbf16>
  %m = tensor.dim %x, %c1 : tensor<?x?x64xbf16>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%b, %m) : tensor<?x?x128xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
  %y = linalg.generic {indexing_maps = [#a, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x?x64xbf16>, tensor<?x128x64xbf16>) outs(%z : tensor<?x?x128xf32>) {
  ^bb0(%xe: bf16, %we: bf16, %acc: f32):
    %xf = arith.extf %xe : bf16 to f32
    %wf = arith.extf %we : bf16 to f32
    %p = arith.mulf %xf, %wf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?x128xf32>
  %e2 = tensor.empty(%b, %m) : tensor<?x?x128xbf16>
  %out = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%y, %r : tensor<?x?x128xf32>, tensor<?x?x128xbf16>) outs(%e2 : tensor<?x?x128xbf16>) {
  ^bb0(%ye: f32, %re: bf16, %o: bf16):
    %rf = arith.extf %re : bf16 to f32
    %sum = arith.addf %ye, %rf : f32
    %t = arith.truncf %sum : f32 to bf16
    linalg.yield %t : bf16
  } -> tensor<?x?x128xbf16>
  return %out : tensor<?x?x128xbf16>
}
