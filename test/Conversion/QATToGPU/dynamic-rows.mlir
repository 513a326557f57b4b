// RUN: qat-opt %s --convert-qat-to-gpu=allow-fallback=1 --split-input-file 2>/dev/null | FileCheck %s
// RUN: qat-opt %s --convert-qat-to-gpu --split-input-file --verify-diagnostics -o /dev/null

// Rows unknown until run time: one kernel serves every row count. The grid
// is ceil(R / rows per CTA), computed on the host from the input's size;
// the outputs take the input's rows; with several rows per CTA every row is
// checked against R in the kernel (the last CTA may be partly past the end).

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>

// CHECK-LABEL: func.func @quest_forward(
//  CHECK-SAME:     %[[X:.*]]: tensor<?x256xbf16>)
//       CHECK:   %[[IN:.*]] = bufferization.to_buffer %[[X]] read_only : tensor<?x256xbf16> to memref<?x256xbf16>
//       CHECK:   %[[ROWS:.*]] = memref.dim %[[IN]], %{{.*}} : memref<?x256xbf16>
//       CHECK:   %[[GRID:.*]] = arith.ceildivui %[[ROWS]], %[[RB:.*]] : index
//   CHECK-DAG:   memref.alloc(%{{.*}}) : memref<?x1xf32>
//   CHECK-DAG:   memref.alloc(%{{.*}}) : memref<?x128xi8>
//       CHECK:   gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GRID]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) threads(%{{.*}}, %[[TY:.*]], %{{.*}}) in (%{{.*}} = %c16{{.*}}, %{{.*}} = %c8{{.*}}, %{{.*}} = %{{.*}})
//       CHECK:     arith.cmpi ult, %{{.*}}, %[[ROWS]] : index
//       CHECK:     vector.load %[[IN]]{{.*}} : memref<?x256xbf16>, vector<8xbf16>
//   CHECK-NOT:   gpu.launch
//       CHECK:   return
func.func @quest_forward(%x: tensor<?x256xbf16>) -> (tensor<?x128xi8>, tensor<?x1xf32>) {
  %xh = qat.hadamard %x block 128 : tensor<?x256xbf16>
  %s = qat.scale %xh as #q4 : tensor<?x256xbf16> -> tensor<?x1xf32>
  %q = qat.quantize %xh, %s as #q4 packed : tensor<?x256xbf16>, tensor<?x1xf32> -> tensor<?x128xi8>
  return %q, %s : tensor<?x128xi8>, tensor<?x1xf32>
}

// -----

// One row per CTA: the grid is R itself and the kernel checks no row against
// R (the static kernel; a check at every access cost StableQAT's backward
// 47% on the H100).

// CHECK-LABEL: func.func @one_row_per_cta(
//       CHECK:   %[[ROWS:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x2048xbf16>
//   CHECK-NOT:   arith.ceildivui
//       CHECK:   gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[ROWS]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c128{{.*}}, %{{.*}} = %c1{{.*}}, %{{.*}} = %{{.*}})
//   CHECK-NOT:     %[[ROWS]]{{[^_0-9a-z]}}
//       CHECK:     gpu.terminator
func.func @one_row_per_cta(%dy: tensor<?x2048xbf16>, %w: tensor<?x2048xbf16>, %s: tensor<?x1xf32>) -> (tensor<?x2048xbf16>, tensor<?x1xf32>) {
  %dw, %ds = qat.fake_quant_grad %dy, %w, %s as <signed, 4 bits, learned, per_row> with fourier : tensor<?x2048xbf16>, tensor<?x1xf32> -> tensor<?x1xf32>
  return %dw, %ds : tensor<?x2048xbf16>, tensor<?x1xf32>
}

// -----

// Several dynamic leading dimensions: the rows are their product (the
// buffer's [R, D] view).
// CHECK-LABEL: func.func @batch_by_tokens(
//       CHECK:   %[[IN:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<?x?x512xf32> to memref<?x?x512xf32>
//       CHECK:   %[[VIEW:.*]] = memref.collapse_shape %[[IN]] {{\[}}[0, 1], [2]] : memref<?x?x512xf32> into memref<?x512xf32>
//       CHECK:   %[[ROWS:.*]] = memref.dim %[[VIEW]], %{{.*}} : memref<?x512xf32>
//       CHECK:   arith.ceildivui %[[ROWS]]
//       CHECK:   memref.dim %[[IN]], %{{.*}} : memref<?x?x512xf32>
//       CHECK:   memref.dim %[[IN]], %{{.*}} : memref<?x?x512xf32>
//       CHECK:   memref.alloc(%{{.*}}, %{{.*}}) : memref<?x?x512xf32>
//       CHECK:   gpu.launch
func.func @batch_by_tokens(%x: tensor<?x?x512xf32>, %s: tensor<?x?x1xf32>) -> tensor<?x?x512xf32> {
  %y = qat.fake_quant %x, %s as <signed, 4 bits, learned, per_row> with fourier : tensor<?x?x512xf32>, tensor<?x?x1xf32>
  return %y : tensor<?x?x512xf32>
}

