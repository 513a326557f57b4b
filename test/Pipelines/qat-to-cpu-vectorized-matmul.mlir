// RUN: qat-opt %s --qat-to-cpu | FileCheck %s
// RUN: qat-opt %s --qat-to-cpu=vectorize-contractions=0 | FileCheck %s --check-prefix=LOOPS

// qat-to-cpu lowers f32 matmuls to packed 8x32 register blocks by default:
// all the way to the LLVM dialect (no vector op left, which is what failed
// when the vectorizer got random scalable flags), with one FMA on a row of
// 32 lanes per row of the block.
// CHECK-LABEL: llvm.func @mm
// CHECK-NOT: vector.
// CHECK-COUNT-8: llvm.intr.fmuladd({{.*}}) : (vector<32xf32>, vector<32xf32>, vector<32xf32>) -> vector<32xf32>
// CHECK-NOT: vector.

// LOOPS-LABEL: llvm.func @mm
// LOOPS-NOT: vector<32xf32>
func.func @mm(%a: tensor<64x48xf32>, %b: tensor<48x96xf32>) -> tensor<64x96xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x96xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<64x96xf32>) -> tensor<64x96xf32>
  %r = linalg.matmul ins(%a, %b : tensor<64x48xf32>, tensor<48x96xf32>)
      outs(%f : tensor<64x96xf32>) -> tensor<64x96xf32>
  return %r : tensor<64x96xf32>
}
