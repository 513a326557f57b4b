// RUN: qat-opt %s --split-input-file --convert-qat-matmul-to-nvgpu=chip=sm_90a | FileCheck %s
// RUN: qat-opt %s --split-input-file --convert-qat-matmul-to-nvgpu=chip=sm_90a | FileCheck %s --check-prefix=NARROW
// RUN: qat-opt %s --split-input-file --convert-qat-matmul-to-nvgpu=chip=sm_90 | FileCheck %s --check-prefix=SM90
// RUN: qat-opt %s --split-input-file --convert-qat-matmul-to-nvgpu="stages=2 chip=sm_90a" | FileCheck %s --check-prefix=TWO
// RUN: not qat-opt %s --convert-qat-matmul-to-nvgpu="strategy=wgmma stages=5" 2>&1 | FileCheck %s --check-prefix=FIVE
// RUN: qat-opt %s --split-input-file --convert-qat-matmul-to-nvgpu="strategy=wgmma chip=sm_90a" | FileCheck %s --check-prefix=PACKED
// RUN: not qat-opt %s --convert-qat-matmul-to-nvgpu="strategy=wgmma chip=sm_80" 2>&1 | FileCheck %s --check-prefix=SM80

// With chip=sm_90a, s8 codes take the warpgroup-MMA kernel: TMA
// descriptors of A and B made on the host (the codes viewed as ui8, which
// upstream's lowering maps to CU_TENSOR_MAP_DATA_TYPE_UINT8), 384 threads,
// dynamic shared memory for 4 stages of 48 KiB (the 128 x 256 tile: 16 x 9
// of them) and the 1024 bytes of alignment slack; in the kernel mbarriers,
// TMA loads and nvvm.wgmma.mma_async. The signed x centered product needs
// the row sums of A's codes: a kernel of their own computes them before the
// launch, and the epilogue reads them. The kernel is persistent: each CTA
// takes every gridDim.x-th of the 144 tiles, one CTA a multiprocessor for
// up to 2 tiles each (else one a tile), and gives the tile's last stage
// back to the producer before its epilogue. Plain sm_90 keeps the mma.sync
// kernel (wgmma is sm_90a only).

