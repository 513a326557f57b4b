// A tensor that two contraction kernels read far apart (a forward and a
// backward matmul of one activation) keeps a bufferization.to_buffer at each
// launch up to bufferization: merged by CSE into the first, one-shot
// bufferization saw the tensor's last read there and reused its buffer for
// %y before the second kernel read it (wrong weight gradients on the GPU).

// RUN: qat-opt %s --qat-to-nvptx="format=isa" --mlir-print-ir-before=one-shot-bufferize -o /dev/null 2>&1 | FileCheck %s

// CHECK-LABEL: func.func @two_reads(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<64x64xf32>
// CHECK:         bufferization.to_buffer %[[X]]
// CHECK:         gpu.launch_func
// CHECK:         bufferization.to_buffer %[[X]]
// CHECK:         gpu.launch_func

func.func @two_reads(%x: tensor<64x64xf32>, %w: tensor<64x64xf32>,
                     %v: tensor<64x64xf32>) -> (tensor<64x64xf32>, tensor<64x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x64xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %a = linalg.matmul ins(%x, %w : tensor<64x64xf32>, tensor<64x64xf32>)
      outs(%z : tensor<64x64xf32>) -> tensor<64x64xf32>
  %y = linalg.exp ins(%a : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %b = linalg.matmul ins(%y, %x : tensor<64x64xf32>, tensor<64x64xf32>)
      outs(%z : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %y, %b : tensor<64x64xf32>, tensor<64x64xf32>
}
