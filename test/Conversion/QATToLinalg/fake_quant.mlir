// RUN: qat-opt %s --convert-qat-to-linalg --split-input-file | FileCheck %s

// dequantize(quantize(x)) in one elementwise generic, in float: k of the
// centered grid, then (k - 1/2) * s; no integer in between. The clamp
// propagates NaN (maximumf/minimumf): NaN in, NaN out. The estimator plays
// no part in the forward.
// CHECK-LABEL: func.func @centered
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK: ^bb0(%[[IN:.*]]: bf16, %[[STEP:.*]]: f32, %{{.*}}: bf16):
// CHECK: %[[X:.*]] = arith.extf %[[IN]] : bf16 to f32
// CHECK: %[[V:.*]] = arith.divf %[[X]], %[[STEP]]
// CHECK: arith.addf %[[V]]
// CHECK: arith.maximumf
// CHECK: arith.minimumf
// CHECK: %[[K:.*]] = math.roundeven
// CHECK-NOT: arith.fptosi
// CHECK: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: %[[LEVEL:.*]] = arith.subf %[[K]], %[[HALF]]
// CHECK: %[[Y:.*]] = arith.mulf %[[LEVEL]], %[[STEP]]
// CHECK: %[[T:.*]] = arith.truncf %[[Y]] : f32 to bf16
// CHECK: linalg.yield %[[T]]
func.func @centered(%x: tensor<4x64xbf16>, %s: tensor<4x1xf32>) -> tensor<4x64xbf16> {
  %y = qat.fake_quant %x, %s as <centered, 4 bits, rms_gaussian, per_row> with trust : tensor<4x64xbf16>, tensor<4x1xf32>
  return %y : tensor<4x64xbf16>
}

// -----

// Signed grid: roundeven(clamp(x / s, qn, qp)) * s, one step per group of 8.
// CHECK-LABEL: func.func @signed_per_group
// CHECK: tensor.expand_shape %{{.*}} output_shape [4, 8, 8] : tensor<4x64xf32> into tensor<4x8x8xf32>
// CHECK: ^bb0(%[[X:.*]]: f32, %[[STEP:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[V:.*]] = arith.divf %[[X]], %[[STEP]]
// CHECK: arith.constant -2.000000e+00 : f32
// CHECK: arith.maximumf %[[V]]
// CHECK: arith.constant 1.000000e+00 : f32
// CHECK: %[[C:.*]] = arith.minimumf
// CHECK: %[[CODE:.*]] = math.roundeven %[[C]]
// CHECK: arith.mulf %[[CODE]], %[[STEP]]
func.func @signed_per_group(%x: tensor<4x64xf32>, %s: tensor<4x8xf32>) -> tensor<4x64xf32> {
  %y = qat.fake_quant %x, %s as <signed, 2 bits, learned, per_group<8>> with fourier : tensor<4x64xf32>, tensor<4x8xf32>
  return %y : tensor<4x64xf32>
}