// CHECK: gpu.module @qat_matmul_2000x2056x256_signed_centered_s8_bf16_wgmma
// CHECK: gpu.func @qat_matmul_wgmma(%{{.*}}: memref<2000x256xi8>, %{{.*}}: memref<2056x256xi8>, %{{.*}}: memref<1x1xf32>, %{{.*}}: memref<2056x1xf32>, %{{.*}}: memref<2000x2056xbf16>, %{{.*}}: memref<2000xi32>, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr) kernel
// CHECK-SAME: known_block_size = array<i32: 384, 1, 1>
// CHECK-SAME: nvvm.maxntid = array<i32: 384, 1, 1>
// CHECK-SAME: nvvm.minctasm = 1
// CHECK: gpu.dynamic_shared_memory
// CHECK: nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 8>
// CHECK-COUNT-4: nvgpu.mbarrier.init
// CHECK: nvvm.fence.proxy
// CHECK: gpu.barrier
// CHECK: nvvm.setmaxregister  increase 232
// CHECK: %[[PID:.*]] = gpu.block_id  x
// CHECK: %[[CTAS:.*]] = gpu.grid_dim  x
// CHECK: scf.for %{{.*}} = %[[PID]] to %c144 step %[[CTAS]] iter_args
// CHECK: nvgpu.mbarrier.try_wait.parity
// CHECK-NOT: nvvm.dot.accumulate.4way
// CHECK: nvgpu.warpgroup.generate.descriptor
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 256, k = 32>, D[<s32>, <one>], A[<s8>, <one>, <row>], B[<s8>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: nvgpu.mbarrier.arrive
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NEXT: arith.addi
// CHECK-NEXT: arith.remui
// CHECK-NEXT: arith.addi
// CHECK-NEXT: nvgpu.mbarrier.arrive
// CHECK-NOT: nvvm.barrier
// CHECK: memref.load %{{.*}} : memref<2000xi32>
// CHECK: llvm.extractvalue
// CHECK: nvvm.setmaxregister  decrease 40
// CHECK: nvgpu.tma.prefetch.descriptor
// CHECK: nvgpu.mbarrier.try_wait.parity
// CHECK: nvgpu.mbarrier.arrive.expect_tx %{{.*}}[%{{.*}}], %c49152
// CHECK: nvgpu.tma.async.load {{.*}} : <tensor = memref<128x128xui8, #gpu.address_space<workgroup>>, swizzle = swizzle_128b
// CHECK: nvgpu.tma.async.load {{.*}} : <tensor = memref<256x128xui8, #gpu.address_space<workgroup>>, swizzle = swizzle_128b

// The row sums' kernel: a warp a row, 16-byte loads, dp4a, a butterfly of
// shuffles; any row count.
// CHECK: gpu.module @qat_code_row_sums_k256
// CHECK: gpu.func @qat_code_row_sums(%{{.*}}: memref<?x256xi8>, %{{.*}}: memref<?xi32>) kernel
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK: vector.load {{.*}} {alignment = 16 : i64} : memref<?x256xi8>, vector<16xi8>
// CHECK-COUNT-4: nvvm.dot.accumulate.4way
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: memref.store

// CHECK-LABEL: func.func @matmuls
// CHECK: %[[A:.*]] = bufferization.to_buffer %arg0
// CHECK: %[[SUMBUF:.*]] = memref.alloc() : memref<2000xi32>
// CHECK: %[[ADYN:.*]] = memref.cast %[[A]] : memref<2000x256xi8> to memref<?x256xi8>
// CHECK: %[[SDYN:.*]] = memref.cast %[[SUMBUF]] : memref<2000xi32> to memref<?xi32>
// CHECK: gpu.launch_func  @qat_code_row_sums_k256::@qat_code_row_sums blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%c256{{.*}}, %{{.*}}, %{{.*}})  args(%[[ADYN]] : memref<?x256xi8>, %[[SDYN]] : memref<?xi32>)
// CHECK: memref.collapse_shape %{{.*}} {{\[\[}}0, 1]] : memref<2000x256xi8> into memref<512000xi8>
// CHECK: memref.view {{.*}} to memref<2000x256xui8>
// CHECK: nvgpu.tma.create.descriptor %{{.*}} box[%c128{{.*}}, %c128{{.*}}] : memref<*xui8> -> <tensor = memref<128x128xui8
// CHECK: nvgpu.tma.create.descriptor %{{.*}} box[%c256{{.*}}, %c128{{.*}}] : memref<*xui8> -> <tensor = memref<256x128xui8
// CHECK: %[[SMS:.*]] = call @mgpuMultiprocessorCount() : () -> i32
// CHECK: arith.minui %c144
// CHECK: %[[MOST:.*]] = arith.muli %{{.*}}, %c2
// CHECK: arith.cmpi ule, %c144{{.*}}, %[[MOST]]
// CHECK: %[[GRID:.*]] = arith.select
// CHECK: gpu.launch_func  @qat_matmul_2000x2056x256_signed_centered_s8_bf16_wgmma::@qat_matmul_wgmma blocks in (%[[GRID]], %{{.*}}, %{{.*}}) threads in (%c384, %{{.*}}, %{{.*}})  dynamic_shared_memory_size %c197632_i32 args({{.*}}, %[[SUMBUF]] : memref<2000xi32>, {{.*}} : !llvm.ptr, {{.*}} : !llvm.ptr)

// SM90-NOT: wgmma
// SM90: gpu.func @qat_matmul_mma_sync
// SM90-NOT: wgmma

// Two stages (96 KiB); forcing wgmma onto another chip is an error.
// TWO: nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 4>
// TWO: gpu.launch_func  @qat_matmul_2000x2056x256_signed_centered_s8_bf16_wgmma::@qat_matmul_wgmma {{.*}} dynamic_shared_memory_size %c99328_i32

// FIVE: convert-qat-matmul-to-nvgpu: stages=5 must be 0 (the strategy's default) or 2 to 4
// SM80: error: 'qat.matmul' op the wgmma kernel needs chip=sm_90a, got chip=sm_80
func.func @matmuls(%a: tensor<2000x256xi8>, %b: tensor<2056x256xi8>,
                   %sa: tensor<1x1xf32>, %sb: tensor<2056x1xf32>)
    -> tensor<2000x2056xbf16> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 8 bits, learned, per_tensor>,
         <centered, 8 bits, rms_gaussian, per_row>
      : tensor<2000x256xi8>, tensor<2056x256xi8>, tensor<1x1xf32>,
        tensor<2056x1xf32> -> tensor<2000x2056xbf16>
  return %y : tensor<2000x2056xbf16>
}

