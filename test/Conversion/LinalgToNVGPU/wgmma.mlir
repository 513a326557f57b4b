// RUN: qat-opt %s --split-input-file --convert-linalg-contractions-to-nvgpu="chip=sm_90a" | FileCheck %s
// RUN: qat-opt %s --split-input-file --convert-linalg-contractions-to-nvgpu="chip=sm_90" | FileCheck %s --check-prefix=SM90
// RUN: qat-opt %s --split-input-file --convert-linalg-contractions-to-nvgpu="chip=sm_90a precision=bf16" | FileCheck %s --check-prefix=BF16
// RUN: not qat-opt %s --convert-linalg-contractions-to-nvgpu="chip=sm_999" 2>&1 | FileCheck %s --check-prefix=BADCHIP
// RUN: not qat-opt %s --convert-linalg-contractions-to-nvgpu="chip=gfx90a" 2>&1 | FileCheck %s --check-prefix=BADCHIP

// A chip that is not a CUDA architecture is an error when the options are
// parsed.
// BADCHIP: error: convert-linalg-contractions-to-nvgpu: chip={{sm_999|gfx90a}} is not a CUDA architecture (sm_<N> up to sm_121, optionally with an 'a' or 'f' suffix)

// With chip=sm_90a, a contraction whose operands are already of the compute
// type and whose contiguous dimensions TMA can load runs on the wgmma
// kernel: TMA descriptors made on the host, dynamic shared memory, 384
// threads. sm_90 (portable PTX) keeps mma.sync.

// A B^T (both K-major): no transpose bits; 300 / 128 and 260 / 256 are not
// whole tiles, 3 x 2 = 6 large tiles < 120: the 128x128 tile (3 x 3 tiles;
// up to 4 tiles a multiprocessor, one CTA a multiprocessor loops over them,
// else a CTA a tile).
// CHECK-LABEL: gpu.module @qat_contraction_300x260x200_bf16_f32_128x128_wgmma
// CHECK:         gpu.func @qat_contraction_wgmma(%{{.*}}: memref<300x200xbf16>, %{{.*}}: memref<260x200xbf16>, %{{.*}}: memref<300x260xf32>, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr) kernel attributes {known_block_size = array<i32: 384, 1, 1>, nvvm.maxntid = array<i32: 384, 1, 1>, nvvm.minctasm = 1 : i32}
// CHECK:           nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 12>
// CHECK:           nvvm.setmaxregister  increase 232
// CHECK:           %[[PID:.*]] = gpu.block_id  x
// CHECK:           %[[CTAS:.*]] = gpu.grid_dim  x
// CHECK:           scf.for %{{.*}} = %[[PID]] to %c9 step %[[CTAS]]
// CHECK:           nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 128, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK:           nvvm.wgmma.wait.group.sync.aligned 1
// CHECK:           nvgpu.mbarrier.arrive
// CHECK:           vector.store {{.*}} : memref<300x260xf32>, vector<2xf32>
// CHECK:           nvvm.setmaxregister  decrease 40
// CHECK:           nvgpu.tma.async.load {{.*}} : <tensor = memref<128x64xbf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = l2promo_256b, oob = zero, interleave = none>, <memorySpace = #gpu.address_space<workgroup>, num_barriers = 12> -> memref<128x64xbf16, #gpu.address_space<workgroup>>
// CHECK:           nvgpu.tma.async.load {{.*}} -> memref<128x64xbf16, #gpu.address_space<workgroup>>
// CHECK-LABEL: func.func @nt(
// CHECK:         %[[A:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<300x200xbf16> to memref<300x200xbf16>
// CHECK:         %[[B:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<260x200xbf16> to memref<260x200xbf16>
// CHECK:         %[[C:.*]] = memref.alloc() : memref<300x260xf32>
// CHECK:         %[[DA:.*]] = nvgpu.tma.create.descriptor %{{.*}} box[%c128, %c64]
// CHECK:         %[[DB:.*]] = nvgpu.tma.create.descriptor %{{.*}} box[%c128{{.*}}, %c64{{.*}}]
// CHECK:         %[[SMS:.*]] = call @mgpuMultiprocessorCount() : () -> i32
// CHECK:         %[[SMSX:.*]] = arith.index_castui %[[SMS]] : i32 to index
// CHECK:         %[[ONE_EACH:.*]] = arith.minui %c9{{.*}}, %[[SMSX]] : index
// CHECK:         %[[MOST:.*]] = arith.muli %[[SMSX]], %c4{{.*}} : index
// CHECK:         %[[FEW:.*]] = arith.cmpi ule, %c9{{.*}}, %[[MOST]] : index
// CHECK:         %[[GRID:.*]] = arith.select %[[FEW]], %[[ONE_EACH]], %c9{{.*}} : index
// CHECK:         gpu.launch_func @qat_contraction_300x260x200_bf16_f32_128x128_wgmma::@qat_contraction_wgmma blocks in (%[[GRID]], %{{.*}}, %{{.*}}) threads in (%c384, %{{.*}}, %{{.*}}) dynamic_shared_memory_size %c197632_i32 args(%[[A]] : memref<300x200xbf16>, %[[B]] : memref<260x200xbf16>, %[[C]] : memref<300x260xf32>, %{{.*}} : !llvm.ptr, %{{.*}} : !llvm.ptr)

