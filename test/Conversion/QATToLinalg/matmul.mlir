// RUN: qat-opt %s --convert-qat-to-linalg --split-input-file | FileCheck %s

// Signed codes go straight into a transposed-B linalg.matmul accumulating in
// i32 (it sign-extends i8 itself); the epilogue is acc * sa[m] * sb[n].
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[BT:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[MN:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[SA:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-DAG: #[[SB:.*]] = affine_map<(d0, d1) -> (d1, 0)>
// CHECK-LABEL: func.func @signed
// CHECK-SAME: (%[[LHS:.*]]: tensor<8x32xi8>, %[[RHS:.*]]: tensor<4x32xi8>, %[[SCALEA:.*]]: tensor<8x1xf32>, %[[SCALEB:.*]]: tensor<4x1xf32>)
// CHECK: %[[ZERO:.*]] = arith.constant 0 : i32
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : i32) outs(%{{.*}} : tensor<8x4xi32>)
// CHECK: %[[ACC:.*]] = linalg.matmul indexing_maps = [#[[A]], #[[BT]], #[[C]]] ins(%[[LHS]], %[[RHS]] : tensor<8x32xi8>, tensor<4x32xi8>) outs(%[[INIT]] : tensor<8x4xi32>)
// CHECK: linalg.generic {indexing_maps = [#[[MN]], #[[SA]], #[[SB]], #[[MN]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[ACC]], %[[SCALEA]], %[[SCALEB]] : tensor<8x4xi32>, tensor<8x1xf32>, tensor<4x1xf32>) outs(%{{.*}} : tensor<8x4xf32>)
// CHECK: ^bb0(%[[SUM:.*]]: i32, %[[STEPA:.*]]: f32, %[[STEPB:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[F:.*]] = arith.sitofp %[[SUM]] : i32 to f32
// CHECK-NOT: arith.constant
// CHECK: %[[Y:.*]] = arith.mulf %[[F]], %[[STEPA]]
// CHECK: arith.mulf %[[Y]], %[[STEPB]]
func.func @signed(%a: tensor<8x32xi8>, %b: tensor<4x32xi8>, %sa: tensor<8x1xf32>, %sb: tensor<4x1xf32>) -> tensor<8x4xf32> {
  %y = qat.matmul %a, %b, %sa, %sb as <signed, 8 bits, absmax, per_row>, <signed, 8 bits, learned, per_row> : tensor<8x32xi8>, tensor<4x32xi8>, tensor<8x1xf32>, tensor<4x1xf32> -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// -----

// Centered codes enter as the odd integers 2*code + 1 in i32, and each
// centered operand halves the epilogue (1/4 for both); a per_tensor step is
// read at (0, 0).
// CHECK-DAG: #[[ZERO:.*]] = affine_map<(d0, d1) -> (0, 0)>
// CHECK-LABEL: func.func @centered
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<8x32xi4>) outs(%{{.*}} : tensor<8x32xi32>)
// CHECK: %[[WIDE:.*]] = arith.extsi %{{.*}} : i4 to i32
// CHECK: %[[ONE:.*]] = arith.constant 1 : i32
// CHECK: %[[TWICE:.*]] = arith.shli %[[WIDE]], %[[ONE]] : i32
// CHECK: arith.ori %[[TWICE]], %{{.*}} : i32
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<4x32xi4>) outs(%{{.*}} : tensor<4x32xi32>)
// CHECK: arith.shli
// CHECK: arith.ori
// CHECK: linalg.matmul {{.*}} ins(%{{.*}}, %{{.*}} : tensor<8x32xi32>, tensor<4x32xi32>) outs(%{{.*}} : tensor<8x4xi32>)
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[ZERO]], #{{.*}}, #{{.*}}]
// CHECK: arith.sitofp
// CHECK: arith.constant 2.500000e-01 : f32
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @centered(%a: tensor<8x32xi4>, %b: tensor<4x32xi4>, %sa: tensor<1x1xf32>, %sb: tensor<4x1xf32>) -> tensor<8x4xf16> {
  %y = qat.matmul %a, %b, %sa, %sb as <centered, 4 bits, absmax, per_tensor>, <centered, 4 bits, rms_gaussian, per_row> : tensor<8x32xi4>, tensor<4x32xi4>, tensor<1x1xf32>, tensor<4x1xf32> -> tensor<8x4xf16>
  return %y : tensor<8x4xf16>
}