// -----

// Few tiles (2 x 1 of 128 x 256 < 120): the 128 x 128 tile, twice as many
// CTAs, stages of 32 KiB.
// NARROW: gpu.module @qat_matmul_200x136x256_signed_signed_s8_bf16_wgmma_n128
// NARROW: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 128, k = 32>, D[<s32>, <one>], A[<s8>, <one>, <row>], B[<s8>, <one>, <col>]
// NARROW: nvgpu.mbarrier.arrive.expect_tx %{{.*}}[%{{.*}}], %c32768
// NARROW: nvgpu.tma.async.load {{.*}} : <tensor = memref<128x128xui8, #gpu.address_space<workgroup>>, swizzle = swizzle_128b
// NARROW: nvgpu.tma.create.descriptor %{{.*}} box[%c128{{.*}}, %c128{{.*}}] : memref<*xui8> -> <tensor = memref<128x128xui8
// NARROW: gpu.launch_func  @qat_matmul_200x136x256_signed_signed_s8_bf16_wgmma_n128::@qat_matmul_wgmma blocks in (%{{.*}}, %c1, %c1) threads in (%c384, %c1, %c1)  dynamic_shared_memory_size %c132096_i32
func.func @narrow(%a: tensor<200x256xi8>, %b: tensor<136x256xi8>,
                  %sa: tensor<200x1xf32>, %sb: tensor<136x1xf32>)
    -> tensor<200x136xbf16> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 8 bits, absmax, per_row>, <signed, 8 bits, absmax, per_row>
      : tensor<200x256xi8>, tensor<136x256xi8>, tensor<200x1xf32>,
        tensor<136x1xf32> -> tensor<200x136xbf16>
  return %y : tensor<200x136xbf16>
}


// -----

// Centered codes on both sides: one launch sums the rows of A (its first
// ceil(300 / 8) = 38 CTAs) and of B (the next 17).
// CHECK: gpu.module @qat_code_row_sums_k256_x2
// CHECK: gpu.func @qat_code_row_sums(%{{.*}}: memref<?x256xi8>, %{{.*}}: memref<?xi32>, %{{.*}}: memref<?x256xi8>, %{{.*}}: memref<?xi32>) kernel
// CHECK: %[[CTAS_A:.*]] = arith.ceildivui
// CHECK: %[[OF_A:.*]] = arith.cmpi ult, %{{.*}}, %[[CTAS_A]]
// CHECK: scf.if %[[OF_A]]
// CHECK: } else {
// CHECK: arith.subi %{{.*}}, %[[CTAS_A]]
// CHECK-LABEL: func.func @both_centered
// CHECK: %[[SA:.*]] = memref.alloc() : memref<300xi32>
// CHECK: %[[SB:.*]] = memref.alloc() : memref<136xi32>
// CHECK: %[[BLOCKS:.*]] = arith.addi
// CHECK: gpu.launch_func  @qat_code_row_sums_k256_x2::@qat_code_row_sums blocks in (%[[BLOCKS]], %{{.*}}, %{{.*}}) threads in (%c256{{.*}}, %{{.*}}, %{{.*}})  args(%{{.*}} : memref<?x256xi8>, %{{.*}} : memref<?xi32>, %{{.*}} : memref<?x256xi8>, %{{.*}} : memref<?xi32>)
// CHECK-NOT: qat_code_row_sums
// CHECK: gpu.launch_func  @qat_matmul_300x136x256_centered_centered_s8_f32_wgmma_n128::@qat_matmul_wgmma {{.*}}, %[[SA]] : memref<300xi32>, %[[SB]] : memref<136xi32>
func.func @both_centered(%a: tensor<300x256xi8>, %b: tensor<136x256xi8>,
                         %sa: tensor<300x1xf32>, %sb: tensor<136x1xf32>)
    -> tensor<300x136xf32> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <centered, 4 bits, rms_gaussian, per_row>,
         <centered, 4 bits, rms_gaussian, per_row>
      : tensor<300x256xi8>, tensor<136x256xi8>, tensor<300x1xf32>,
        tensor<136x1xf32> -> tensor<300x136xf32>
  return %y : tensor<300x136xf32>
}