// SM90-LABEL: gpu.module @qat_contraction_300x260x200_bf16_f32_64x64
// SM90:         gpu.func @qat_contraction_mma_sync
func.func @nt(%a: tensor<300x200xbf16>, %b: tensor<260x200xbf16>) -> tensor<300x260xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<300x260xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<300x260xf32>) -> tensor<300x260xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
      affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : tensor<300x200xbf16>, tensor<260x200xbf16>)
      outs(%z : tensor<300x260xf32>) -> tensor<300x260xf32>
  return %y : tensor<300x260xf32>
}

// -----

// A^T B, the weight gradient of a backward pass (both operands M- or
// N-major): both transpose bits, one 64 x 64 TMA box per 64 rows of a
// tile.
// CHECK-LABEL: gpu.module @qat_contraction_296x264x200_bf16_bf16_128x128_wgmma
// CHECK:         nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 128, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// CHECK-COUNT-4: nvgpu.tma.async.load {{.*}} -> memref<64x64xbf16, #gpu.address_space<workgroup>>
// CHECK-NOT:     nvgpu.tma.async.load
// CHECK-LABEL: func.func @tn(
// CHECK:         nvgpu.tma.create.descriptor %{{.*}} box[%c64, %c64{{.*}}]
func.func @tn(%a: tensor<200x296xbf16>, %b: tensor<200x264xbf16>) -> tensor<296x264xbf16> {
  %zero = arith.constant 0.0 : bf16
  %e = tensor.empty() : tensor<296x264xbf16>
  %z = linalg.fill ins(%zero : bf16) outs(%e : tensor<296x264xbf16>) -> tensor<296x264xbf16>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>,
      affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : tensor<200x296xbf16>, tensor<200x264xbf16>)
      outs(%z : tensor<296x264xbf16>) -> tensor<296x264xbf16>
  return %y : tensor<296x264xbf16>
}

// -----

// Batches (a rank-3 box with one batch element; the tiles of all batches
// shared by the persistent CTAs) and the 128x256 tile: 16 x 5 x 2 = 160 >= 120 large tiles, 4 stages of
// 48 KiB. tf32 for f32 operands with K contiguous in both.
// CHECK-LABEL: gpu.module @qat_contraction_2x2000x1104x72_f16_f32_128x256_wgmma
// CHECK:         nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 8>
// CHECK:         nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 256, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <row>]
// CHECK:         nvgpu.tma.async.load {{.*}} -> memref<1x128x64xf16, #gpu.address_space<workgroup>>
// CHECK-COUNT-4: nvgpu.tma.async.load {{.*}} -> memref<1x64x64xf16, #gpu.address_space<workgroup>>
// CHECK-LABEL: func.func @batch(
// CHECK:         arith.select %{{.*}}, %{{.*}}, %c160{{.*}} : index
// CHECK:         gpu.launch_func @qat_contraction_2x2000x1104x72_f16_f32_128x256_wgmma::@qat_contraction_wgmma blocks in (%{{.*}}, %c1{{.*}}, %{{.*}}) threads in (%c384, %{{.*}}, %{{.*}}) dynamic_shared_memory_size %c197632_i32
// CHECK-LABEL: gpu.module @qat_contraction_100x72x48_tf32_f32_128x128_wgmma
// CHECK:         nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 128, k = 8>, D[<f32>, <one>], A[<tf32>, <one>, <row>], B[<tf32>, <one>, <col>]
// CHECK:         nvgpu.tma.async.load {{.*}} -> memref<128x32xf32, #gpu.address_space<workgroup>>
func.func @batch(%a: tensor<2x2000x72xf16>, %b: tensor<2x72x1104xf16>) -> tensor<2x2000x1104xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x2000x1104xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x2000x1104xf32>) -> tensor<2x2000x1104xf32>
  %y = linalg.batch_matmul ins(%a, %b : tensor<2x2000x72xf16>, tensor<2x72x1104xf16>)
      outs(%z : tensor<2x2000x1104xf32>) -> tensor<2x2000x1104xf32>
  return %y : tensor<2x2000x1104xf32>
}
func.func @tf32(%a: tensor<100x48xf32>, %b: tensor<72x48xf32>) -> tensor<100x72xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<100x72xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<100x72xf32>) -> tensor<100x72xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
      affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : tensor<100x48xf32>, tensor<72x48xf32>)
      outs(%z : tensor<100x72xf32>) -> tensor<100x72xf32>
  return %y : tensor<100x72xf32>
}

