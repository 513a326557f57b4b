// RUN: qat-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(convert-linalg-to-parallel-loops, qat-gpu-tile-parallel-loops, gpu-map-parallel-loops{mapping-policy=innermost-first}, convert-parallel-loops-to-gpu, canonicalize))" | FileCheck %s
// RUN: qat-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(convert-linalg-to-parallel-loops, qat-gpu-tile-parallel-loops{tile-sizes=16,16}, gpu-map-parallel-loops{mapping-policy=innermost-first}, convert-parallel-loops-to-gpu, canonicalize))" | FileCheck %s --check-prefix=SIXTEEN
// RUN: not qat-opt %s --pass-pipeline="builtin.module(func.func(qat-gpu-tile-parallel-loops{tile-sizes=64,64}))" 2>&1 | FileCheck %s --check-prefix=INVALID
// RUN: not qat-opt %s --pass-pipeline="builtin.module(func.func(qat-gpu-tile-parallel-loops{tile-sizes=4294967296,4294967296}))" 2>&1 | FileCheck %s --check-prefix=OVERFLOW
// RUN: not qat-opt %s --pass-pipeline="builtin.module(func.func(qat-gpu-tile-parallel-loops{tile-sizes=0}))" 2>&1 | FileCheck %s --check-prefix=ZERO
// RUN: not qat-opt %s --pass-pipeline="builtin.module(func.func(qat-gpu-tile-parallel-loops{tile-sizes=1,1,1,1}))" 2>&1 | FileCheck %s --check-prefix=FOUR

// The loops of linalg ops on buffers, tiled and mapped as qat-to-nvptx does.
// Tile sizes align with the innermost dimensions (default 4x64, the last
// one threadIdx.x): consecutive threads touch consecutive elements of a
// row.

// A 2-D loop: blocks of 4x64 threads, as many blocks as the (dynamic) rows
// need; elements beyond the bounds are skipped.

// CHECK-LABEL: func.func @matrix
//       CHECK:   %[[ROWS:.*]] = memref.dim
//       CHECK:   %[[BY:.*]] = affine.apply #{{.*}}()[%[[ROWS]]]
//       CHECK:   gpu.launch blocks({{.*}}) in ({{.*}} = %c2, {{.*}} = %[[BY]], {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c64, {{.*}} = %c4, {{.*}} = %c1)
//       CHECK:     arith.cmpi ult, %{{.*}}, %[[ROWS]]
//       CHECK:     arith.cmpi ult, %{{.*}}, %c96
//       CHECK:     scf.if
//       CHECK:       memref.store
// SIXTEEN-LABEL: func.func @matrix
//       SIXTEEN:   gpu.launch blocks({{.*}}) in ({{.*}} = %c6, {{.*}}) threads({{.*}}) in ({{.*}} = %c16, {{.*}} = %c16, {{.*}} = %c1)
func.func @matrix(%m: memref<?x96xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%m : memref<?x96xf32>)
  return
}

// -----

// A vector: 64 threads per block (the innermost size); a 3-D loop: 1x4x64
// threads, the grid over all three dimensions.

// CHECK-LABEL: func.func @vector_and_cube
//       CHECK:   gpu.launch blocks({{.*}}) in ({{.*}} = %c16, {{.*}} = %c1, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c64, {{.*}} = %c1, {{.*}} = %c1)
//       CHECK:   gpu.launch blocks({{.*}}) in ({{.*}} = %c2, {{.*}} = %c2, {{.*}} = %c2) threads({{.*}}) in ({{.*}} = %c64, {{.*}} = %c4, {{.*}} = %c1)
func.func @vector_and_cube(%v: memref<1000xf32>, %t: memref<2x8x128xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%v : memref<1000xf32>)
  linalg.fill ins(%zero : f32) outs(%t : memref<2x8x128xf32>)
  return
}

// -----

// A column vector (96x1): the one column keeps one thread and hands its
// share to the rows, so one block of 1x96 threads covers it.

// CHECK-LABEL: func.func @column
//       CHECK:   gpu.launch blocks({{.*}}) in ({{.*}} = %c1, {{.*}} = %c1, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c1, {{.*}} = %c96, {{.*}} = %c1)
func.func @column(%c: memref<96x1xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<96x1xf32>)
  return
}

// -----

// A matmul: the reduction stays a sequential loop in each thread.

// CHECK-LABEL: func.func @matmul
//       CHECK:   gpu.launch blocks({{.*}}) in ({{.*}} = %c4, {{.*}} = %c16, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c64, {{.*}} = %c4, {{.*}} = %c1)
//       CHECK:     scf.for %{{.*}} = %c0 to %c128 step %c1
//       CHECK:       arith.mulf
//       CHECK:       arith.addf
func.func @matmul(%a: memref<64x128xf32>, %b: memref<128x256xf32>, %c: memref<64x256xf32>) {
  linalg.matmul ins(%a, %b : memref<64x128xf32>, memref<128x256xf32>) outs(%c : memref<64x256xf32>)
  return
}

// Sizes that do not describe a thread block are an error when the options
// are parsed: more than 1024 threads, a product that overflows int64 (2^64
// wrapped to 0 and passed the check before), a size below 1, more than 3
// sizes.
// INVALID: error: qat-gpu-tile-parallel-loops: tile-sizes=64,64 does not describe a thread block: expected 1 to 3 positive sizes whose product is at most 1024
// OVERFLOW: error: qat-gpu-tile-parallel-loops: tile-sizes=4294967296,4294967296 does not describe a thread block
// ZERO: error: qat-gpu-tile-parallel-loops: tile-sizes=0 does not describe a thread block
// FOUR: error: qat-gpu-tile-parallel-loops: tile-sizes=1,1,1,1 does not describe a thread block
