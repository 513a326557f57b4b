// RUN: qat-opt %s --convert-qat-matmul-to-nvgpu --split-input-file | FileCheck %s

// The mma.sync kernel of qat.matmul: host side, pipeline, tensor-core ops and
// the dequantizing epilogue of every combination of grids.

// Centered x centered, packed 4-bit codes, per-row steps, bf16 result. With
// no chip named the codes are unpacked to s8 for the tensor cores (see
// int4-mma.mlir): every fragment register gives 8(2c+1) of its even codes,
// then of its odd codes, so the accumulator is 64 times the sum of
// (2a+1)(2b+1) and no row sums are needed: acc / 64 / 4 * sa * sb.

// CHECK: module attributes {gpu.container_module}
// CHECK-LABEL: gpu.module @qat_matmul_256x128x1024_centered_centered_s4_bf16
// CHECK: memref.global "private" @qat_matmul_smem : memref<49152xi8, #gpu.address_space<workgroup>> {alignment = 128 : i64}
// CHECK: gpu.func @qat_matmul_mma_sync(%{{.*}}: memref<256x512xi8>, %{{.*}}: memref<128x512xi8>, %{{.*}}: memref<256x1xf32>, %{{.*}}: memref<128x1xf32>, %[[OUT:.*]]: memref<256x128xbf16>) kernel attributes {known_block_size = array<i32: 256, 1, 1>, nvvm.minctasm = 2 : i32}
// CHECK: %[[SMEM:.*]] = memref.get_global @qat_matmul_smem
// Prologue: two stages in flight, 16-byte copies that zero-fill past K.
// CHECK: %[[CP:.*]] = nvgpu.device_async_copy %{{.*}}[%{{.*}}, %{{.*}}], %[[SMEM]][%{{.*}}], 16, %{{.*}} {bypassL1} : memref<256x512xi8> to memref<49152xi8, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_copy %{{.*}} : memref<128x512xi8> to memref<49152xi8, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_create_group %[[CP]],
// CHECK: %[[G1:.*]] = nvgpu.device_async_create_group
// CHECK: %[[LOOP:.*]]:18 = scf.for %{{.*}} = %c0 to %c8 step %c1 iter_args({{.*}}, %[[LAST:.*]] = %[[G1]])
// CHECK:   nvgpu.device_async_wait %[[LAST]] {numGroups = 1 : i32}
// CHECK:   gpu.barrier
// CHECK:   nvgpu.device_async_create_group
// CHECK:   %[[A:.*]] = nvgpu.ldmatrix %[[SMEM]][%{{.*}}] {numTiles = 4 : i32, transpose = false} : memref<49152xi8, #gpu.address_space<workgroup>> -> vector<4x4xi8>
// CHECK-NOT: xi4>
// Even codes: (r << 4) & 0xF0F0F0F0 | 0x08080808.
// CHECK:   %[[R:.*]] = vector.extract %[[A]][0] : vector<4xi8> from vector<4x4xi8>
// CHECK-NEXT: %[[W:.*]] = vector.bitcast %[[R]] : vector<4xi8> to vector<1xi32>
// CHECK-NEXT: %[[X:.*]] = vector.extract %[[W]][0] : i32 from vector<1xi32>
// CHECK-NEXT: %[[UP:.*]] = arith.shli %[[X]], %c4_i32 : i32
// CHECK-NEXT: %[[MASKED:.*]] = arith.andi %[[UP]], %c-252645136_i32 : i32
// CHECK-NEXT: %[[EVEN:.*]] = arith.ori %[[MASKED]], %c134744072_i32 : i32
// CHECK-NEXT: %[[V:.*]] = vector.broadcast %[[EVEN]] : i32 to vector<1xi32>
// CHECK-NEXT: vector.bitcast %[[V]] : vector<1xi32> to vector<4xi8>
// 16 s8 mma per half of a 32-byte k-step.
// CHECK-COUNT-16: nvgpu.mma.sync(%{{.*}}, %{{.*}}, %{{.*}}) {mmaShape = [16, 8, 32]} : (vector<4x4xi8>, vector<2x4xi8>, vector<2x2xi32>) -> vector<2x2xi32>
// Odd codes: r & 0xF0F0F0F0 | 0x08080808.
// CHECK:   %[[Y:.*]] = vector.extract %{{.*}}[0] : i32 from vector<1xi32>
// CHECK-NEXT: %[[ODD:.*]] = arith.andi %[[Y]], %c-252645136_i32 : i32
// CHECK-NEXT: arith.ori %[[ODD]], %c134744072_i32 : i32
// CHECK-COUNT-16: nvgpu.mma.sync
// The second k-step of the 64-byte K tile.
// CHECK-COUNT-32: nvgpu.mma.sync
// CHECK-NOT: nvgpu.mma.sync
// CHECK-NOT: nvvm.dot.accumulate.4way
// CHECK:   scf.yield
// CHECK: nvgpu.device_async_wait %[[LOOP]]#17 {numGroups = 0 : i32}
// CHECK-NEXT: gpu.barrier
// CHECK-NOT: memref.store
// CHECK: %[[SB:.*]] = memref.load %{{.*}} : memref<128x1xf32>
// CHECK: %[[SA:.*]] = memref.load %{{.*}} : memref<256x1xf32>
// CHECK: %[[RS:.*]] = arith.mulf %{{.*}}, %[[SA]] : f32
// CHECK: %[[ACC:.*]] = vector.extract %[[LOOP]]#0[0, 0] : i32 from vector<2x2xi32>
// CHECK-NEXT: %[[T:.*]] = arith.shrsi %[[ACC]], %c6_i32 : i32
// CHECK-NEXT: %[[F:.*]] = arith.sitofp %[[T]] : i32 to f32
// CHECK-NEXT: %[[F1:.*]] = arith.mulf %[[F]], %[[RS]] : f32
// CHECK-NEXT: %[[F2:.*]] = arith.mulf %[[F1]], %[[SB]] : f32
// CHECK-NEXT: arith.truncf %[[F2]] : f32 to bf16
// CHECK: %[[PAIR:.*]] = vector.from_elements %{{.*}}, %{{.*}} : vector<2xbf16>
// CHECK: vector.store %[[PAIR]], %[[OUT]][%{{.*}}, %{{.*}}] {alignment = 4 : i64} : memref<256x128xbf16>, vector<2xbf16>
// CHECK-NOT: scf.if
// CHECK: gpu.return

