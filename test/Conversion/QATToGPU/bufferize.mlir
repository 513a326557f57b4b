// RUN: qat-opt %s --convert-qat-to-gpu \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" \
// RUN:   | FileCheck %s

// The kernels take their inputs through bufferization.to_buffer and return
// fresh allocations through bufferization.to_tensor ... restrict writable, so
// one-shot bufferization of the whole function leaves no tensor and no copy:
// the kernels read the argument buffers and write the result buffers
// directly, also across groups (below, the whole-tensor step goes from the
// reduction kernel to the row kernel through its buffer).

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
#pt = #qat.quantizer<signed, 8 bits, absmax, per_tensor>

// The scale feeds both the codes and the clipped gradient: one kernel.
// CHECK-LABEL: func.func @forward_backward(
//  CHECK-SAME:     %[[X:.*]]: memref<64x256xf32>, %[[DY:.*]]: memref<64x256xf32>)
//  CHECK-SAME:     -> (memref<64x128xi8>, memref<64x1xf32>, memref<64x256xf32>)
//   CHECK-NOT:   bufferization.
//   CHECK-NOT:   memref.copy
//   CHECK-DAG:   %[[S:.*]] = memref.alloc() : memref<64x1xf32>
//   CHECK-DAG:   %[[Q:.*]] = memref.alloc() : memref<64x128xi8>
//   CHECK-DAG:   %[[DX:.*]] = memref.alloc() : memref<64x256xf32>
//       CHECK:   gpu.launch
//       CHECK:     vector.load %[[X]]
//       CHECK:     memref.store %{{.*}}, %[[S]]
//       CHECK:     vector.store %{{.*}}, %[[Q]]
//       CHECK:     vector.load %[[DY]]
//       CHECK:     vector.store %{{.*}}, %[[DX]]
//   CHECK-NOT:   gpu.launch
//   CHECK-NOT:   bufferization.
//   CHECK-NOT:   memref.copy
//       CHECK:   return %[[Q]], %[[S]], %[[DX]]
func.func @forward_backward(%x: tensor<64x256xf32>, %dy: tensor<64x256xf32>)
    -> (tensor<64x128xi8>, tensor<64x1xf32>, tensor<64x256xf32>) {
  %s = qat.scale %x as #q4 : tensor<64x256xf32> -> tensor<64x1xf32>
  %q = qat.quantize %x, %s as #q4 packed
      : tensor<64x256xf32>, tensor<64x1xf32> -> tensor<64x128xi8>
  %dx = qat.fake_quant_grad %dy, %x, %s as #q4 with clip
      : tensor<64x256xf32>, tensor<64x1xf32>
  return %q, %s, %dx : tensor<64x128xi8>, tensor<64x1xf32>, tensor<64x256xf32>
}

// A whole-tensor step: the reduction writes through a collapsed view of the
// result buffer, the row kernel reads the buffer.
// CHECK-LABEL: func.func @per_tensor(
//  CHECK-SAME:     %[[X:.*]]: memref<4x256xf32>)
//   CHECK-NOT:   bufferization.
//       CHECK:   %[[S:.*]] = memref.alloc() : memref<1x1xf32>
//       CHECK:   %[[FLAT:.*]] = memref.collapse_shape %[[S]]
//       CHECK:   gpu.launch
//       CHECK:     memref.store %{{.*}}, %[[FLAT]]
//       CHECK:   gpu.launch
//       CHECK:     memref.load %[[S]]
//   CHECK-NOT:   bufferization.
//   CHECK-NOT:   memref.copy
//       CHECK:   return
func.func @per_tensor(%x: tensor<4x256xf32>) -> tensor<4x256xi8> {
  %s = qat.scale %x as #pt : tensor<4x256xf32> -> tensor<1x1xf32>
  %q = qat.quantize %x, %s as #pt
      : tensor<4x256xf32>, tensor<1x1xf32> -> tensor<4x256xi8>
  return %q : tensor<4x256xi8>
}
