// RUN: qat-opt %s --qat-to-nvptx="format=isa" | FileCheck %s
// RUN: qat-opt %s --qat-to-nvptx="chip=sm_80 format=bin" | FileCheck %s --check-prefix=BIN

// A kernel at tensor level, in the form the qat GPU strategies emit: inputs
// as buffers, an allocated output, a launch, the output back as a tensor.
// The pipeline puts the buffers in device memory, compiles the kernel and
// lowers the host code to calls of the qat CUDA runtime.

// CHECK-LABEL: llvm.func @double
// CHECK-NOT: llvm.call @malloc
// CHECK: llvm.call @mgpuMemAlloc
// CHECK-NOT: llvm.call @malloc
// CHECK: gpu.launch_func
// CHECK: gpu.binary @double_kernel
// CHECK-SAME: #nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">
// CHECK-SAME: .entry double_kernel
// BIN: gpu.binary @double_kernel
// BIN-SAME: chip = "sm_80"
// BIN-SAME: bin = "\7FELF
func.func @double(%x: tensor<1024xf32>) -> tensor<1024xf32> {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c256 = arith.constant 256 : index
  %in = bufferization.to_buffer %x read_only : tensor<1024xf32> to memref<1024xf32>
  %out = memref.alloc() : memref<1024xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %base = arith.muli %bx, %c256 : index
    %i = arith.addi %base, %tx : index
    %v = memref.load %in[%i] : memref<1024xf32>
    %w = arith.addf %v, %v : f32
    memref.store %w, %out[%i] : memref<1024xf32>
    gpu.terminator
  }
  %y = bufferization.to_tensor %out restrict writable : memref<1024xf32> to tensor<1024xf32>
  return %y : tensor<1024xf32>
}

