// RUN: qat-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(qat-cpu-pack-contraction-operands))" | FileCheck %s

// A linear layer's forward (x w^T): B is packed row-major.
// CHECK-LABEL: func.func @transposed_b
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>, %[[W:.*]]: tensor<6x8xf32>
// CHECK: %[[E:.*]] = tensor.empty() : tensor<8x6xf32>
// CHECK: %[[WT:.*]] = linalg.transpose ins(%[[W]] : tensor<6x8xf32>) outs(%[[E]] : tensor<8x6xf32>) permutation = [1, 0]
// CHECK: linalg.matmul ins(%[[X]], %[[WT]] : tensor<4x8xf32>, tensor<8x6xf32>)
func.func @transposed_b(%x: tensor<4x8xf32>, %w: tensor<6x8xf32>, %c: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %r = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : tensor<4x8xf32>, tensor<6x8xf32>) outs(%c : tensor<4x6xf32>) -> tensor<4x6xf32>
  return %r : tensor<4x6xf32>
}

// -----

// A weight gradient (dy^T x): A is packed.
// CHECK-LABEL: func.func @transposed_a
// CHECK: %[[AT:.*]] = linalg.transpose ins(%{{.*}} : tensor<5x4xf32>) outs(%{{.*}} : tensor<4x5xf32>) permutation = [1, 0]
// CHECK: linalg.matmul ins(%[[AT]], %{{.*}} : tensor<4x5xf32>, tensor<5x3xf32>)
func.func @transposed_a(%dy: tensor<5x4xf32>, %x: tensor<5x3xf32>, %c: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %r = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%dy, %x : tensor<5x4xf32>, tensor<5x3xf32>) outs(%c : tensor<4x3xf32>) -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// -----

// Batched q k^T: B is packed per batch.
// CHECK-LABEL: func.func @batch_transposed_b
// CHECK: linalg.transpose ins(%{{.*}} : tensor<2x7x8xf32>) outs(%{{.*}} : tensor<2x8x7xf32>) permutation = [0, 2, 1]
// CHECK: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<2x5x8xf32>, tensor<2x8x7xf32>)
func.func @batch_transposed_b(%q: tensor<2x5x8xf32>, %k: tensor<2x7x8xf32>, %c: tensor<2x5x7xf32>) -> tensor<2x5x7xf32> {
  %r = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>]
      ins(%q, %k : tensor<2x5x8xf32>, tensor<2x7x8xf32>) outs(%c : tensor<2x5x7xf32>) -> tensor<2x5x7xf32>
  return %r : tensor<2x5x7xf32>
}

// -----

// Row-major already: unchanged.
// CHECK-LABEL: func.func @row_major
// CHECK-NOT: linalg.transpose
// CHECK: linalg.matmul ins
func.func @row_major(%a: tensor<4x8xf32>, %b: tensor<8x6xf32>, %c: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x6xf32>) outs(%c : tensor<4x6xf32>) -> tensor<4x6xf32>
  return %r : tensor<4x6xf32>
}
