// RUN: qat-opt %s --pass-pipeline='builtin.module(func.func(convert-qat-to-gpu))' | FileCheck %s
// RUN: qat-opt %s --pass-pipeline="builtin.module(func.func(convert-qat-to-gpu), qat-to-nvptx{format=isa})" | FileCheck %s --check-prefix=PTX

// The row sum of squares of the trust backward in the paired layout (pair
// bit 3): the two halves of the warp trade partial sums (xor 16), then the
// plain layout's butterfly over the renamed lane bits, as three clustered
// gpu.subgroup_reduce ops (strides 1..4, 16, 8), lowered in the pass to one
// chain of shuffles, each added as (own value, partner).
// CHECK-LABEL: func.func @paired_row_sum(
//   CHECK-NOT:   gpu.subgroup_reduce
//       CHECK:   %[[R0:.*]], %{{.*}} = gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32 : f32
//  CHECK-NEXT:   %[[T0:.*]] = arith.addf %{{.*}}, %[[R0]] : f32
//  CHECK-NEXT:   %[[R1:.*]], %{{.*}} = gpu.shuffle  xor %[[T0]], %c1_i32, %c32_i32 : f32
//  CHECK-NEXT:   %[[T1:.*]] = arith.addf %[[T0]], %[[R1]] : f32
//  CHECK-NEXT:   %[[R2:.*]], %{{.*}} = gpu.shuffle  xor %[[T1]], %c2_i32, %c32_i32 : f32
//  CHECK-NEXT:   %[[T2:.*]] = arith.addf %[[T1]], %[[R2]] : f32
//  CHECK-NEXT:   %[[R3:.*]], %{{.*}} = gpu.shuffle  xor %[[T2]], %c4_i32, %c32_i32 : f32
//  CHECK-NEXT:   %[[T3:.*]] = arith.addf %[[T2]], %[[R3]] : f32
//  CHECK-NEXT:   %[[R4:.*]], %{{.*}} = gpu.shuffle  xor %[[T3]], %c16_i32, %c32_i32 : f32
//  CHECK-NEXT:   %[[T4:.*]] = arith.addf %[[T3]], %[[R4]] : f32
//  CHECK-NEXT:   %[[R5:.*]], %{{.*}} = gpu.shuffle  xor %[[T4]], %c8_i32, %c32_i32 : f32
//  CHECK-NEXT:   arith.addf %[[T4]], %[[R5]] : f32
//   CHECK-NOT:   gpu.subgroup_reduce
// The PTX has the same chain of butterfly shuffles.
//       PTX: shfl.sync.bfly.b32{{[^;]*}}, 16, 31, -1;
//       PTX: shfl.sync.bfly.b32{{[^;]*}}, 1, 31, -1;
//       PTX: shfl.sync.bfly.b32{{[^;]*}}, 2, 31, -1;
//       PTX: shfl.sync.bfly.b32{{[^;]*}}, 4, 31, -1;
//       PTX: shfl.sync.bfly.b32{{[^;]*}}, 16, 31, -1;
//       PTX: shfl.sync.bfly.b32{{[^;]*}}, 8, 31, -1;
func.func @paired_row_sum(%dy: tensor<8x2048xbf16>, %x: tensor<8x2048xbf16>, %s: tensor<8x1xf32>) -> tensor<8x2048xbf16> {
  %xh = qat.hadamard %x block 128 : tensor<8x2048xbf16>
  %g = qat.fake_quant_grad %dy, %xh, %s as <centered, 4 bits, rms_gaussian, per_row> with trust : tensor<8x2048xbf16>, tensor<8x1xf32>
  %dx = qat.hadamard %g block 128 : tensor<8x2048xbf16>
  return %dx : tensor<8x2048xbf16>
}
