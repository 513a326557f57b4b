// RUN: not qat-opt %s --split-input-file --qat-to-nvptx 2>&1 | FileCheck %s

// Host code that reads buffer elements would dereference device pointers
// at run time: the pipeline stops with an error naming the operation. A
// scalar result taken out of a tensor is such a read (return a rank-0
// tensor instead).

// CHECK: error: 'memref.load' op reads or writes buffer elements on the host, but buffers live in GPU memory: no GPU strategy mapped this operation
func.func @scalar_result(%x: tensor<8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %v = tensor.extract %x[%c0] : tensor<8xf32>
  return %v : f32
}

// -----

// So is a loss printed by a training loop on the host.

// CHECK: error: 'memref.load' op reads or writes buffer elements on the host
func.func @print_loss(%x: tensor<f32>) {
  %v = tensor.extract %x[] : tensor<f32>
  vector.print %v : f32
  return
}