// CHECK-LABEL: func.func @centered_centered_packed
// CHECK-SAME: (%[[A:.*]]: tensor<256x512xi8>, %[[B:.*]]: tensor<128x512xi8>, %[[SA:.*]]: tensor<256x1xf32>, %[[SB:.*]]: tensor<128x1xf32>)
// CHECK-DAG: %[[AB:.*]] = bufferization.to_buffer %[[A]] read_only : tensor<256x512xi8> to memref<256x512xi8>
// CHECK-DAG: %[[BB:.*]] = bufferization.to_buffer %[[B]] read_only : tensor<128x512xi8> to memref<128x512xi8>
// CHECK-DAG: %[[SAB:.*]] = bufferization.to_buffer %[[SA]] read_only
// CHECK-DAG: %[[SBB:.*]] = bufferization.to_buffer %[[SB]] read_only
// CHECK-DAG: %[[Y:.*]] = memref.alloc() : memref<256x128xbf16>
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK: gpu.launch_func @qat_matmul_256x128x1024_centered_centered_s4_bf16::@qat_matmul_mma_sync blocks in (%[[C2]], %{{.*}}, %{{.*}}) threads in (%[[C256]], %{{.*}}, %{{.*}}) args(%[[AB]] : memref<256x512xi8>, %[[BB]] : memref<128x512xi8>, %[[SAB]] : memref<256x1xf32>, %[[SBB]] : memref<128x1xf32>, %[[Y]] : memref<256x128xbf16>)
// CHECK: %[[R:.*]] = bufferization.to_tensor %[[Y]] restrict writable : memref<256x128xbf16> to tensor<256x128xbf16>
// CHECK: return %[[R]]
func.func @centered_centered_packed(%a: tensor<256x512xi8>, %b: tensor<128x512xi8>,
    %sa: tensor<256x1xf32>, %sb: tensor<128x1xf32>) -> tensor<256x128xbf16> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <centered, 4 bits, rms_gaussian, per_row>,
         <centered, 4 bits, rms_gaussian, per_row> packed
      : tensor<256x512xi8>, tensor<128x512xi8>, tensor<256x1xf32>,
        tensor<128x1xf32> -> tensor<256x128xbf16>
  return %y : tensor<256x128xbf16>
}