// -----

// M known at run time: the kernel claims its tiles from a counter (its
// count, ceil(M / 128) x 8 tiles, is unknown when compiling): one CTA a
// multiprocessor at most, the counter zeroed before the launch and passed
// last; the producer claims with an atomic add, the consumers receive each
// tile through a slot of shared memory, and both stop past the last tile.
// CHECK: gpu.module @qat_matmul_dynx2048x256_signed_signed_s8_bf16_wgmma_claimed
// CHECK: gpu.func @qat_matmul_wgmma(%[[A:.*]]: memref<?x256xi8>, {{.*}}, %[[COUNTER:.*]]: memref<1xi32>) kernel
// CHECK: %[[M:.*]] = memref.dim %[[A]], %c0
// CHECK: %[[TILES_M:.*]] = arith.ceildivui %[[M]], %c128
// CHECK: %[[TILES:.*]] = arith.muli %[[TILES_M]], %c8
// CHECK: nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 12>
// CHECK: nvvm.setmaxregister  increase 232
// CHECK: scf.while
// CHECK: memref.load
// CHECK: %[[GOT:.*]] = arith.index_castui
// CHECK: arith.cmpi ult, %[[GOT]], %[[TILES]]
// CHECK: nvvm.wgmma.mma_async
// CHECK: nvvm.setmaxregister  decrease 40
// CHECK: scf.while
// CHECK: memref.atomic_rmw addi %{{.*}}, %[[COUNTER]][%{{.*}}] : (i32, memref<1xi32>) -> i32
// CHECK: nvgpu.tma.async.load
// CHECK-LABEL: func.func @dynamic_rows
// CHECK: call @mgpuMultiprocessorCount
// CHECK: %[[GRID:.*]] = arith.minui
// CHECK-NOT: arith.select
// CHECK: %[[C:.*]] = memref.alloc() : memref<1xi32>
// CHECK: gpu.memset %[[C]]
// CHECK: gpu.launch_func  @qat_matmul_dynx2048x256_signed_signed_s8_bf16_wgmma_claimed::@qat_matmul_wgmma blocks in (%[[GRID]], %{{.*}}, %{{.*}}) {{.*}}, %[[C]] : memref<1xi32>)
func.func @dynamic_rows(%a: tensor<?x256xi8>, %b: tensor<2048x256xi8>,
                        %sa: tensor<?x1xf32>, %sb: tensor<2048x1xf32>)
    -> tensor<?x2048xbf16> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 8 bits, absmax, per_row>, <signed, 8 bits, absmax, per_row>
      : tensor<?x256xi8>, tensor<2048x256xi8>, tensor<?x1xf32>,
        tensor<2048x1xf32> -> tensor<?x2048xbf16>
  return %y : tensor<?x2048xbf16>
}

// -----