// -----

// LSQ's step gradient g = 1 / sqrt(N * Qp) depends on the run-time element
// count N = R * 1024: computed on the host in f64 and rounded once to f32,
// as the constant of a static shape is.
// CHECK-LABEL: func.func @lsq_backward(
//       CHECK:   %[[ROWS:.*]] = memref.dim
//       CHECK:   %[[N:.*]] = arith.muli %[[ROWS]], %c7168 : index
//       CHECK:   %[[NI:.*]] = arith.index_castui %[[N]] : index to i64
//       CHECK:   %[[NF:.*]] = arith.uitofp %[[NI]] : i64 to f64
//       CHECK:   %[[ROOT:.*]] = math.sqrt %[[NF]] : f64
//       CHECK:   %[[G:.*]] = arith.divf %{{.*}}, %[[ROOT]] : f64
//       CHECK:   %[[G32:.*]] = arith.truncf %[[G]] : f64 to f32
//       CHECK:   gpu.launch
//       CHECK:     arith.mulf %[[G32]]
func.func @lsq_backward(%dy: tensor<?x1024xbf16>, %w: tensor<?x1024xbf16>, %s: tensor<?x1xf32>) -> (tensor<?x1024xbf16>, tensor<?x1xf32>) {
  %dw, %ds = qat.fake_quant_grad %dy, %w, %s as <signed, 4 bits, learned, per_row> with fourier : tensor<?x1024xbf16>, tensor<?x1xf32> -> tensor<?x1xf32>
  return %dw, %ds : tensor<?x1024xbf16>, tensor<?x1xf32>
}

// -----

// A per_tensor statistic over dynamic rows: the whole-tensor reduction
// reads the flat buffer, whose size gives the chunks (vectors of 8 bf16, the
// width the static row length allows), the grid clamp(ceil(chunks / 2048),
// 1, 1024) and the mean's count max(N, 1) in f32, all on the host. The
// partials have the static 1024 slots; the second launch reduces `blocks`
// of them. The quantize kernel reads the step buffer's one element.
// CHECK-LABEL: func.func @per_tensor_scale(
//       CHECK:   %[[FLAT:.*]] = memref.collapse_shape %{{.*}} {{\[}}[0, 1]] : memref<?x64xbf16> into memref<?xbf16>
//       CHECK:   %[[N:.*]] = memref.dim %[[FLAT]], %{{.*}} : memref<?xbf16>
//       CHECK:   %[[N1:.*]] = arith.maxui %[[N]], %{{.*}} : index
//       CHECK:   %[[NI:.*]] = arith.index_castui %[[N1]] : index to i64
//       CHECK:   %[[COUNT:.*]] = arith.uitofp %[[NI]] : i64 to f32
//       CHECK:   %[[N2:.*]] = memref.dim %[[FLAT]], %{{.*}} : memref<?xbf16>
//       CHECK:   %[[CHUNKS:.*]] = arith.divui %[[N2]], %c8 : index
//       CHECK:   %[[WANT:.*]] = arith.ceildivui %[[CHUNKS]], %c2048 : index
//       CHECK:   %[[LO:.*]] = arith.maxui %[[WANT]], %{{.*}} : index
//       CHECK:   %[[BLOCKS:.*]] = arith.minui %[[LO]], %c1024 : index
//       CHECK:   %[[STRIDE:.*]] = arith.muli %[[BLOCKS]], %c256 : index
//       CHECK:   %[[PARTIALS:.*]] = memref.alloc() : memref<1024xf32>
//       CHECK:   gpu.launch blocks({{.*}}) in (%{{.*}} = %[[BLOCKS]], {{.*}} threads({{.*}}) in (%{{.*}} = %c256
//       CHECK:     scf.for %{{.*}} = %{{.*}} to %[[CHUNKS]] step %[[STRIDE]]
//       CHECK:       vector.load %[[FLAT]][%{{.*}}] {alignment = 16 : i64} : memref<?xbf16>, vector<8xbf16>
//       CHECK:     memref.store %{{.*}}, %[[PARTIALS]][%{{.*}}] : memref<1024xf32>
//       CHECK:   gpu.launch blocks({{.*}}) in (%{{.*}} = %c1
//       CHECK:     scf.for %{{.*}} = %{{.*}} to %[[BLOCKS]] step %c256
//       CHECK:       vector.load %[[PARTIALS]][%{{.*}}] {alignment = 4 : i64} : memref<1024xf32>, vector<1xf32>
//       CHECK:     arith.divf %{{.*}}, %[[COUNT]] : f32
//       CHECK:     math.sqrt
//       CHECK:   gpu.launch
//       CHECK:     memref.load %{{.*}}[%{{.*}}, %{{.*}}] : memref<1x1xf32>
//   CHECK-NOT:   qat.
func.func @per_tensor_scale(%x: tensor<?x64xbf16>) -> (tensor<1x1xf32>, tensor<?x32xi8>) {
  %s = qat.scale %x as <centered, 4 bits, rms_gaussian, per_tensor> : tensor<?x64xbf16> -> tensor<1x1xf32>
  %q = qat.quantize %x, %s as <centered, 4 bits, rms_gaussian, per_tensor> packed : tensor<?x64xbf16>, tensor<1x1xf32> -> tensor<?x32xi8>
  return %s, %q : tensor<1x1xf32>, tensor<?x32xi8>
}

