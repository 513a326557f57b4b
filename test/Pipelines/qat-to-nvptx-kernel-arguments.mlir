// RUN: qat-opt %s --split-input-file --qat-to-nvptx="chip=sm_90 format=isa" | FileCheck %s

// A row kernel takes only its buffers: the constants of the launch body that
// CSE replaced by equal host constants (here the `0 : index` of the dynamic
// row count's memref.dim) are sunk back into the kernel before outlining,
// instead of becoming kernel parameters that the kernel keeps in registers.
// Three buffers (x, codes, steps): 3 x (2 pointers, offset, 2 sizes, 2
// strides), and nothing else.

// CHECK-LABEL: llvm.func @quest_fwd_dynamic(
//       CHECK:   gpu.launch_func {{.*}} args(%{{[0-9]+}} : !llvm.ptr, %{{[0-9]+}} : !llvm.ptr, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : !llvm.ptr, %{{[0-9]+}} : !llvm.ptr, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : !llvm.ptr, %{{[0-9]+}} : !llvm.ptr, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64)
#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
func.func @quest_fwd_dynamic(%x: tensor<?x2048xbf16>) -> (tensor<?x1024xi8>, tensor<?x1xf32>) {
  %xh = qat.hadamard %x block 128 : tensor<?x2048xbf16>
  %s = qat.scale %xh as #q4 : tensor<?x2048xbf16> -> tensor<?x1xf32>
  %q = qat.quantize %xh, %s as #q4 packed : tensor<?x2048xbf16>, tensor<?x1xf32> -> tensor<?x1024xi8>
  return %q, %s : tensor<?x1024xi8>, tensor<?x1xf32>
}

// -----

// CHECK-LABEL: llvm.func @quest_fwd_static(
//       CHECK:   gpu.launch_func {{.*}} args(%{{[0-9]+}} : !llvm.ptr, %{{[0-9]+}} : !llvm.ptr, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : !llvm.ptr, %{{[0-9]+}} : !llvm.ptr, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : !llvm.ptr, %{{[0-9]+}} : !llvm.ptr, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64, %{{[0-9]+}} : i64)
#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
func.func @quest_fwd_static(%x: tensor<64x2048xbf16>) -> (tensor<64x1024xi8>, tensor<64x1xf32>) {
  %xh = qat.hadamard %x block 128 : tensor<64x2048xbf16>
  %s = qat.scale %xh as #q4 : tensor<64x2048xbf16> -> tensor<64x1xf32>
  %q = qat.quantize %xh, %s as #q4 packed : tensor<64x2048xbf16>, tensor<64x1xf32> -> tensor<64x1024xi8>
  return %q, %s : tensor<64x1024xi8>, tensor<64x1xf32>
}