// -----

// Signed x signed, s8 tensor cores, per-tensor steps, f32 result: no row
// sums, acc * sa * sb.

// CHECK-LABEL: gpu.module @qat_matmul_128x128x64_signed_signed_s8_f32
// CHECK: gpu.func @qat_matmul_mma_sync
// CHECK: scf.for %{{.*}} = %c0 to %c1 step %c1
// CHECK: nvgpu.ldmatrix {{.*}} -> vector<4x4xi8>
// CHECK-NOT: vector.bitcast
// CHECK: nvgpu.mma.sync(%{{.*}}, %{{.*}}, %{{.*}}) {mmaShape = [16, 8, 32]} : (vector<4x4xi8>, vector<2x4xi8>, vector<2x2xi32>) -> vector<2x2xi32>
// CHECK-NOT: nvvm.dot.accumulate.4way
// CHECK: scf.yield
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// CHECK-NEXT: gpu.barrier
// CHECK-NOT: memref.store
// CHECK: %[[SA:.*]] = memref.load %{{.*}}[%c0, %c0] : memref<1x1xf32>
// CHECK: %[[SB:.*]] = memref.load %{{.*}}[%c0, %c0] : memref<1x1xf32>
// CHECK: %[[ACC:.*]] = vector.extract %{{.*}}[0, 0] : i32 from vector<2x2xi32>
// CHECK-NEXT: %[[F:.*]] = arith.sitofp %[[ACC]] : i32 to f32
// CHECK-NEXT: %[[F1:.*]] = arith.mulf %[[F]], %[[SA]] : f32
// CHECK-NEXT: %[[F2:.*]] = arith.mulf %[[F1]], %[[SB]] : f32
// CHECK: vector.store %{{.*}} {alignment = 8 : i64} : memref<128x128xf32>, vector<2xf32>
// CHECK-LABEL: func.func @signed_signed
// CHECK: gpu.launch_func @qat_matmul_128x128x64_signed_signed_s8_f32::@qat_matmul_mma_sync
func.func @signed_signed(%a: tensor<128x64xi8>, %b: tensor<128x64xi8>,
    %sa: tensor<1x1xf32>, %sb: tensor<1x1xf32>) -> tensor<128x128xf32> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 8 bits, absmax, per_tensor>,
         <signed, 8 bits, absmax, per_tensor>
      : tensor<128x64xi8>, tensor<128x64xi8>, tensor<1x1xf32>,
        tensor<1x1xf32> -> tensor<128x128xf32>
  return %y : tensor<128x128xf32>
}

// -----

// Centered A x signed B: (2 acc + rowSumB) / 2; only the threads that own
// rows of B (tid >= 128) sum.

// CHECK-LABEL: gpu.module @qat_matmul_128x128x128_centered_signed_s8_f16
// CHECK: scf.for
// CHECK: %[[MINE:.*]] = arith.cmpi uge, %thread_id_x, %c128 : index
// CHECK: scf.if %[[MINE]] -> (i32)
// CHECK: nvvm.dot.accumulate.4way
// CHECK-NOT: arith.shrsi
// CHECK: scf.yield
// CHECK: } else {
// CHECK: %[[RB:.*]] = memref.load %{{.*}} : memref<12288xi32, #gpu.address_space<workgroup>>
// CHECK: arith.constant 5.000000e-01 : f32
// CHECK: %[[ACC:.*]] = vector.extract %{{.*}}[0, 0] : i32 from vector<2x2xi32>
// CHECK-NEXT: %[[T0:.*]] = arith.muli %[[ACC]], %c2_i32 : i32
// CHECK-NEXT: %[[T1:.*]] = arith.addi %[[T0]], %[[RB]] : i32
// CHECK-NEXT: arith.sitofp %[[T1]] : i32 to f32
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @centered_signed(%a: tensor<128x128xi8>, %b: tensor<128x128xi8>,
    %sa: tensor<128x1xf32>, %sb: tensor<1x1xf32>) -> tensor<128x128xf16> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <centered, 8 bits, rms_gaussian, per_row>,
         <signed, 8 bits, absmax, per_tensor>
      : tensor<128x128xi8>, tensor<128x128xi8>, tensor<128x1xf32>,
        tensor<1x1xf32> -> tensor<128x128xf16>
  return %y : tensor<128x128xf16>
}

