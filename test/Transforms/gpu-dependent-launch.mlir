// RUN: qat-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(gpu.module(qat-gpu-dependent-launch))' \
// RUN: | FileCheck %s
// RUN: qat-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(gpu.module(qat-gpu-dependent-launch,qat-gpu-dependent-launch))' \
// RUN: | FileCheck %s

// Every kernel waits for the grid before it, before any memory access, and
// then lets the next grid launch; device functions that are not kernels are
// left alone; the module carries the marker the CUDA runtime looks for.
// Running the pass twice changes nothing more.

// CHECK-LABEL: gpu.module @two
//       CHECK:   llvm.mlir.global external constant @qat_griddepcontrol(1 : i8) {addr_space = 1 : i32
//       CHECK:   gpu.func @helper
//   CHECK-NOT:     nvvm.griddepcontrol
//       CHECK:     gpu.return
//       CHECK:   gpu.func @a(%[[P:.*]]: memref<4xf32>) kernel
//  CHECK-NEXT:     nvvm.griddepcontrol wait
//  CHECK-NEXT:     nvvm.griddepcontrol launch_dependents
//  CHECK-NEXT:     arith.constant
//  CHECK-NEXT:     memref.load %[[P]]
//   CHECK-NOT:     nvvm.griddepcontrol
//       CHECK:   gpu.func @b() kernel
//  CHECK-NEXT:     nvvm.griddepcontrol wait
//  CHECK-NEXT:     nvvm.griddepcontrol launch_dependents
//  CHECK-NEXT:     gpu.return
//   CHECK-NOT:   qat_griddepcontrol
gpu.module @two {
  gpu.func @helper(%p: memref<4xf32>) {
    gpu.return
  }
  gpu.func @a(%p: memref<4xf32>) kernel {
    %c0 = arith.constant 0 : index
    %v = memref.load %p[%c0] : memref<4xf32>
    memref.store %v, %p[%c0] : memref<4xf32>
    gpu.return
  }
  gpu.func @b() kernel {
    gpu.return
  }
}

// -----

// A module without kernels gets no marker.

// CHECK-LABEL: gpu.module @no_kernels
//   CHECK-NOT:   qat_griddepcontrol
//   CHECK-NOT:   nvvm.griddepcontrol
gpu.module @no_kernels {
  gpu.func @helper() {
    gpu.return
  }
}
