// RUN: qat-opt %s --convert-qat-to-gpu=tensor-core-hadamard=true | FileCheck %s
// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90 format=isa tensor-core-hadamard=true" \
// RUN: | FileCheck %s --check-prefix=PTX
// RUN: qat-opt %s --qat-to-nvptx="chip=sm_80 format=bin tensor-core-hadamard=true" \
// RUN: | FileCheck %s --check-prefix=BIN

// The tensor-core layout of bf16 Hadamard transforms of block 128 (off by
// default): 8-byte accesses (4 elements a chunk), H_16 of every 16
// elements on mma.sync m16n8k16 (two per pair of chunk rounds: rows g and
// g + 8 of A hold two of a thread's chunks), the other three
// stages in registers (8 chunks a thread: the forward) or two in registers
// and one shuffle (4 chunks: groups with a gradient). The remaining shuffles
// are the row reductions' (5 a warp) and, in the backward, the lane-16 stage
// of each rotation (16 values each). ptxas accepts the bf16 mma for sm_80
// and sm_90.

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>

// CHECK-LABEL: func.func @quest_forward(
//       CHECK:   gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c64{{.*}}, {{.*}} = %c2{{.*}}, {{.*}})
//   CHECK-COUNT-8:     vector.load {{.*}} {alignment = 8 : i64} : memref<6x2048xbf16>, vector<4xbf16>
//   CHECK-COUNT-8:     nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
//   CHECK-NOT:         nvgpu.mma.sync
//   CHECK-COUNT-5:     gpu.shuffle xor
//   CHECK-NOT:         gpu.shuffle
//       CHECK:     gpu.barrier
//   CHECK-COUNT-8:     vector.store {{.*}} : memref<6x1024xi8>, vector<2xi8>
// PTX-LABEL: gpu.binary @quest_forward_kernel
//  PTX-SAME: ld.global.v2.b32
//  PTX-SAME: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
//  BIN-LABEL: gpu.binary @quest_forward_kernel
//   BIN-SAME: #gpu.object<#nvvm.target<O = 3, chip = "sm_80"
func.func @quest_forward(%x: tensor<6x2048xbf16>)
    -> (tensor<6x1024xi8>, tensor<6x1xf32>) {
  %xh = qat.hadamard %x block 128 : tensor<6x2048xbf16>
  %s = qat.scale %xh as #q4 : tensor<6x2048xbf16> -> tensor<6x1xf32>
  %q = qat.quantize %xh, %s as #q4 packed
      : tensor<6x2048xbf16>, tensor<6x1xf32> -> tensor<6x1024xi8>
  return %q, %s : tensor<6x1024xi8>, tensor<6x1xf32>
}

// CHECK-LABEL: func.func @quest_backward(
//       CHECK:   gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c256{{.*}}, {{.*}} = %c1{{.*}}, {{.*}})
//   CHECK-COUNT-4:     nvgpu.mma.sync
//   CHECK-COUNT-16:    gpu.shuffle xor %{{.*}}, %c16_i32
//       CHECK:     gpu.barrier
//   CHECK-COUNT-4:     nvgpu.mma.sync
//   CHECK-COUNT-16:    gpu.shuffle xor %{{.*}}, %c16_i32
//   CHECK-COUNT-4:     vector.store {{.*}} {alignment = 8 : i64} : memref<4x4096xbf16>, vector<4xbf16>
func.func @quest_backward(%dy: tensor<4x4096xbf16>, %x: tensor<4x4096xbf16>,
                          %s: tensor<4x1xf32>) -> tensor<4x4096xbf16> {
  %xh = qat.hadamard %x block 128 : tensor<4x4096xbf16>
  %g = qat.fake_quant_grad %dy, %xh, %s as #q4 with trust
      : tensor<4x4096xbf16>, tensor<4x1xf32>
  %dx = qat.hadamard %g block 128 : tensor<4x4096xbf16>
  return %dx : tensor<4x4096xbf16>
}

// f32 values are not bf16 operands: butterflies, as without the option.
// CHECK-LABEL: func.func @f32_rows(
//   CHECK-NOT:   nvgpu.mma.sync
//       CHECK:   return
func.func @f32_rows(%x: tensor<4x2048xf32>) -> tensor<4x2048xf32> {
  %y = qat.hadamard %x block 128 : tensor<4x2048xf32>
  return %y : tensor<4x2048xf32>
}