// -----

// Signed A x centered B: (2 acc + rowSumA) / 2; only the threads that own
// rows of A (tid < 128) sum.

// CHECK-LABEL: gpu.module @qat_matmul_128x128x128_signed_centered_s8_f32
// CHECK: scf.for
// CHECK: %[[MINE:.*]] = arith.cmpi ult, %thread_id_x, %c128 : index
// CHECK: scf.if %[[MINE]] -> (i32)
// CHECK: nvvm.dot.accumulate.4way
// CHECK: arith.constant 5.000000e-01 : f32
// CHECK: %[[RA:.*]] = memref.load %{{.*}} : memref<12288xi32, #gpu.address_space<workgroup>>
// CHECK: %[[ACC:.*]] = vector.extract %{{.*}}[0, 0] : i32 from vector<2x2xi32>
// CHECK-NEXT: %[[T0:.*]] = arith.muli %[[ACC]], %c2_i32 : i32
// CHECK-NEXT: %[[T1:.*]] = arith.addi %[[T0]], %[[RA]] : i32
// CHECK-NEXT: arith.sitofp %[[T1]] : i32 to f32
func.func @signed_centered(%a: tensor<128x128xi8>, %b: tensor<128x128xi8>,
    %sa: tensor<1x1xf32>, %sb: tensor<128x1xf32>) -> tensor<128x128xf32> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 4 bits, learned, per_tensor>,
         <centered, 4 bits, rms_gaussian, per_row>
      : tensor<128x128xi8>, tensor<128x128xi8>, tensor<1x1xf32>,
        tensor<128x1xf32> -> tensor<128x128xf32>
  return %y : tensor<128x128xf32>
}

// -----

// Tails: M = 100 and N = 72 are not multiples of the 128 x 128 tile, K = 48
// is not a multiple of the 64-byte K tile. Copies of rows past M or N read a
// clamped row and zero-fill; stores are guarded. bf16 steps are extended.

// CHECK-LABEL: gpu.module @qat_matmul_100x72x48_signed_signed_s8_f32
// CHECK: %[[KOK:.*]] = arith.cmpi ult, %{{.*}}, %c48 : index
// CHECK: %[[ROWOK:.*]] = arith.cmpi ult, %{{.*}}, %c100 : index
// CHECK: %[[OK:.*]] = arith.andi %[[KOK]], %[[ROWOK]] : i1
// CHECK: %[[ROW:.*]] = arith.minui %{{.*}}, %c99 : index
// CHECK: %[[COL:.*]] = arith.select %[[OK]], %{{.*}}, %c0 : index
// CHECK: %[[BYTES:.*]] = arith.select %[[OK]], %c16, %c0 : index
// CHECK: nvgpu.device_async_copy %{{.*}}[%[[ROW]], %[[COL]]], %{{.*}}[%{{.*}}], 16, %[[BYTES]] {bypassL1} : memref<100x48xi8>
// CHECK: arith.cmpi ult, %{{.*}}, %c72 : index
// CHECK: arith.minui %{{.*}}, %c71 : index
// CHECK: scf.for %{{.*}} = %c0 to %c1 step %c1
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: %[[IN:.*]] = arith.cmpi ult, %{{.*}}, %c100 : index
// CHECK: %[[INC:.*]] = arith.cmpi ult, %{{.*}}, %c72 : index
// CHECK: %[[BOTH:.*]] = arith.andi %[[IN]], %[[INC]] : i1
// CHECK: scf.if %[[BOTH]] {
// CHECK-NEXT: vector.from_elements
// CHECK-NEXT: vector.store %{{.*}} : memref<100x72xf32>, vector<2xf32>
// CHECK-LABEL: func.func @tails
// CHECK: gpu.launch_func @qat_matmul_100x72x48_signed_signed_s8_f32::@qat_matmul_mma_sync blocks in (%c1{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256
func.func @tails(%a: tensor<100x48xi8>, %b: tensor<72x48xi8>,
    %sa: tensor<100x1xbf16>, %sb: tensor<72x1xf32>) -> tensor<100x72xf32> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 8 bits, absmax, per_row>,
         <signed, 8 bits, absmax, per_row>
      : tensor<100x48xi8>, tensor<72x48xi8>, tensor<100x1xbf16>,
        tensor<72x1xf32> -> tensor<100x72xf32>
  return %y : tensor<100x72xf32>
}

