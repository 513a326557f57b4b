// RUN: qat-opt %s --convert-qat-to-linalg --split-input-file | FileCheck %s

// A block of 2 is one butterfly level: one generic reads both elements of
// each pair through constant indices of the view [..., D/2, 2, 1] and scales
// by 1/sqrt(2) in f32.
// CHECK-DAG: #[[LOW:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, d3)>
// CHECK-DAG: #[[HIGH:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, 1, d3)>
// CHECK-LABEL: func.func @block2
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK: %[[VIEW:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1, 2, 3]] output_shape [4, 4, 2, 1]
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[LOW]], #[[HIGH]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[VIEW]], %[[VIEW]] :
// CHECK: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[BIT:.*]] = linalg.index 2
// CHECK: %[[SECOND:.*]] = arith.cmpi ne, %[[BIT]]
// CHECK: %[[SUM:.*]] = arith.addf %[[A]], %[[B]]
// CHECK: %[[DIFF:.*]] = arith.subf %[[A]], %[[B]]
// CHECK: %[[SEL:.*]] = arith.select %[[SECOND]], %[[DIFF]], %[[SUM]]
// CHECK: %[[NORM:.*]] = arith.constant 0.707106769 : f32
// CHECK: arith.mulf %[[SEL]], %[[NORM]]
// CHECK: %[[R:.*]] = tensor.collapse_shape %[[Y]] {{\[}}[0], [1, 2, 3]] : tensor<4x4x2x1xf32> into tensor<4x8xf32>
// CHECK: return %[[R]]
func.func @block2(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = qat.hadamard %x block 2 : tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Levels are done two per generic (radix 4): a block of 8 is a stage of
// levels 1 and 2 over [..., D/4, 2, 2, 1] (four reads), then a stage of
// level 4 over [..., D/8, 2, 4]. Only the last stage scales by 1/sqrt(8).
// CHECK-LABEL: func.func @block8
// CHECK: tensor.expand_shape %{{.*}} output_shape [4, 4, 2, 2, 1] : tensor<4x16xf32> into tensor<4x4x2x2x1xf32>
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<4x4x2x2x1xf32>, tensor<4x4x2x2x1xf32>, tensor<4x4x2x2x1xf32>, tensor<4x4x2x2x1xf32>)
// CHECK-NOT: arith.mulf
// CHECK: linalg.yield
// CHECK: tensor.collapse_shape
// CHECK: tensor.expand_shape %{{.*}} output_shape [4, 2, 2, 4] : tensor<4x16xf32> into tensor<4x2x2x4xf32>
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<4x2x2x4xf32>, tensor<4x2x2x4xf32>)
// CHECK: arith.constant 0.353553385 : f32
// CHECK: arith.mulf
// CHECK: linalg.yield
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @block8(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %y = qat.hadamard %x block 8 : tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// bf16 is extended on the first read and truncated on the last write; the
// intermediate stage is f32.
// CHECK-LABEL: func.func @bf16
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<2x16x2x2x1xf32>
// CHECK: linalg.generic
// CHECK-SAME: outs(%[[INIT]] : tensor<2x16x2x2x1xf32>)
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: tensor.empty() : tensor<2x8x2x4xbf16>
// CHECK: linalg.generic
// CHECK-NOT: arith.extf
// CHECK: arith.truncf %{{.*}} : f32 to bf16
func.func @bf16(%x: tensor<2x64xbf16>) -> tensor<2x64xbf16> {
  %y = qat.hadamard %x block 8 : tensor<2x64xbf16>
  return %y : tensor<2x64xbf16>
}

// -----

// Only the last dimension must be static: leading dynamic sizes flow through
// the reshapes and tensor.empty.
// CHECK-LABEL: func.func @dynamic_rows
// CHECK: %[[DIM:.*]] = tensor.dim
// CHECK: tensor.expand_shape %{{.*}} output_shape [%[[DIM]], 8, 2, 2, 1] : tensor<?x32xf32> into tensor<?x8x2x2x1xf32>
// CHECK: tensor.empty(%{{.*}}) : tensor<?x8x2x2x1xf32>
// CHECK: tensor.collapse_shape %{{.*}} : tensor<?x8x2x2x1xf32> into tensor<?x32xf32>
func.func @dynamic_rows(%x: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %y = qat.hadamard %x block 4 : tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// H_1 is the identity.
// CHECK-LABEL: func.func @block1
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK-NEXT: return %[[X]]
func.func @block1(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = qat.hadamard %x block 1 : tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
