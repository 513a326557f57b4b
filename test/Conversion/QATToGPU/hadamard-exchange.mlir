// RUN: qat-opt %s --convert-qat-to-gpu --split-input-file | FileCheck %s
// RUN: qat-opt %s --convert-qat-to-gpu="hadamard-exchange=false" --split-input-file | FileCheck %s --check-prefix=SHUFFLE

// The exchanged layout (RowLayout::getExchanged): bf16 Hadamard blocks of 128
// whose reductions span whole rows move their values once through the
// warp's shared-memory region instead of shuffling them in the stages that
// pair lanes. The only shuffles left are the row reduction's.

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>

// QuEST's forward (quad layout, 32 elements a thread): two passes of half a
// chunk (16-byte granules, a warp barrier between the writes and the reads
// and before a region is written again), then the row reduction over the
// exchanged values, and the 32 codes of a thread (4 consecutive chunks in
// the exchanged layout) stored as one 16-byte vector. 4 warps a CTA, 560
// floats each, plus the reduction's slots.
// CHECK-LABEL: func.func @quest_forward(
//       CHECK:   gpu.launch
//   CHECK-NOT:     gpu.shuffle
//       CHECK:     vector.store %{{.*}}, %{{.*}} {alignment = 16 : i64} : memref<2251xf32, #gpu.address_space<workgroup>>, vector<4xf32>
//       CHECK:     nvvm.bar.warp.sync
//       CHECK:     vector.load %{{.*}} {alignment = 16 : i64} : memref<2251xf32, #gpu.address_space<workgroup>>, vector<4xf32>
//       CHECK:     nvvm.bar.warp.sync
//       CHECK:     vector.store %{{.*}} : memref<2251xf32, #gpu.address_space<workgroup>>, vector<4xf32>
//       CHECK:     nvvm.bar.warp.sync
//   CHECK-NOT:     nvvm.bar.warp.sync
//       CHECK:     gpu.shuffle xor %{{.*}}, %c1_i32
//       CHECK:     gpu.shuffle xor %{{.*}}, %c16_i32
//       CHECK:     gpu.barrier
//       CHECK:     vector.store %{{.*}} {alignment = 16 : i64} : memref<8x2048xi8>, vector<16xi8>
//   CHECK-NOT:     vector.store
//       CHECK:     gpu.terminator
// SHUFFLE-LABEL: func.func @quest_forward(
//   SHUFFLE-NOT:     nvvm.bar.warp.sync
//       SHUFFLE:     gpu.shuffle xor %{{.*}}, %c1_i32
//       SHUFFLE:     gpu.shuffle xor %{{.*}}, %c2_i32
//       SHUFFLE:     gpu.terminator
func.func @quest_forward(%x: tensor<8x4096xbf16>) -> (tensor<8x2048xi8>, tensor<8x1xf32>) {
  %xh = qat.hadamard %x block 128 : tensor<8x4096xbf16>
  %s = qat.scale %xh as #q4 : tensor<8x4096xbf16> -> tensor<8x1xf32>
  %q = qat.quantize %xh, %s as #q4 packed : tensor<8x4096xbf16>, tensor<8x1xf32> -> tensor<8x2048xi8>
  return %q, %s : tensor<8x2048xi8>, tensor<8x1xf32>
}

// -----

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>

// QuEST's backward (paired layout, 16 elements a thread) keeps its shuffles:
// exchanging there was slower on an H200 (RowLayout::getExchanged).
// CHECK-LABEL: func.func @quest_backward(
//   CHECK-NOT:     nvvm.bar.warp.sync
//       CHECK:     gpu.shuffle xor
//   CHECK-NOT:     nvvm.bar.warp.sync
//       CHECK:     gpu.terminator
func.func @quest_backward(%dy: tensor<8x4096xbf16>, %x: tensor<8x4096xbf16>, %s: tensor<8x1xf32>) -> tensor<8x4096xbf16> {
  %xh = qat.hadamard %x block 128 : tensor<8x4096xbf16>
  %g = qat.fake_quant_grad %dy, %xh, %s as #q4 with trust : tensor<8x4096xbf16>, tensor<8x1xf32>
  %dx = qat.hadamard %g block 128 : tensor<8x4096xbf16>
  return %dx : tensor<8x4096xbf16>
}

// -----

#g4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_group<256>>

// Groups shorter than the row keep the natural layout (their reductions
// combine lanes by chunk position): shuffles, no exchange.
// CHECK-LABEL: func.func @per_group(
//   CHECK-NOT:     nvvm.bar.warp.sync
//       CHECK:     gpu.terminator
func.func @per_group(%x: tensor<8x4096xbf16>) -> tensor<8x4096xbf16> {
  %xh = qat.hadamard %x block 128 : tensor<8x4096xbf16>
  %s = qat.scale %xh as #g4 : tensor<8x4096xbf16> -> tensor<8x16xf32>
  %y = qat.fake_quant %xh, %s as #g4 with trust : tensor<8x4096xbf16>, tensor<8x16xf32>
  return %y : tensor<8x4096xbf16>
}

// -----

// A Hadamard transform alone (quad layout) is stored from the exchanged
// layout: each thread's 4 consecutive chunks.
// CHECK-LABEL: func.func @hadamard_alone(
//       CHECK:     nvvm.bar.warp.sync
//       CHECK:     nvvm.bar.warp.sync
//       CHECK:     nvvm.bar.warp.sync
//   CHECK-NOT:     gpu.shuffle
//       CHECK:     vector.store %{{.*}} {alignment = 16 : i64} : memref<4x1024xbf16>, vector<8xbf16>
//       CHECK:     vector.store %{{.*}} {alignment = 16 : i64} : memref<4x1024xbf16>, vector<8xbf16>
func.func @hadamard_alone(%x: tensor<4x1024xbf16>) -> tensor<4x1024xbf16> {
  %y = qat.hadamard %x block 128 : tensor<4x1024xbf16>
  return %y : tensor<4x1024xbf16>
}
