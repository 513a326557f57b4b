// RUN: qat-opt %s --split-input-file --verify-diagnostics --qat-gpu-device-buffers | FileCheck %s

// Host allocations, frees and copies become their gpu counterparts.

// CHECK-LABEL: func.func @buffers
//  CHECK-NEXT:   %[[A:.*]] = gpu.alloc () : memref<8xf32>
//  CHECK-NEXT:   gpu.memcpy %[[A]], %{{.*}} : memref<8xf32>, memref<8xf32>
//  CHECK-NEXT:   gpu.dealloc %[[A]] : memref<8xf32>
func.func @buffers(%x: memref<8xf32>) {
  %a = memref.alloc() : memref<8xf32>
  memref.copy %x, %a : memref<8xf32> to memref<8xf32>
  memref.dealloc %a : memref<8xf32>
  return
}

// -----

// A constant buffer (a dense tensor constant, bufferized) is a host global:
// kernels get a device copy, uploaded once at the entry of the function
// even if the host uses it in a loop, and freed before returning.

memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>

// CHECK-LABEL: func.func @constant
//       CHECK:   %[[HOST:.*]] = memref.get_global @table : memref<4xf32>
//  CHECK-NEXT:   %[[DEV:.*]] = gpu.alloc () : memref<4xf32>
//  CHECK-NEXT:   gpu.memcpy %[[DEV]], %[[HOST]] : memref<4xf32>, memref<4xf32>
//   CHECK-NOT:   memref.get_global
//       CHECK:   scf.for
//       CHECK:     gpu.launch
//       CHECK:       memref.load %[[DEV]]
//       CHECK:   gpu.dealloc %[[DEV]] : memref<4xf32>
//  CHECK-NEXT:   return
func.func @constant(%out: memref<4xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    %t = memref.get_global @table : memref<4xf32>
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
      %v = memref.load %t[%tx] : memref<4xf32>
      memref.store %v, %out[%tx] : memref<4xf32>
      gpu.terminator
    }
  }
  return
}

// -----

// Element accesses left on the host are errors.

func.func @host_access(%x: memref<8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{'memref.load' op reads or writes buffer elements on the host, but buffers live in GPU memory: no GPU strategy mapped this operation}}
  %v = memref.load %x[%c0] : memref<8xf32>
  return %v : f32
}