// -----

// More tiles than 4 a multiprocessor of 132 (33 x 17 = 561 of 128x256): one
// CTA a multiprocessor at most, each claiming its next tile from a counter
// that the host zeroes before the launch (a fresh one a launch). The
// producer claims (atomic add), writes the tile to one of two slots past
// the stages and arrives on the slot's full barrier (8 + i); the consumers
// read it and arrive on its empty barrier (10 + i); both stop at a tile
// past the last.
// CHECK-LABEL: gpu.module @qat_contraction_4200x4300x40_bf16_f32_128x256_wgmma_claimed
// CHECK:         gpu.func @qat_contraction_wgmma({{.*}}, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %[[COUNTER:.*]]: memref<1xi32>)
// CHECK:           nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 12>
// CHECK:           nvgpu.mbarrier.init %{{.*}}[%c8], %c1
// CHECK:           nvgpu.mbarrier.init %{{.*}}[%c10], %c256
// CHECK:           nvgpu.mbarrier.init %{{.*}}[%c9], %c1
// CHECK:           nvgpu.mbarrier.init %{{.*}}[%c11], %c256
// CHECK:           %[[SLOTS:.*]] = memref.view %{{.*}}[%c196608{{.*}}][] : memref<196616xi8, #gpu.address_space<workgroup>> to memref<2xi32, #gpu.address_space<workgroup>>
// CHECK:           nvvm.setmaxregister  increase 232
// CHECK:           scf.while (%[[CLAIMS:.*]] = %c0{{.*}}, %{{.*}} = %c0{{.*}}) : (index, index) -> (index, index, index)
// CHECK:             %[[SLOT:.*]] = arith.remui %[[CLAIMS]], %c2
// CHECK:             %[[FULL:.*]] = arith.addi %[[SLOT]], %c8
// CHECK:             %[[EMPTY:.*]] = arith.addi %[[SLOT]], %c10
// CHECK:             nvgpu.mbarrier.try_wait.parity %{{.*}}[%[[FULL]]]
// CHECK:             %[[GOT:.*]] = memref.load %[[SLOTS]][%[[SLOT]]]
// CHECK:             nvgpu.mbarrier.arrive %{{.*}}[%[[EMPTY]]]
// CHECK:             %[[TILE:.*]] = arith.index_castui %[[GOT]] : i32 to index
// CHECK:             %[[MORE:.*]] = arith.cmpi ult, %[[TILE]], %c561
// CHECK:             scf.condition(%[[MORE]]) %[[TILE]], %[[CLAIMS]]
// CHECK:           nvvm.wgmma.mma_async
// CHECK:           nvvm.setmaxregister  decrease 40
// CHECK:           scf.while
// CHECK:             nvgpu.mbarrier.try_wait.parity %{{.*}}[%{{.*}}], %{{.*}}, %c10000000
// CHECK:             %[[TICKET:.*]] = memref.atomic_rmw addi %{{.*}}, %[[COUNTER]][%c0{{.*}}] : (i32, memref<1xi32>) -> i32
// CHECK:             memref.store %[[TICKET]], %[[SLOTS]]
// CHECK:             nvgpu.mbarrier.arrive
// CHECK:           nvgpu.tma.async.load
// CHECK-LABEL: func.func @claimed(
// CHECK:         %[[SMS:.*]] = call @mgpuMultiprocessorCount() : () -> i32
// CHECK:         %[[SMSX:.*]] = arith.index_castui %[[SMS]] : i32 to index
// CHECK:         %[[GRID:.*]] = arith.minui %c561{{.*}}, %[[SMSX]] : index
// CHECK-NOT:     arith.select
// CHECK:         %[[C:.*]] = memref.alloc() : memref<1xi32>
// CHECK:         gpu.memset %[[C]], %c0_i32 : memref<1xi32>, i32
// CHECK:         gpu.launch_func @qat_contraction_4200x4300x40_bf16_f32_128x256_wgmma_claimed::@qat_contraction_wgmma blocks in (%[[GRID]], %{{.*}}, %{{.*}}) threads in (%c384, %{{.*}}, %{{.*}}) dynamic_shared_memory_size %c197640_i32 args({{.*}}, %[[C]] : memref<1xi32>)
func.func @claimed(%a: tensor<4200x40xbf16>, %b: tensor<4300x40xbf16>) -> tensor<4200x4300xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4200x4300xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4200x4300xf32>) -> tensor<4200x4300xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
      affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : tensor<4200x40xbf16>, tensor<4300x40xbf16>)
      outs(%z : tensor<4200x4300xf32>) -> tensor<4200x4300xf32>
  return %y : tensor<4200x4300xf32>
}