// -----

// Packed operands are unpacked along K (low nibble first, sign-extended by
// an arithmetic shift) into i32 [rows, K/2, 2], viewed as [rows, K]; only the
// centered one becomes 2*code + 1.
// CHECK-LABEL: func.func @packed_mixed
// CHECK: %[[UA:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<8x16xi8>) outs(%{{.*}} : tensor<8x16x2xi32>)
// CHECK: linalg.index 2
// CHECK: arith.shli %{{.*}} : i8
// CHECK: arith.shrsi %{{.*}} : i8
// CHECK: arith.extsi %{{.*}} : i8 to i32
// CHECK: arith.shli %{{.*}} : i32
// CHECK: arith.ori
// CHECK: %[[A:.*]] = tensor.collapse_shape %[[UA]] {{\[}}[0], [1, 2]] : tensor<8x16x2xi32> into tensor<8x32xi32>
// CHECK: %[[UB:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<4x16xi8>) outs(%{{.*}} : tensor<4x16x2xi32>)
// CHECK: arith.shrsi %{{.*}} : i8
// CHECK: %[[WB:.*]] = arith.extsi %{{.*}} : i8 to i32
// CHECK-NEXT: linalg.yield %[[WB]]
// CHECK: %[[B:.*]] = tensor.collapse_shape %[[UB]]
// CHECK: linalg.matmul {{.*}} ins(%[[A]], %[[B]] : tensor<8x32xi32>, tensor<4x32xi32>)
// CHECK: arith.constant 5.000000e-01 : f32
// CHECK: arith.truncf %{{.*}} : f32 to bf16
func.func @packed_mixed(%a: tensor<8x16xi8>, %b: tensor<4x16xi8>, %sa: tensor<8x1xf32>, %sb: tensor<4x1xf32>) -> tensor<8x4xbf16> {
  %y = qat.matmul %a, %b, %sa, %sb as <centered, 4 bits, absmax, per_row>, <signed, 4 bits, learned, per_row> packed : tensor<8x16xi8>, tensor<4x16xi8>, tensor<8x1xf32>, tensor<4x1xf32> -> tensor<8x4xbf16>
  return %y : tensor<8x4xbf16>
}

// -----

// fp8 codes enter as the values they encode (the format's decoding, in f32)
// and are summed in f32; the epilogue multiplies by the steps only.
// CHECK-LABEL: func.func @fp8
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<8x32xi8>) outs(%{{.*}} : tensor<8x32xf32>)
// CHECK: arith.bitcast %{{.*}} : i32 to f32
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<4x32xi8>) outs(%{{.*}} : tensor<4x32xf32>)
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<8x4xf32>)
// CHECK: %[[ACC:.*]] = linalg.matmul {{.*}} ins(%{{.*}}, %{{.*}} : tensor<8x32xf32>, tensor<4x32xf32>) outs(%[[INIT]] : tensor<8x4xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[ACC]], %{{.*}}, %{{.*}} : tensor<8x4xf32>, tensor<1x1xf32>, tensor<4x1xf32>)
// CHECK: ^bb0(%[[SUM:.*]]: f32, %[[STEPA:.*]]: f32, %[[STEPB:.*]]: f32, %{{.*}}: bf16):
// CHECK-NOT: arith.sitofp
// CHECK: %[[Y:.*]] = arith.mulf %[[SUM]], %[[STEPA]]
// CHECK: %[[Z:.*]] = arith.mulf %[[Y]], %[[STEPB]]
// CHECK: arith.truncf %[[Z]] : f32 to bf16
func.func @fp8(%a: tensor<8x32xi8>, %b: tensor<4x32xi8>, %sa: tensor<1x1xf32>, %sb: tensor<4x1xf32>) -> tensor<8x4xbf16> {
  %y = qat.matmul %a, %b, %sa, %sb as <e4m3, 8 bits, absmax, per_tensor>, <e5m2, 8 bits, absmax, per_row> : tensor<8x32xi8>, tensor<4x32xi8>, tensor<1x1xf32>, tensor<4x1xf32> -> tensor<8x4xbf16>
  return %y : tensor<8x4xbf16>
}