// 32 x 16 = 512 tiles: more than 2 a multiprocessor of 132 and too few to
// claim, so each tile gets a CTA, in a kernel without a tile loop.
// CHECK-LABEL: gpu.module @qat_matmul_4096x4096x128_signed_signed_s8_bf16_wgmma
// CHECK: nvvm.setmaxregister  increase 232
// CHECK-NOT: gpu.grid_dim
// CHECK-NOT: scf.while
// CHECK: gpu.block_id  x
// CHECK-NOT: gpu.grid_dim
// CHECK: nvvm.wgmma.mma_async
// CHECK-LABEL: func.func @one_tile_a_cta
// CHECK-NOT: mgpuMultiprocessorCount
// CHECK: gpu.launch_func  @qat_matmul_4096x4096x128_signed_signed_s8_bf16_wgmma::@qat_matmul_wgmma blocks in (%c512,
func.func @one_tile_a_cta(%a: tensor<4096x128xi8>, %b: tensor<4096x128xi8>,
                          %sa: tensor<4096x1xf32>, %sb: tensor<4096x1xf32>)
    -> tensor<4096x4096xbf16> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 8 bits, absmax, per_row>, <signed, 8 bits, absmax, per_row>
      : tensor<4096x128xi8>, tensor<4096x128xi8>, tensor<4096x1xf32>,
        tensor<4096x1xf32> -> tensor<4096x4096xbf16>
  return %y : tensor<4096x4096xbf16>
}

// -----

// Packed 4-bit codes that come in as such (function arguments, stored
// weights) reach the s8 wgmma kernel through a kernel that unpacks them:
// each thread loads 8 bytes, sign-extends the low nibbles (shifted left,
// then arithmetically right by 4) and the high ones (right by 4), and
// stores the 16 codes interleaved, code 2j from the low nibble of byte j.
// Plain sm_90 keeps mma.sync on the packed codes.
// CHECK-LABEL: gpu.module @qat_unpack_codes_k512
// CHECK:       gpu.func @qat_unpack_codes(%[[SRC:.*]]: memref<?x512xi8>, %[[CODES:.*]]: memref<?x1024xi8>) kernel
// CHECK-SAME:    known_block_size = array<i32: 256, 1, 1>
// CHECK:         %[[ROW:.*]] = arith.divui %{{.*}}, %c64
// CHECK:         %[[ROWS:.*]] = memref.dim %[[SRC]], %c0
// CHECK:         arith.cmpi ult, %[[ROW]], %[[ROWS]]
// CHECK:         %[[BYTES:.*]] = vector.load %[[SRC]][%[[ROW]], %[[COL:.*]]] {alignment = 8 : i64} : memref<?x512xi8>, vector<8xi8>
// CHECK:         %[[FOUR:.*]] = arith.constant dense<4> : vector<8xi8>
// CHECK:         %[[UP:.*]] = arith.shli %[[BYTES]], %[[FOUR]] : vector<8xi8>
// CHECK:         %[[LOW:.*]] = arith.shrsi %[[UP]], %[[FOUR]] : vector<8xi8>
// CHECK:         %[[HIGH:.*]] = arith.shrsi %[[BYTES]], %[[FOUR]] : vector<8xi8>
// CHECK:         %[[BOTH:.*]] = vector.shuffle %[[LOW]], %[[HIGH]] [0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15]
// CHECK:         %[[AT:.*]] = arith.muli %[[COL]], %c2
// CHECK:         vector.store %[[BOTH]], %[[CODES]][%[[ROW]], %[[AT]]] {alignment = 16 : i64} : memref<?x1024xi8>, vector<16xi8>
// CHECK-LABEL: func.func @packed_arguments
// CHECK:         %[[A:.*]] = bufferization.to_buffer %arg0 read_only : tensor<256x512xi8> to memref<256x512xi8>
// CHECK:         %[[UA:.*]] = memref.alloc() : memref<256x1024xi8>
// CHECK:         gpu.launch_func  @qat_unpack_codes_k512::@qat_unpack_codes blocks in (%{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}})  args(%{{.*}} : memref<?x512xi8>, %{{.*}} : memref<?x1024xi8>)
// CHECK:         bufferization.to_tensor %[[UA]] restrict writable
// CHECK:         gpu.launch_func  @qat_unpack_codes_k512::@qat_unpack_codes
// CHECK:         gpu.launch_func  @qat_matmul_256x128x1024_centered_centered_s8_f32_wgmma_n128::@qat_matmul_wgmma
// PACKED-LABEL: func.func @packed_arguments
// PACKED-COUNT-2: gpu.launch_func  @qat_unpack_codes_k512::@qat_unpack_codes
// PACKED:         gpu.launch_func  @qat_matmul_256x128x1024_centered_centered_s8_f32_wgmma_n128::@qat_matmul_wgmma
// SM90: gpu.module @qat_matmul_256x128x1024_centered_centered_s4_f32 {
// SM90: gpu.func @qat_matmul_mma_sync
func.func @packed_arguments(%a: tensor<256x512xi8>, %b: tensor<128x512xi8>,
                            %sa: tensor<256x1xf32>, %sb: tensor<128x1xf32>)
    -> tensor<256x128xf32> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <centered, 4 bits, rms_gaussian, per_row>,
         <centered, 4 bits, rms_gaussian, per_row> packed
      : tensor<256x512xi8>, tensor<128x512xi8>, tensor<256x1xf32>,
        tensor<128x1xf32> -> tensor<256x128xf32>
  return %y : tensor<256x128xf32>
}

