// RUN: qat-opt %s --convert-qat-matmul-to-nvgpu | FileCheck %s

// M (tokens) known only at run time: the host launches ceil(M / 128) tile
// rows times the static ceil(N / 128) tile columns, and allocates M rows of
// result; the kernel reads M from A's size, clamps its loads of A to row
// M - 1 (zero-filled past it) and stores only rows below M.

#s8 = #qat.quantizer<signed, 8 bits, absmax, per_row>

// CHECK-LABEL: gpu.module @qat_matmul_dynx384x256_signed_signed_s8_bf16
//       CHECK:   gpu.func @qat_matmul_mma_sync(%[[A:.*]]: memref<?x256xi8>, %{{.*}}: memref<384x256xi8>, %{{.*}}: memref<?x1xf32>, %{{.*}}: memref<384x1xf32>, %{{.*}}: memref<?x384xbf16>) kernel
//       CHECK:     %[[M:.*]] = memref.dim %[[A]], %{{.*}} : memref<?x256xi8>
//       CHECK:     %[[LAST:.*]] = arith.subi %[[M]], %{{.*}} : index
//       CHECK:     %[[TILES:.*]] = arith.ceildivui %[[M]], %c128
//       CHECK:     arith.cmpi ult, %{{.*}}, %[[M]] : index
//       CHECK:     arith.minui %{{.*}}, %[[LAST]] : index
//       CHECK:     scf.for
//       CHECK:     arith.cmpi ult, %{{.*}}, %[[M]] : index
//       CHECK:     scf.if
//       CHECK:       vector.store

// CHECK-LABEL: func.func @mm(
//       CHECK:   %[[ABUF:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<?x256xi8> to memref<?x256xi8>
//       CHECK:   %[[M:.*]] = memref.dim %[[ABUF]], %{{.*}} : memref<?x256xi8>
//       CHECK:   %[[TM:.*]] = arith.ceildivui %[[M]], %c128 : index
//       CHECK:   %[[GRID:.*]] = arith.muli %[[TM]], %c3 : index
//       CHECK:   %[[Y:.*]] = memref.alloc(%[[M]]) : memref<?x384xbf16>
//       CHECK:   gpu.launch_func @qat_matmul_dynx384x256_signed_signed_s8_bf16::@qat_matmul_mma_sync blocks in (%[[GRID]], %{{.*}}, %{{.*}})
//       CHECK:   bufferization.to_tensor %[[Y]] restrict writable : memref<?x384xbf16> to tensor<?x384xbf16>
func.func @mm(%a: tensor<?x256xi8>, %b: tensor<384x256xi8>, %sa: tensor<?x1xf32>, %sb: tensor<384x1xf32>) -> tensor<?x384xbf16> {
  %y = qat.matmul %a, %b, %sa, %sb as #s8, #s8 : tensor<?x256xi8>, tensor<384x256xi8>, tensor<?x1xf32>, tensor<384x1xf32> -> tensor<?x384xbf16>
  return %y : tensor<?x384xbf16>
}
