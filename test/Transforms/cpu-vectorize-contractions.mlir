// RUN: qat-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(qat-cpu-vectorize-contractions),canonicalize)" | FileCheck %s
// RUN: not qat-opt %s --pass-pipeline="builtin.module(func.func(qat-cpu-vectorize-contractions{rows=8,0}))" 2>&1 | FileCheck %s --check-prefix=BAD-ROWS
// RUN: not qat-opt %s --pass-pipeline="builtin.module(func.func(qat-cpu-vectorize-contractions{cols=100000}))" 2>&1 | FileCheck %s --check-prefix=BAD-COLS

// BAD-ROWS: qat-cpu-vectorize-contractions: rows entries must be in [1, 64], got 0
// BAD-COLS: qat-cpu-vectorize-contractions: cols entries must be in [1, 256], got 100000

// B (64 columns) is wider than a block: panels of 32 columns of C, each with
// its columns of B copied into a contiguous tensor, then 8x32 register blocks
// of C carried in a vector over the contraction loop, reading the copy.
// CHECK-LABEL: func.func @blocks
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c32 iter_args
// CHECK:   %[[B:[a-z_0-9]+]] = tensor.extract_slice %{{.*}}[0, %{{.*}}] [48, 32] [1, 1] : tensor<48x64xf32> to tensor<48x32xf32>
// CHECK:   %[[E:[0-9]+]] = tensor.empty() : tensor<48x32xf32>
// CHECK:   %[[P:[0-9]+]] = linalg.copy ins(%[[B]] : tensor<48x32xf32>) outs(%[[E]] : tensor<48x32xf32>)
// CHECK:   scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c8 iter_args
// CHECK:     %[[BLK:[a-z_0-9]+]] = tensor.extract_slice {{.*}} [8, 32] [1, 1]
// CHECK:     %[[ACC:[0-9]+]] = vector.transfer_read %[[BLK]]{{.*}} vector<8x32xf32>
// CHECK:     scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 iter_args(%[[V:[a-z_0-9]+]] = %[[ACC]]) -> (vector<8x32xf32>)
// CHECK:       tensor.extract_slice %[[P]]
// CHECK:       vector.contract {{.*}} %{{.*}}, %{{.*}}, %[[V]] : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK:     vector.transfer_write
// CHECK:     tensor.insert_slice
func.func @blocks(%a: tensor<64x48xf32>, %b: tensor<48x64xf32>, %c: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<64x48xf32>, tensor<48x64xf32>) outs(%c : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %r : tensor<64x64xf32>
}

// -----

// Sizes pick the largest listed block that divides them (6 rows: 2; 72 columns: 8).
// CHECK-LABEL: func.func @odd_sizes
// CHECK: vector.contract {{.*}} : vector<2x1xf32>, vector<1x8xf32> into vector<2x8xf32>
func.func @odd_sizes(%a: tensor<6x5xf32>, %b: tensor<5x72xf32>, %c: tensor<6x72xf32>) -> tensor<6x72xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<6x5xf32>, tensor<5x72xf32>) outs(%c : tensor<6x72xf32>) -> tensor<6x72xf32>
  return %r : tensor<6x72xf32>
}

// -----

// No listed column block divides 7, and transposed maps are the packing
// pass's job: both stay linalg.matmul.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: vector.contract
// CHECK: linalg.matmul
// CHECK: linalg.matmul
func.func @left_alone(%a: tensor<8x4xf32>, %b: tensor<4x7xf32>, %c: tensor<8x7xf32>, %w: tensor<32x4xf32>, %d: tensor<8x32xf32>) -> (tensor<8x7xf32>, tensor<8x32xf32>) {
  %r = linalg.matmul ins(%a, %b : tensor<8x4xf32>, tensor<4x7xf32>) outs(%c : tensor<8x7xf32>) -> tensor<8x7xf32>
  %s = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %w : tensor<8x4xf32>, tensor<32x4xf32>) outs(%d : tensor<8x32xf32>) -> tensor<8x32xf32>
  return %r, %s : tensor<8x7xf32>, tensor<8x32xf32>
}

// -----

// A packed (transposed) operand of a kernel is copied in 16x16 vector
// blocks: one transposing read and one write per block.
// CHECK-LABEL: func.func @transposed_operand
// CHECK: scf.for %{{.*}} step %c16
// CHECK:   scf.for %{{.*}} step %c16
// CHECK:     %[[T:[0-9]+]] = vector.transfer_read %{{.*}} {in_bounds = [true, true], permutation_map = #{{.*}}} : tensor<16x16xf32>, vector<16x16xf32>
// CHECK:     vector.transfer_write %[[T]], %{{.*}} vector<16x16xf32>, tensor<16x16xf32>
// CHECK-NOT: linalg.transpose
// CHECK: vector.contract
func.func @transposed_operand(%a: tensor<8x32xf32>, %w: tensor<48x32xf32>, %c: tensor<8x48xf32>) -> tensor<8x48xf32> {
  %e = tensor.empty() : tensor<32x48xf32>
  %wt = linalg.transpose ins(%w : tensor<48x32xf32>) outs(%e : tensor<32x48xf32>) permutation = [1, 0]
  %r = linalg.matmul ins(%a, %wt : tensor<8x32xf32>, tensor<32x48xf32>) outs(%c : tensor<8x48xf32>) -> tensor<8x48xf32>
  return %r : tensor<8x48xf32>
}

// -----

// Sizes that are not multiples of 16: the transpose stays as it is.
// CHECK-LABEL: func.func @transposed_odd
// CHECK: linalg.transpose ins(%{{.*}} : tensor<24x8xf32>) outs(%{{.*}} : tensor<8x24xf32>)
// CHECK: vector.contract
func.func @transposed_odd(%a: tensor<8x8xf32>, %w: tensor<24x8xf32>, %c: tensor<8x24xf32>) -> tensor<8x24xf32> {
  %e = tensor.empty() : tensor<8x24xf32>
  %wt = linalg.transpose ins(%w : tensor<24x8xf32>) outs(%e : tensor<8x24xf32>) permutation = [1, 0]
  %r = linalg.matmul ins(%a, %wt : tensor<8x8xf32>, tensor<8x24xf32>) outs(%c : tensor<8x24xf32>) -> tensor<8x24xf32>
  return %r : tensor<8x24xf32>
}