// -----

// Packed codes that qat.quantize ops of the function make reach the s8
// wgmma kernel made one a byte instead (wgmma has no 4-bit integers), and a
// qat.dequantize of them reads them so: nothing unpacks, and the packed
// codes are gone. Plain sm_90 keeps mma.sync on the packed codes.
// CHECK-LABEL: gpu.module @qat_matmul_256x128x1024_centered_centered_s8_f32_wgmma_n128
// CHECK-LABEL: func.func @packed_quantized
// CHECK-NOT:     linalg.generic
// CHECK:         %[[CX:.*]] = qat.quantize %arg0, %[[SX:.*]] as <centered, 4 bits, rms_gaussian, per_row> : tensor<256x1024xf32>, tensor<256x1xf32> -> tensor<256x1024xi8>
// CHECK:         %[[XQ:.*]] = qat.dequantize %[[CX]], %[[SX]] as <centered, 4 bits, rms_gaussian, per_row> : tensor<256x1024xi8>, tensor<256x1xf32> -> tensor<256x1024xf32>
// CHECK:         qat.quantize %arg1, %{{.*}} as <centered, 4 bits, rms_gaussian, per_row> : tensor<128x1024xf32>, tensor<128x1xf32> -> tensor<128x1024xi8>
// CHECK-NOT:     packed
// CHECK:         gpu.launch_func  @qat_matmul_256x128x1024_centered_centered_s8_f32_wgmma_n128::@qat_matmul_wgmma
// CHECK:         return %{{.*}}, %[[XQ]]
// SM90: qat.quantize {{.*}} packed
// SM90: gpu.launch_func  @qat_matmul_256x128x1024_centered_centered_s4_f32::@qat_matmul_mma_sync
func.func @packed_quantized(%x: tensor<256x1024xf32>, %w: tensor<128x1024xf32>)
    -> (tensor<256x128xf32>, tensor<256x1024xf32>) {
  %sx = qat.scale %x as <centered, 4 bits, rms_gaussian, per_row>
      : tensor<256x1024xf32> -> tensor<256x1xf32>
  %cx = qat.quantize %x, %sx as <centered, 4 bits, rms_gaussian, per_row> packed
      : tensor<256x1024xf32>, tensor<256x1xf32> -> tensor<256x512xi8>
  %xq = qat.dequantize %cx, %sx as <centered, 4 bits, rms_gaussian, per_row> packed
      : tensor<256x512xi8>, tensor<256x1xf32> -> tensor<256x1024xf32>
  %sw = qat.scale %w as <centered, 4 bits, rms_gaussian, per_row>
      : tensor<128x1024xf32> -> tensor<128x1xf32>
  %cw = qat.quantize %w, %sw as <centered, 4 bits, rms_gaussian, per_row> packed
      : tensor<128x1024xf32>, tensor<128x1xf32> -> tensor<128x512xi8>
  %y = qat.matmul %cx, %cw, %sx, %sw
      as <centered, 4 bits, rms_gaussian, per_row>,
         <centered, 4 bits, rms_gaussian, per_row> packed
      : tensor<256x512xi8>, tensor<128x512xi8>, tensor<256x1xf32>,
        tensor<128x1xf32> -> tensor<256x128xf32>
  return %y, %xq : tensor<256x128xf32>, tensor<256x1024xf32>
}