// -----

// An odd N: pairs of columns are not aligned, every element is stored alone
// and guarded by its own column.

// CHECK-LABEL: gpu.module @qat_matmul_128x129x32_signed_signed_s8_f32
// CHECK-NOT: vector.store
// CHECK: scf.if %{{.*}} {
// CHECK-NEXT: memref.store %{{.*}} : memref<128x129xf32>
// CHECK-NOT: vector.store
// CHECK-LABEL: func.func @odd_n
// CHECK: blocks in (%c2
func.func @odd_n(%a: tensor<128x32xi8>, %b: tensor<129x32xi8>,
    %sa: tensor<128x1xf32>, %sb: tensor<129x1xf32>) -> tensor<128x129xf32> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 8 bits, absmax, per_row>,
         <signed, 8 bits, absmax, per_row>
      : tensor<128x32xi8>, tensor<129x32xi8>, tensor<128x1xf32>,
        tensor<129x1xf32> -> tensor<128x129xf32>
  return %y : tensor<128x129xf32>
}

// -----

// Equal specs share one kernel; another shape gets its own.

// CHECK: gpu.module @qat_matmul_128x128x64_signed_signed_s8_f32
// CHECK-NOT: gpu.module @qat_matmul_128x128x64_signed_signed_s8_f32
// CHECK: gpu.module @qat_matmul_256x128x64_signed_signed_s8_f32
// CHECK-LABEL: func.func @shared
// CHECK: gpu.launch_func @qat_matmul_128x128x64_signed_signed_s8_f32::@qat_matmul_mma_sync
// CHECK: gpu.launch_func @qat_matmul_128x128x64_signed_signed_s8_f32::@qat_matmul_mma_sync
// CHECK: gpu.launch_func @qat_matmul_256x128x64_signed_signed_s8_f32::@qat_matmul_mma_sync
func.func @shared(%a: tensor<128x64xi8>, %b: tensor<128x64xi8>,
    %c: tensor<256x64xi8>, %s: tensor<1x1xf32>)
    -> (tensor<128x128xf32>, tensor<128x128xf32>, tensor<256x128xf32>) {
  %y = qat.matmul %a, %b, %s, %s
      as <signed, 8 bits, absmax, per_tensor>,
         <signed, 8 bits, absmax, per_tensor>
      : tensor<128x64xi8>, tensor<128x64xi8>, tensor<1x1xf32>,
        tensor<1x1xf32> -> tensor<128x128xf32>
  %z = qat.matmul %b, %a, %s, %s
      as <signed, 8 bits, absmax, per_tensor>,
         <signed, 8 bits, absmax, per_tensor>
      : tensor<128x64xi8>, tensor<128x64xi8>, tensor<1x1xf32>,
        tensor<1x1xf32> -> tensor<128x128xf32>
  %w = qat.matmul %c, %b, %s, %s
      as <signed, 8 bits, absmax, per_tensor>,
         <signed, 8 bits, absmax, per_tensor>
      : tensor<256x64xi8>, tensor<128x64xi8>, tensor<1x1xf32>,
        tensor<1x1xf32> -> tensor<256x128xf32>
  return %y, %z, %w : tensor<128x128xf32>, tensor<128x128xf32>, tensor<256x128xf32>
}
