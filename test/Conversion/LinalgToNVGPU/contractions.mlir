// RUN: qat-opt %s --split-input-file --convert-linalg-contractions-to-nvgpu | FileCheck %s
// RUN: qat-opt %s --split-input-file --convert-linalg-contractions-to-nvgpu="precision=bf16" | FileCheck %s --check-prefix=BF16
// RUN: qat-opt %s --split-input-file --convert-linalg-contractions-to-nvgpu="precision=f32" | FileCheck %s --check-prefix=F32

// Every float matrix product on tensors becomes a launch of a tensor-core
// kernel: operands through to_buffer, the result a fresh buffer; the fill of
// zero is not read. f32 operands run as tf32 by default (or bf16), and stay
// linalg ops with precision=f32.

// CHECK-LABEL: gpu.module @qat_contraction_64x256x128_tf32_f32_64x64
// CHECK:         memref.global "private" @qat_contraction_smem : memref<4096xf32, #gpu.address_space<workgroup>> {alignment = 128 : i64}
// CHECK:         gpu.func @qat_contraction_mma_sync(%{{.*}}: memref<128x64xf32>, %{{.*}}: memref<128x256xf32>, %{{.*}}: memref<64x256xf32>) kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// CHECK:           nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : memref<4096xf32, #gpu.address_space<workgroup>> -> vector<4x1xf32>
// CHECK:           nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 8], tf32Enabled} : (vector<4x1xf32>, vector<2x1xf32>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK:           vector.store {{.*}} : memref<64x256xf32>, vector<2xf32>
// CHECK-LABEL: func.func @dw(
// CHECK-NOT:     linalg.matmul
// CHECK:         %[[A:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<128x64xf32> to memref<128x64xf32>
// CHECK:         %[[B:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<128x256xf32> to memref<128x256xf32>
// CHECK:         %[[C:.*]] = memref.alloc() : memref<64x256xf32>
// CHECK:         gpu.launch_func @qat_contraction_64x256x128_tf32_f32_64x64::@qat_contraction_mma_sync blocks in (%c4, %{{.*}}, %{{.*}}) threads in (%c128, %{{.*}}, %{{.*}}) args(%[[A]] : memref<128x64xf32>, %[[B]] : memref<128x256xf32>, %[[C]] : memref<64x256xf32>)
// CHECK:         bufferization.to_tensor %[[C]] restrict writable

// BF16-LABEL: gpu.module @qat_contraction_64x256x128_bf16_f32_64x64
// BF16:         memref.global "private" @qat_contraction_smem : memref<8192xbf16, #gpu.address_space<workgroup>>
// BF16:         arith.truncf {{.*}} : f32 to bf16
// BF16:         nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>

// F32-LABEL: func.func @dw(
// F32-NOT:     gpu.launch_func
// F32:         linalg.matmul
// F32-NOT:     gpu.launch_func
// F32:         return
#km = affine_map<(m, n, k) -> (k, m)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
func.func @dw(%dy: tensor<128x64xf32>, %x: tensor<128x256xf32>) -> tensor<64x256xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x256xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<64x256xf32>) -> tensor<64x256xf32>
  %dw = linalg.matmul indexing_maps = [#km, #kn, #mn]
      ins(%dy, %x : tensor<128x64xf32>, tensor<128x256xf32>)
      outs(%z : tensor<64x256xf32>) -> tensor<64x256xf32>
  return %dw : tensor<64x256xf32>
}

// -----

// bf16 batches, an init that is added, and a large problem: 128x128 tiles
// on 8 warps (ceil(2000/128) * ceil(1100/128) = 16 * 9 = 144 >= 120 CTAs),
// the batch on the grid's y. Two products of one shape share a kernel.

