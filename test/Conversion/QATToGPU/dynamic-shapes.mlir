// RUN: qat-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(convert-qat-matmul-to-nvgpu,func.func(convert-qat-to-gpu))'
// RUN: qat-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(convert-qat-to-gpu{allow-fallback}))'
// RUN: not qat-opt %s --split-input-file --qat-to-nvptx=format=isa 2>&1 >/dev/null | FileCheck %s --implicit-check-not='LLVM ERROR'
// RUN: qat-opt %s --split-input-file --qat-to-cpu | FileCheck %s --check-prefix=CPU

// A qat op with a dynamic dimension is reported at the entry of the GPU
// conversions (GPUShapeChecks.h): the kernels are planned for static
// shapes. Before, convert-qat-to-gpu left such an op in place and exited 0,
// and qat-to-nvptx sent it down the generic route, untested. The CPU
// pipeline compiles it.

// CHECK: error: 'qat.hadamard' op operand #0 of type 'tensor<?x128xf32>' has a dynamic dimension; dynamic dimensions are not supported on the GPU route yet
// CPU-LABEL: llvm.func @dynamic_rows
func.func @dynamic_rows(%x: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{'qat.hadamard' op operand #0 of type 'tensor<?x128xf32>' has a dynamic dimension; dynamic dimensions are not supported on the GPU route yet}}
  %y = qat.hadamard %x block 128 : tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// -----

// CHECK: error: 'qat.hadamard' op operand #0 of type 'tensor<2x?x64xbf16>' has a dynamic dimension
// CPU-LABEL: llvm.func @dynamic_middle
func.func @dynamic_middle(%x: tensor<2x?x64xbf16>) -> tensor<2x?x64xbf16> {
  // expected-error @+1 {{'qat.hadamard' op operand #0 of type 'tensor<2x?x64xbf16>' has a dynamic dimension}}
  %y = qat.hadamard %x block 64 : tensor<2x?x64xbf16>
  return %y : tensor<2x?x64xbf16>
}

// -----

// Static qat ops beside dynamic linalg glue are not affected.
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
