// RUN: qat-opt %s --split-input-file --qat-to-nvptx="format=isa" | FileCheck %s
// RUN: qat-opt %s --split-input-file --qat-to-nvptx="chip=sm_80 format=bin" | FileCheck %s --check-prefix=BIN
// RUN: not qat-opt %s --split-input-file --qat-to-nvptx 2>&1 | FileCheck %s --check-prefix=ERR

// A kernel at tensor level, in the form the qat GPU strategies emit: inputs
// as buffers, an allocated output, a launch, the output back as a tensor.
// The pipeline puts the buffers in device memory, compiles the kernel and
// lowers the host code to calls of the qat CUDA runtime.

// CHECK: gpu.binary @double_kernel
// CHECK-SAME: #nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">
// CHECK-SAME: .entry double_kernel
// CHECK-LABEL: llvm.func @double
// CHECK: llvm.call @mgpuMemAlloc
// CHECK: gpu.launch_func
// CHECK-NOT: llvm.call @malloc
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

// -----

// Work that no GPU strategy mapped would run on the host over device
// buffers: the pipeline stops with an error naming the operation.
// ERR: error: 'linalg.generic' op reads or writes buffer elements on the host, but buffers live in GPU memory: no GPU strategy mapped this operation
func.func @unmapped(%x: tensor<8xf32>) -> tensor<8xf32> {
  %e = tensor.empty() : tensor<8xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %b = arith.addf %a, %a : f32
    linalg.yield %b : f32
  } -> tensor<8xf32>
  return %y : tensor<8xf32>
}