// -----

// per_tensor trust without `std`: the whole input's deviation over the
// run-time count, before the row kernel, which reads it.
// CHECK-LABEL: func.func @per_tensor_trust(
//       CHECK:   %[[STD:.*]] = memref.alloc() : memref<1xf32>
//       CHECK:   %[[COUNT:.*]] = arith.uitofp %{{.*}} : i64 to f32
//       CHECK:   gpu.launch
//       CHECK:   gpu.launch
//       CHECK:     arith.divf %{{.*}}, %[[COUNT]] : f32
//       CHECK:     memref.store %{{.*}}, %[[STD]][%{{.*}}] : memref<1xf32>
//       CHECK:   gpu.launch
//       CHECK:     memref.load %[[STD]][%{{.*}}] : memref<1xf32>
func.func @per_tensor_trust(%dy: tensor<?x64xf32>, %x: tensor<?x64xf32>, %s: tensor<1x1xf32>) -> tensor<?x64xf32> {
  %dx = qat.fake_quant_grad %dy, %x, %s as <centered, 4 bits, rms_gaussian, per_tensor> with trust : tensor<?x64xf32>, tensor<1x1xf32>
  return %dx : tensor<?x64xf32>
}

// -----

// per_tensor LSQ: one partial sum per row (R of them, R from the input), then
// the whole-tensor sum of the partials times g = 1 / sqrt(max(R, 1) * 32 * 7)
// computed on the host in f64.
// CHECK-LABEL: func.func @per_tensor_lsq(
//       CHECK:   %[[R:.*]] = memref.dim %{{.*}}, %c0 : memref<?x32xf32>
//       CHECK:   %[[R1:.*]] = arith.maxui %[[R]], %{{.*}} : index
//       CHECK:   arith.muli %[[R1]], %c224 : index
//       CHECK:   math.sqrt %{{.*}} : f64
//       CHECK:   %[[G:.*]] = arith.truncf %{{.*}} : f64 to f32
//       CHECK:   %[[ROWS:.*]] = memref.alloc(%[[R]]) : memref<?xf32>
//       CHECK:   gpu.launch
//       CHECK:     memref.store %{{.*}}, %[[ROWS]][%{{.*}}] : memref<?xf32>
//       CHECK:   memref.dim %[[ROWS]], %{{.*}} : memref<?xf32>
//       CHECK:   gpu.launch
//       CHECK:   gpu.launch
//       CHECK:     arith.mulf %[[G]], %{{.*}} : f32
func.func @per_tensor_lsq(%dy: tensor<?x32xf32>, %w: tensor<?x32xf32>, %s: tensor<1x1xf32>) -> (tensor<?x32xf32>, tensor<1x1xf32>) {
  %dw, %ds = qat.fake_quant_grad %dy, %w, %s as <signed, 4 bits, learned, per_tensor> with fourier : tensor<?x32xf32>, tensor<1x1xf32> -> tensor<1x1xf32>
  return %dw, %ds : tensor<?x32xf32>, tensor<1x1xf32>
}