// -----

// What TMA or wgmma cannot take keeps mma.sync: f32 with N contiguous (tf32
// has no transposed operand), mixed types (TMA does not convert), and rows
// of 300 bf16 (600 bytes, not a multiple of 16). With precision=bf16, f32
// operands (and the f32 beside a bf16 one) are rounded to bf16 by an
// elementwise op of their own, and the products take the wgmma kernel.
// CHECK-LABEL: gpu.module @qat_contraction_100x72x48_tf32_f32_64x64
// CHECK:         gpu.func @qat_contraction_mma_sync
// CHECK-LABEL: gpu.module @qat_contraction_100x72x48_tf32_f32_64x64_0
// CHECK:         gpu.func @qat_contraction_mma_sync
// CHECK-LABEL: gpu.module @qat_contraction_300x64x32_bf16_f32_64x64
// CHECK:         gpu.func @qat_contraction_mma_sync
// CHECK-NOT:   wgmma
// BF16-LABEL: func.func @fallbacks(
// BF16:         linalg.generic {{.*}} ins(%arg0 : tensor<100x48xf32>) outs(%{{.*}} : tensor<100x48xbf16>)
// BF16:           arith.truncf %{{.*}} : f32 to bf16
// BF16:         linalg.generic {{.*}} ins(%arg1 : tensor<48x72xf32>) outs(%{{.*}} : tensor<48x72xbf16>)
// BF16:         gpu.launch_func @qat_contraction_100x72x48_bf16_f32_128x128_wgmma::@qat_contraction_wgmma
// BF16:         linalg.generic {{.*}} ins(%arg1 : tensor<48x72xf32>) outs(%{{.*}} : tensor<48x72xbf16>)
// BF16:         gpu.launch_func @qat_contraction_100x72x48_bf16_f32_128x128_wgmma::@qat_contraction_wgmma
// BF16:         gpu.launch_func @qat_contraction_300x64x32_bf16_f32_64x64::@qat_contraction_mma_sync
func.func @fallbacks(%a: tensor<100x48xf32>, %b: tensor<48x72xf32>,
                     %c: tensor<100x48xbf16>, %d: tensor<32x300xbf16>,
                     %e: tensor<32x64xbf16>)
    -> (tensor<100x72xf32>, tensor<100x72xf32>, tensor<300x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %t = tensor.empty() : tensor<100x72xf32>
  %z = linalg.fill ins(%zero : f32) outs(%t : tensor<100x72xf32>) -> tensor<100x72xf32>
  %y = linalg.matmul ins(%a, %b : tensor<100x48xf32>, tensor<48x72xf32>)
      outs(%z : tensor<100x72xf32>) -> tensor<100x72xf32>
  %m = linalg.matmul ins(%c, %b : tensor<100x48xbf16>, tensor<48x72xf32>)
      outs(%z : tensor<100x72xf32>) -> tensor<100x72xf32>
  %t2 = tensor.empty() : tensor<300x64xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%t2 : tensor<300x64xf32>) -> tensor<300x64xf32>
  %o = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>,
      affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%d, %e : tensor<32x300xbf16>, tensor<32x64xbf16>)
      outs(%z2 : tensor<300x64xf32>) -> tensor<300x64xf32>
  return %y, %m, %o : tensor<100x72xf32>, tensor<100x72xf32>, tensor<300x64xf32>
}

// -----

// The wgmma kernel counts the tiles of every batch on the grid's x: 65535
// batches of 257 x 128 of its tiles exceed 2^31 - 1, so the product keeps
// mma.sync, whose grid has the batch on y.
// CHECK-LABEL: gpu.module @qat_contraction_65535x32896x32768x64_bf16_f32_128x128
// CHECK:         gpu.func @qat_contraction_mma_sync
// CHECK-NOT:     wgmma
func.func @huge_batch(%a: tensor<65535x32896x64xbf16>, %b: tensor<65535x64x32768xbf16>)
    -> tensor<65535x32896x32768xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<65535x32896x32768xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<65535x32896x32768xf32>) -> tensor<65535x32896x32768xf32>
  %y = linalg.batch_matmul ins(%a, %b : tensor<65535x32896x64xbf16>, tensor<65535x64x32768xbf16>)
      outs(%z : tensor<65535x32896x32768xf32>) -> tensor<65535x32896x32768xf32>
  return %y : tensor<65535x32896x32768xf32>
}
