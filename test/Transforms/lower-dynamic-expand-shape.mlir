// RUN: qat-opt %s --split-input-file --qat-lower-dynamic-expand-shape | FileCheck %s
// RUN: qat-opt %s --split-input-file --qat-lower-dynamic-expand-shape --expand-strided-metadata | FileCheck %s --check-prefix=ESM

// Batch and sequence both dynamic: one ?x64 dimension split into two
// dynamic ones, which MLIR 22's expand-strided-metadata cannot lower.
// CHECK-LABEL: func.func @tokens(
//  CHECK-SAME:     %[[M:.*]]: memref<?x64xbf16>, %[[B:.*]]: index, %[[T:.*]]: index
//       CHECK:   %[[BASE:.*]], %{{.*}}, %{{.*}}:2, %{{.*}}:2 = memref.extract_strided_metadata %[[M]]
//       CHECK:   %[[OUTER:.*]] = arith.muli %[[T]], %c64
//       CHECK:   memref.reinterpret_cast %[[BASE]] to offset: [0], sizes: [%[[B]], %[[T]], 64], strides: [%[[OUTER]], 64, 1] : memref<bf16> to memref<?x?x64xbf16>
//   CHECK-NOT:   memref.expand_shape
// ESM-LABEL: func.func @tokens(
//       ESM:   memref.reinterpret_cast
func.func @tokens(%m: memref<?x64xbf16>, %b: index, %t: index) -> memref<?x?x64xbf16> {
  %e = memref.expand_shape %m [[0, 1], [2]] output_shape [%b, %t, 64]
      : memref<?x64xbf16> into memref<?x?x64xbf16>
  return %e : memref<?x?x64xbf16>
}

// -----

// A strided source with a dynamic offset and row stride: the innermost
// dimension of the group keeps the source's stride, the outer ones multiply
// it by the sizes inside them (here a static 3 between two dynamic sizes).
// CHECK-LABEL: func.func @strided(
//  CHECK-SAME:     %[[M:.*]]: memref<?x8xf32, strided<[?, 1], offset: ?>>, %[[A:.*]]: index, %[[C:.*]]: index
//       CHECK:   %[[BASE:.*]], %[[OFF:.*]], %{{.*}}:2, %[[STRIDES:.*]]:2 = memref.extract_strided_metadata %[[M]]
//       CHECK:   %[[MID:.*]] = arith.muli %[[STRIDES]]#0, %[[C]]
//       CHECK:   %[[OUTER:.*]] = arith.muli %[[MID]], %c3
//       CHECK:   memref.reinterpret_cast %[[BASE]] to offset: [%[[OFF]]], sizes: [%[[A]], 3, %[[C]], 8], strides: [%[[OUTER]], %[[MID]], %[[STRIDES]]#0, 1]
func.func @strided(%m: memref<?x8xf32, strided<[?, 1], offset: ?>>, %a: index, %c: index)
    -> memref<?x3x?x8xf32, strided<[?, ?, ?, 1], offset: ?>> {
  %e = memref.expand_shape %m [[0, 1, 2], [3]] output_shape [%a, 3, %c, 8]
      : memref<?x8xf32, strided<[?, 1], offset: ?>> into memref<?x3x?x8xf32, strided<[?, ?, ?, 1], offset: ?>>
  return %e : memref<?x3x?x8xf32, strided<[?, ?, ?, 1], offset: ?>>
}

// -----

// One dynamic size a group: left to expand-strided-metadata.
// CHECK-LABEL: func.func @one_dynamic(
//       CHECK:   memref.expand_shape
//   CHECK-NOT:   memref.reinterpret_cast
func.func @one_dynamic(%m: memref<?x64xf32>, %b: index) -> memref<?x4x64xf32> {
  %e = memref.expand_shape %m [[0, 1], [2]] output_shape [%b, 4, 64]
      : memref<?x64xf32> into memref<?x4x64xf32>
  return %e : memref<?x4x64xf32>
}