// CHECK-LABEL: gpu.module @qat_contraction_2x2000x1100x72_bf16_bf16_128x128
// CHECK:         gpu.func @qat_contraction_mma_sync(%{{.*}}: memref<2x2000x72xbf16>, %{{.*}}: memref<2x72x1100xbf16>, %{{.*}}: memref<2x2000x1100xbf16>, %{{.*}}: memref<2x2000x1100xbf16>) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK:           gpu.block_id  y
// CHECK:           arith.minui
// CHECK:           nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK:           scf.if
// CHECK:             vector.load
// CHECK:             arith.addf
// CHECK:             arith.truncf {{.*}} : f32 to bf16
// CHECK:             vector.store
// CHECK-NOT:   gpu.module
// CHECK-LABEL: func.func @batched(
// CHECK:         gpu.launch_func @qat_contraction_2x2000x1100x72_bf16_bf16_128x128::@qat_contraction_mma_sync blocks in (%c144, %c2, %{{.*}}) threads in (%c256, %{{.*}}, %{{.*}})
// CHECK:         gpu.launch_func @qat_contraction_2x2000x1100x72_bf16_bf16_128x128::@qat_contraction_mma_sync
func.func @batched(%a: tensor<2x2000x72xbf16>, %b: tensor<2x72x1100xbf16>,
                   %c: tensor<2x2000x1100xbf16>) -> (tensor<2x2000x1100xbf16>, tensor<2x2000x1100xbf16>) {
  %y = linalg.batch_matmul ins(%a, %b : tensor<2x2000x72xbf16>, tensor<2x72x1100xbf16>)
      outs(%c : tensor<2x2000x1100xbf16>) -> tensor<2x2000x1100xbf16>
  %y2 = linalg.batch_matmul ins(%a, %b : tensor<2x2000x72xbf16>, tensor<2x72x1100xbf16>)
      outs(%y : tensor<2x2000x1100xbf16>) -> tensor<2x2000x1100xbf16>
  return %y, %y2 : tensor<2x2000x1100xbf16>, tensor<2x2000x1100xbf16>
}

// -----

// f16 x f16 runs on f16 tensor cores; a generic contraction with widened
// inputs and a transposed result is recognized too.

// CHECK-LABEL: gpu.module @qat_contraction_30x50x20_f16_f32_64x64
// CHECK:         nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK:         memref.store
// CHECK-LABEL: func.func @generic(
// CHECK:         gpu.launch_func @qat_contraction_30x50x20_f16_f32_64x64::@qat_contraction_mma_sync blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%c128, %{{.*}}, %{{.*}}) args({{.*}}, %{{.*}} : memref<50x30xf32>, %{{.*}} : memref<50x30xf32>)
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (n, k)>
#ct = affine_map<(m, n, k) -> (n, m)>
func.func @generic(%a: tensor<30x20xf16>, %b: tensor<50x20xf16>, %c: tensor<50x30xf32>) -> tensor<50x30xf32> {
  %y = linalg.generic {indexing_maps = [#a, #b, #ct], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<30x20xf16>, tensor<50x20xf16>) outs(%c : tensor<50x30xf32>) {
  ^bb0(%x: f16, %w: f16, %acc: f32):
    %xe = arith.extf %x : f16 to f32
    %we = arith.extf %w : f16 to f32
    %p = arith.mulf %we, %xe : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  } -> tensor<50x30xf32>
  return %y : tensor<50x30xf32>
}

// -----

// Left alone: integer products, f64, bodies that are not a
// multiply-accumulate, a dynamic N (dynamic-sizes.mlir has the dynamic sizes
// the kernels take).

// CHECK-LABEL: func.func @others(
// CHECK-NOT:     gpu.launch_func
// CHECK:         linalg.matmul {{.*}} tensor<8x8xi32>
// CHECK:         linalg.matmul {{.*}} tensor<8x8xf64>
// CHECK:         linalg.generic
// CHECK:           arith.maximumf
// CHECK:         linalg.matmul {{.*}} tensor<8x?xf32>
// CHECK-NOT:     gpu.launch_func
#m = affine_map<(m, n, k) -> (m, k)>
#n = affine_map<(m, n, k) -> (k, n)>
#o = affine_map<(m, n, k) -> (m, n)>
func.func @others(%i: tensor<8x8xi32>, %d: tensor<8x8xf64>, %f: tensor<8x8xf32>, %g: tensor<8x?xf32>)
    -> (tensor<8x8xi32>, tensor<8x8xf64>, tensor<8x8xf32>, tensor<8x?xf32>) {
  %yi = linalg.matmul ins(%i, %i : tensor<8x8xi32>, tensor<8x8xi32>) outs(%i : tensor<8x8xi32>) -> tensor<8x8xi32>
  %yd = linalg.matmul ins(%d, %d : tensor<8x8xf64>, tensor<8x8xf64>) outs(%d : tensor<8x8xf64>) -> tensor<8x8xf64>
  %ym = linalg.generic {indexing_maps = [#m, #n, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%f, %f : tensor<8x8xf32>, tensor<8x8xf32>) outs(%f : tensor<8x8xf32>) {
  ^bb0(%x: f32, %w: f32, %acc: f32):
    %p = arith.mulf %x, %w : f32
    %s = arith.maximumf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x8xf32>
  %yg = linalg.matmul ins(%f, %g : tensor<8x8xf32>, tensor<8x?xf32>) outs(%g : tensor<8x?xf32>) -> tensor<8x?xf32>
  return %yi, %yd, %ym, %yg : tensor<8x8xi32>, tensor<8x8xf64>, tensor<8x8xf32>, tensor<8x?xf32>
}
