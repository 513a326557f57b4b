// RUN: qat-opt %s --convert-qat-to-linalg | FileCheck %s

// NVFP4's two-level step: the absmax of each block of 16 and of the whole
// tensor (each max |x| / 6), then, per block, g = 448 / T, the e4m3 block
// scale sb = e4m3(a * g) (at least 2^-9) and the step sb / g; a tensor of
// zeros gets 1. No qat op is left.
// CHECK-LABEL: func.func @nvfp4
// CHECK-NOT: qat.
// CHECK: arith.maximumf
// CHECK: arith.maximumf
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<4x4xf32>, tensor<1x1xf32>)
// CHECK: ^bb0(%[[A:.*]]: f32, %[[T:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[C448:.*]] = arith.constant 4.480000e+02 : f32
// CHECK: %[[G:.*]] = arith.divf %[[C448]], %[[T]]
// CHECK: arith.mulf %[[A]], %[[G]]
// CHECK: math.roundeven
// CHECK: %[[MIN:.*]] = arith.constant 0.001953125 : f32
// CHECK: %[[SB:.*]] = arith.maximumf %{{.*}}, %[[MIN]]
// CHECK: %[[STEP:.*]] = arith.divf %[[SB]], %[[G]]
// CHECK: arith.cmpf oeq, %[[T]]
// CHECK: arith.select
// CHECK-NOT: qat.
func.func @nvfp4(%x: tensor<4x64xf32>) -> tensor<4x4xf32> {
  %s = qat.scale %x as <e2m1, 4 bits, nvfp4, per_group<16>> : tensor<4x64xf32> -> tensor<4x4xf32>
  return %s : tensor<4x4xf32>
}
