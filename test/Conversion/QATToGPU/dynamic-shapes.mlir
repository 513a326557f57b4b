// RUN: qat-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(convert-qat-matmul-to-nvgpu,func.func(convert-qat-to-gpu))' | FileCheck %s
// RUN: qat-opt %s --split-input-file --qat-to-nvptx=format=isa | FileCheck %s --check-prefix=PTX
// RUN: qat-opt %s --split-input-file --qat-to-cpu | FileCheck %s --check-prefix=CPU

// Dynamic leading dimensions at the entry of the GPU conversions
// (checkGPUDynamicShapes, GPUShapeChecks.h): the row kernels take them, the
// rows collapsed into one and counted at run time. Before, convert-qat-to-gpu
// left a dynamic qat.hadamard in place with exit 0. What the kernels do not
// take (a dynamic last dimension, a dynamic qat.matmul B) the verifiers
// reject first (test/Dialect/QAT/invalid.mlir).

// CHECK-LABEL: func.func @dynamic_rows
// CHECK: %[[R:.*]] = memref.dim
// CHECK: %[[G:.*]] = arith.ceildivui %[[R]]
// CHECK: gpu.launch blocks({{.*}}) in ({{%.*}} = %[[G]],
// PTX: gpu.binary @dynamic_rows_kernel
// CPU-LABEL: llvm.func @dynamic_rows
func.func @dynamic_rows(%x: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %y = qat.hadamard %x block 128 : tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// -----

// CHECK-LABEL: func.func @dynamic_middle
// CHECK: memref.collapse_shape {{.*}} {{\[\[}}0, 1], [2]] : memref<2x?x64xbf16> into memref<?x64xbf16>
// CHECK: gpu.launch
// PTX: gpu.binary @dynamic_middle_kernel
// CPU-LABEL: llvm.func @dynamic_middle
func.func @dynamic_middle(%x: tensor<2x?x64xbf16>) -> tensor<2x?x64xbf16> {
  %y = qat.hadamard %x block 64 : tensor<2x?x64xbf16>
  return %y : tensor<2x?x64xbf16>
}

// -----

// Static qat ops beside dynamic linalg glue are not affected.
// PTX-LABEL: gpu.binary @static_op_dynamic_glue_kernel
// CPU-LABEL: llvm.func @static_op_dynamic_glue
func.func @static_op_dynamic_glue(%x: tensor<4x128xf32>, %g: tensor<?xf32>)
    -> (tensor<4x128xf32>, tensor<?xf32>) {
  %y = qat.hadamard %x block 128 : tensor<4x128xf32>
  %z = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]} outs(%g : tensor<?xf32>) {
  ^bb0(%v: f32):
    %w = arith.addf %v, %v : f32
    linalg.yield %w : f32
  } -> tensor<?xf32>
  return %y, %z : tensor<4x128xf32>, tensor<?xf32>
}
