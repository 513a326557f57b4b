// RUN: qat-opt %s --convert-qat-to-linalg --split-input-file | FileCheck %s

// Signed grid: code * s, written in the result's type.
// CHECK-LABEL: func.func @signed
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<4x1x8xi8>, tensor<4x1xf32>) outs(%{{.*}} : tensor<4x1x8xbf16>)
// CHECK: ^bb0(%[[CODE:.*]]: i8, %[[STEP:.*]]: f32, %{{.*}}: bf16):
// CHECK: %[[WIDE:.*]] = arith.extsi %[[CODE]] : i8 to i32
// CHECK: %[[F:.*]] = arith.sitofp %[[WIDE]] : i32 to f32
// CHECK: %[[V:.*]] = arith.mulf %[[F]], %[[STEP]]
// CHECK: arith.truncf %[[V]] : f32 to bf16
// CHECK: tensor.collapse_shape %{{.*}} : tensor<4x1x8xbf16> into tensor<4x8xbf16>
func.func @signed(%q: tensor<4x8xi8>, %s: tensor<4x1xf32>) -> tensor<4x8xbf16> {
  %x = qat.dequantize %q, %s as <signed, 8 bits, absmax, per_row> : tensor<4x8xi8>, tensor<4x1xf32> -> tensor<4x8xbf16>
  return %x : tensor<4x8xbf16>
}

// -----

// Centered grid: (code + 1/2) * s, with per_group<4> steps [rows, D/4].
// CHECK-LABEL: func.func @centered_per_group
// CHECK: tensor.expand_shape %{{.*}} output_shape [2, 4, 4] : tensor<2x16xi4> into tensor<2x4x4xi4>
// CHECK: ^bb0(%[[CODE:.*]]: i4, %[[STEP:.*]]: f32, %{{.*}}: f32):
// CHECK: arith.extsi %[[CODE]] : i4 to i32
// CHECK: %[[F:.*]] = arith.sitofp
// CHECK: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: %[[LEVEL:.*]] = arith.addf %[[F]], %[[HALF]]
// CHECK: arith.mulf %[[LEVEL]], %[[STEP]]
func.func @centered_per_group(%q: tensor<2x16xi4>, %s: tensor<2x4xf32>) -> tensor<2x16xf32> {
  %x = qat.dequantize %q, %s as <centered, 4 bits, rms_gaussian, per_group<4>> : tensor<2x16xi4>, tensor<2x4xf32> -> tensor<2x16xf32>
  return %x : tensor<2x16xf32>
}

// -----

// Packed: a generic over [rows, D/2, 2] reads byte j for both elements and
// takes the low nibble for element 0 ((byte << 4) >> 4) and the high one
// for element 1 (byte >> 4), arithmetic shifts sign-extending them.
// CHECK-DAG: #[[BYTE:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[STEP:.*]] = affine_map<(d0, d1, d2) -> (d0, 0)>
// CHECK-LABEL: func.func @packed
// CHECK-SAME: (%[[Q:.*]]: tensor<4x32xi8>, %[[S:.*]]: tensor<4x1xf32>)
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[BYTE]], #[[STEP]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[Q]], %[[S]] : tensor<4x32xi8>, tensor<4x1xf32>) outs(%{{.*}} : tensor<4x32x2xf32>)
// CHECK: ^bb0(%[[B:.*]]: i8, %{{.*}}: f32, %{{.*}}: f32):
// CHECK: %[[E:.*]] = linalg.index 2 : index
// CHECK: %[[HIGH:.*]] = arith.cmpi ne, %[[E]]
// CHECK: %[[FOUR:.*]] = arith.constant 4 : i8
// CHECK: %[[UP:.*]] = arith.shli %[[B]], %[[FOUR]] : i8
// CHECK: %[[SEL:.*]] = arith.select %[[HIGH]], %[[B]], %[[UP]] : i8
// CHECK: %[[NIBBLE:.*]] = arith.shrsi %[[SEL]], %[[FOUR]] : i8
// CHECK: arith.extsi %[[NIBBLE]] : i8 to i32
// CHECK: arith.constant 5.000000e-01 : f32
// CHECK: tensor.collapse_shape %[[Y]] {{\[}}[0], [1, 2]] : tensor<4x32x2xf32> into tensor<4x64xf32>
func.func @packed(%q: tensor<4x32xi8>, %s: tensor<4x1xf32>) -> tensor<4x64xf32> {
  %x = qat.dequantize %q, %s as <centered, 4 bits, rms_gaussian, per_row> packed : tensor<4x32xi8>, tensor<4x1xf32> -> tensor<4x64xf32>
  return %x : tensor<4x64xf32>
}
