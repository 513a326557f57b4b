// RUN: qat-opt %s --convert-qat-to-gpu --split-input-file | FileCheck %s

// Fusion groups of row-local qat ops: one gpu.launch per group, external
// inputs read once, results used outside the group written once, values
// only used inside the group kept on chip.

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>

// The QuEST forward: rotate, scale, quantize to packed codes and
// fake-quantize in one kernel. The rotated tensor is not written: only the
// group uses it. Cross-lane butterfly stages are a shuffle and one fma by
// +-1; x/s is one reciprocal of the step and Markstein's fma correction,
// with arith.divf in a branch for inputs out of its range; codes come from
// the bits of the rounding shift (no math.roundeven, no fptosi).
// CHECK-LABEL: func.func @quest_forward(
//  CHECK-SAME:     %[[X:.*]]: tensor<64x256xf32>)
//   CHECK-NOT:   qat.
//       CHECK:   %[[IN:.*]] = bufferization.to_buffer %[[X]] read_only
//   CHECK-DAG:   %[[S:.*]] = memref.alloc() : memref<64x1xf32>
//   CHECK-DAG:   %[[Q:.*]] = memref.alloc() : memref<64x128xi8>
//   CHECK-DAG:   %[[Y:.*]] = memref.alloc() : memref<64x256xf32>
//   CHECK-NOT:   memref.alloc
//       CHECK:   gpu.launch
//   CHECK-NOT:   gpu.launch
//       CHECK:     %[[SHIFT:.*]] = arith.constant 0x4B400000 : f32
//       CHECK:     vector.load %[[IN]]{{.*}} {alignment = 16 : i64} : memref<64x256xf32>, vector<4xf32>
//       CHECK:     gpu.shuffle xor
//       CHECK:     math.fma
//       CHECK:     math.sqrt
//       CHECK:     memref.store %{{.*}}, %[[S]]
//       CHECK:     arith.divf
//       CHECK:     scf.if
//       CHECK:       arith.divf
//       CHECK:     } else {
//       CHECK:       math.fma
//   CHECK-NOT:     math.roundeven
//       CHECK:     %[[SHIFTED:.*]] = arith.addf %{{.*}}, %[[SHIFT]] : f32
//       CHECK:     arith.bitcast %[[SHIFTED]] : f32 to i32
//       CHECK:     vector.store %{{.*}}, %[[Q]]{{.*}} : memref<64x128xi8>, vector<2xi8>
//       CHECK:     vector.store %{{.*}}, %[[Y]]{{.*}} {alignment = 16 : i64} : memref<64x256xf32>, vector<4xf32>
//       CHECK:     gpu.terminator
//   CHECK-DAG:   %[[ST:.*]] = bufferization.to_tensor %[[S]] restrict writable
//   CHECK-DAG:   %[[QT:.*]] = bufferization.to_tensor %[[Q]] restrict writable
//   CHECK-DAG:   %[[YT:.*]] = bufferization.to_tensor %[[Y]] restrict writable
//       CHECK:   return %[[QT]], %[[ST]], %[[YT]]
func.func @quest_forward(%x: tensor<64x256xf32>)
    -> (tensor<64x128xi8>, tensor<64x1xf32>, tensor<64x256xf32>) {
  %xh = qat.hadamard %x block 128 : tensor<64x256xf32>
  %s = qat.scale %xh as #q4 : tensor<64x256xf32> -> tensor<64x1xf32>
  %q = qat.quantize %xh, %s as #q4 packed
      : tensor<64x256xf32>, tensor<64x1xf32> -> tensor<64x128xi8>
  %y = qat.fake_quant %xh, %s as #q4 with trust
      : tensor<64x256xf32>, tensor<64x1xf32>
  return %q, %s, %y : tensor<64x128xi8>, tensor<64x1xf32>, tensor<64x256xf32>
}

// -----

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>

// The QuEST backward: the trust mask (its per-row standard deviation is a
// reduction in the kernel) and the rotation back, one kernel; the masked
// gradient stays in registers.
// CHECK-LABEL: func.func @quest_backward(
//   CHECK-NOT:   qat.
//   CHECK-DAG:   bufferization.to_buffer %arg0 read_only
//   CHECK-DAG:   bufferization.to_buffer %arg1 read_only
//   CHECK-DAG:   bufferization.to_buffer %arg2 read_only
//       CHECK:   %[[DX:.*]] = memref.alloc() : memref<64x256xf32>
//   CHECK-NOT:   memref.alloc
//       CHECK:   gpu.launch
//   CHECK-NOT:   gpu.launch
//       CHECK:     math.sqrt
//       CHECK:     arith.cmpf ole
//       CHECK:     gpu.shuffle xor
//       CHECK:     vector.store %{{.*}}, %[[DX]]
//       CHECK:   %[[T:.*]] = bufferization.to_tensor %[[DX]] restrict writable
//       CHECK:   return %[[T]]
func.func @quest_backward(%dy: tensor<64x256xf32>, %xh: tensor<64x256xf32>,
                          %s: tensor<64x1xf32>) -> tensor<64x256xf32> {
  %dxh = qat.fake_quant_grad %dy, %xh, %s as #q4 with trust
      : tensor<64x256xf32>, tensor<64x1xf32>
  %dx = qat.hadamard %dxh block 128 : tensor<64x256xf32>
  return %dx : tensor<64x256xf32>
}

// -----

#lsq2 = #qat.quantizer<signed, 2 bits, learned, per_row>

// StableQAT's backward: the Fourier surrogate for dw and the LSQ step
// gradient (a per-row reduction) in one kernel. The cosine is a reduction by
// pi and a polynomial (no math.cos: |v| is bounded where it matters).
// CHECK-LABEL: func.func @stableqat_backward(
//   CHECK-DAG:   %[[DW:.*]] = memref.alloc() : memref<96x192xf32>
//   CHECK-DAG:   %[[DS:.*]] = memref.alloc() : memref<96x1xf32>
//       CHECK:   gpu.launch
//   CHECK-NOT:   gpu.launch
//   CHECK-NOT:     math.cos
//       CHECK:     math.fma
//   CHECK-NOT:     math.cos
//       CHECK:     vector.store %{{.*}}, %[[DW]]
//       CHECK:     gpu.shuffle xor
//       CHECK:     memref.store %{{.*}}, %[[DS]]
//   CHECK-DAG:   %[[DWT:.*]] = bufferization.to_tensor %[[DW]]
//   CHECK-DAG:   %[[DST:.*]] = bufferization.to_tensor %[[DS]]
//       CHECK:   return %[[DWT]], %[[DST]]
func.func @stableqat_backward(%dy: tensor<96x192xf32>, %w: tensor<96x192xf32>,
                              %s: tensor<96x1xf32>)
    -> (tensor<96x192xf32>, tensor<96x1xf32>) {
  %dw, %ds = qat.fake_quant_grad %dy, %w, %s as #lsq2 with fourier<[0.21]>
      : tensor<96x192xf32>, tensor<96x1xf32> -> tensor<96x1xf32>
  return %dw, %ds : tensor<96x192xf32>, tensor<96x1xf32>
}

// -----

#g128 = #qat.quantizer<signed, 4 bits, absmax, per_group<128>>

// bf16 rows: 16-byte loads of 8 elements, computed in f32 (each bf16 is the
// high half of its f32: shifted or masked out of the loaded words); the
// per-group maxima are reductions over clusters of 16 lanes; the steps round
// to bf16 before the codes use them, as if read back from memory.
// CHECK-LABEL: func.func @per_group_bf16(
//       CHECK:   gpu.launch
//   CHECK-NOT:   gpu.launch
//       CHECK:     vector.load {{.*}} {alignment = 16 : i64} : memref<32x1024xbf16>, vector<8xbf16>
//       CHECK:     vector.bitcast {{.*}} : vector<8xbf16> to vector<4xi32>
//       CHECK:     arith.andi {{.*}}, %c-65536_i32 : i32
//       CHECK:     arith.bitcast {{.*}} : i32 to f32
//       CHECK:     gpu.shuffle xor %{{.*}}, %c8_i32
//       CHECK:     %[[STEP:.*]] = arith.truncf {{.*}} : f32 to bf16
//       CHECK:     %[[WIDE:.*]] = arith.extf %[[STEP]] : bf16 to f32
//       CHECK:     arith.divf %{{.*}}, %[[WIDE]]
//       CHECK:     vector.store {{.*}} : memref<32x1024xbf16>, vector<8xbf16>
func.func @per_group_bf16(%x: tensor<32x1024xbf16>)
    -> (tensor<32x512xi8>, tensor<32x8xbf16>, tensor<32x1024xbf16>) {
  %s = qat.scale %x as #g128 : tensor<32x1024xbf16> -> tensor<32x8xbf16>
  %q = qat.quantize %x, %s as #g128 packed
      : tensor<32x1024xbf16>, tensor<32x8xbf16> -> tensor<32x512xi8>
  %d = qat.dequantize %q, %s as #g128 packed
      : tensor<32x512xi8>, tensor<32x8xbf16> -> tensor<32x1024xbf16>
  return %q, %s, %d : tensor<32x512xi8>, tensor<32x8xbf16>, tensor<32x1024xbf16>
}

// -----

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>

// Rows of 4096 with a 4096-block rotation: 256 threads per row; the three
// butterfly stages between warps exchange through shared memory (a barrier
// between stores and loads, one before the copy is overwritten: 5), the
// per-row reduction combines 8 warps through shared memory (1), and the
// row's first warp hands the step and its reciprocal to the others (1).
// CHECK-LABEL: func.func @long_rows(
//       CHECK:   %[[BYTES:.*]] = arith.constant 16428 : i32
//       CHECK:   gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c256{{.*}}, {{.*}} = %c1{{.*}}, {{.*}}) dynamic_shared_memory_size %[[BYTES]]
//       CHECK:     gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK-COUNT-7:   gpu.barrier
//   CHECK-NOT:     gpu.barrier
//       CHECK:     gpu.terminator
func.func @long_rows(%x: tensor<16x4096xf32>) -> tensor<16x4096xf32> {
  %xh = qat.hadamard %x block 4096 : tensor<16x4096xf32>
  %s = qat.scale %xh as #q4 : tensor<16x4096xf32> -> tensor<16x1xf32>
  %y = qat.fake_quant %xh, %s as #q4 with trust
      : tensor<16x4096xf32>, tensor<16x1xf32>
  return %y : tensor<16x4096xf32>
}

// -----

#pt = #qat.quantizer<signed, 8 bits, absmax, per_tensor>

// A per_tensor step needs every row: a separate reduction launch (all of
// these 8192 elements fit one CTA's pass), then the row kernel reads the
// step like any input.
// CHECK-LABEL: func.func @per_tensor_scale(
//       CHECK:   %[[S:.*]] = memref.alloc() : memref<1x1x1xf32>
//       CHECK:   %[[FLAT:.*]] = memref.collapse_shape %[[S]] {{\[}}[0, 1, 2]]
//       CHECK:   gpu.launch
//       CHECK:     scf.for
//       CHECK:     arith.maximumf
//       CHECK:     memref.store %{{.*}}, %[[FLAT]]
//       CHECK:   %[[ST:.*]] = bufferization.to_tensor %[[S]]
//       CHECK:   bufferization.to_buffer %[[ST]] read_only
//       CHECK:   gpu.launch
//   CHECK-NOT:   gpu.launch
//       CHECK:   return
func.func @per_tensor_scale(%x: tensor<8x4x256xf32>)
    -> (tensor<8x4x256xi8>, tensor<1x1x1xf32>) {
  %s = qat.scale %x as #pt : tensor<8x4x256xf32> -> tensor<1x1x1xf32>
  %q = qat.quantize %x, %s as #pt
      : tensor<8x4x256xf32>, tensor<1x1x1xf32> -> tensor<8x4x256xi8>
  return %q, %s : tensor<8x4x256xi8>, tensor<1x1x1xf32>
}

// -----

#lsq3 = #qat.quantizer<signed, 3 bits, learned, per_tensor>
#rms2 = #qat.quantizer<centered, 2 bits, rms_gaussian, per_tensor>

// per_tensor backward. LSQ: each row's partial sum of the step gradient goes
// to a temporary and one more launch adds the rows up. Trust: the standard
// deviation of the whole input comes from a reduction launch that runs
// before the row kernel (which reads it as an input).
// CHECK-LABEL: func.func @per_tensor_grad(
//       CHECK:   %[[PARTIALS:.*]] = memref.alloc() : memref<300xf32>
//       CHECK:   gpu.launch
//       CHECK:     memref.store %{{.*}}, %[[PARTIALS]]
//       CHECK:   gpu.launch
//       CHECK:     scf.for {{.*}} to %c75
//       CHECK:   %[[STD:.*]] = memref.alloc() : memref<1xf32>
//       CHECK:   gpu.launch
//       CHECK:     math.sqrt
//       CHECK:     memref.store %{{.*}}, %[[STD]]
//       CHECK:   gpu.launch
//       CHECK:     memref.load %[[STD]]
//   CHECK-NOT:   gpu.launch
//       CHECK:   return
func.func @per_tensor_grad(%dy: tensor<300x64xf32>, %x: tensor<300x64xf32>,
                           %s: tensor<1x1xf32>, %s2: tensor<1x1xf32>)
    -> (tensor<300x64xf32>, tensor<1x1xf32>, tensor<300x64xf32>) {
  %dx, %ds = qat.fake_quant_grad %dy, %x, %s as #lsq3 with clip
      : tensor<300x64xf32>, tensor<1x1xf32> -> tensor<1x1xf32>
  %dx2 = qat.fake_quant_grad %dy, %x, %s2 as #rms2 with trust
      : tensor<300x64xf32>, tensor<1x1xf32>
  return %dx, %ds, %dx2 : tensor<300x64xf32>, tensor<1x1xf32>, tensor<300x64xf32>
}

// -----

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
#id = affine_map<(m, n) -> (m, n)>

// An elementwise linalg op between two qat ops joins their group: the
// rotation, the doubling and the masked gradient are one kernel, and only
// the gradient is written.
// CHECK-LABEL: func.func @fusion_through_elementwise_ops(
//   CHECK-NOT:   linalg.generic
//       CHECK:   memref.alloc() : memref<8x256xf32>
//   CHECK-NOT:   memref.alloc
//       CHECK:   gpu.launch
//       CHECK:     arith.addf
//   CHECK-NOT:   gpu.launch
//   CHECK-NOT:   linalg.generic
//       CHECK:   return
func.func @fusion_through_elementwise_ops(%x: tensor<8x256xf32>, %s: tensor<8x1xf32>)
    -> tensor<8x256xf32> {
  %xh = qat.hadamard %x block 128 : tensor<8x256xf32>
  %init = tensor.empty() : tensor<8x256xf32>
  %dy = linalg.generic
      {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%xh : tensor<8x256xf32>) outs(%init : tensor<8x256xf32>) {
  ^bb0(%v: f32, %unused: f32):
    %twice = arith.addf %v, %v : f32
    linalg.yield %twice : f32
  } -> tensor<8x256xf32>
  %dx = qat.fake_quant_grad %dy, %xh, %s as #q4 with trust
      : tensor<8x256xf32>, tensor<8x1xf32>
  return %dx : tensor<8x256xf32>
}

// -----

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
#id = affine_map<(m, n) -> (m, n)>

// QuEST's weight backward and the SGD update (training-step emits it): the
// update joins the kernel of the gradient, reads w once with the
// rotation, takes the learning rate from above, and the gradient never
// leaves registers; only the new weight is written.
// CHECK-LABEL: func.func @optimizer_update(
//  CHECK-SAME:     %[[W:[^:]*]]: tensor<8x256xbf16>, %{{.*}}: tensor<8x256xbf16>, %[[LR:.*]]: f32)
//       CHECK:   %[[WB:.*]] = bufferization.to_buffer %[[W]] read_only
//   CHECK-NOT:   bufferization.to_buffer %[[W]]
//       CHECK:   %[[NEW:.*]] = memref.alloc() : memref<8x256xbf16>
//   CHECK-NOT:   memref.alloc
//       CHECK:   gpu.launch
//       CHECK:     vector.load %[[WB]]
//       CHECK:     %[[LRB:.*]] = arith.truncf %[[LR]] : f32 to bf16
//       CHECK:     arith.mulf %[[LRB]], %{{.*}} : bf16
//       CHECK:     arith.subf %{{.*}} : bf16
//       CHECK:     vector.store %{{.*}}, %[[NEW]]
//   CHECK-NOT:   gpu.launch
//   CHECK-NOT:   linalg.generic
//       CHECK:   return
func.func @optimizer_update(%w: tensor<8x256xbf16>, %dy: tensor<8x256xbf16>, %lr: f32)
    -> tensor<8x256xbf16> {
  %wh = qat.hadamard %w block 128 : tensor<8x256xbf16>
  %s = qat.scale %wh as #q4 : tensor<8x256xbf16> -> tensor<8x1xf32>
  %g = qat.fake_quant_grad %dy, %wh, %s as #q4 with trust
      : tensor<8x256xbf16>, tensor<8x1xf32>
  %dw = qat.hadamard %g block 128 : tensor<8x256xbf16>
  %init = tensor.empty() : tensor<8x256xbf16>
  %new = linalg.generic
      {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w, %dw : tensor<8x256xbf16>, tensor<8x256xbf16>)
      outs(%init : tensor<8x256xbf16>) {
  ^bb0(%p: bf16, %grad: bf16, %unused: bf16):
    %lrb = arith.truncf %lr : f32 to bf16
    %step = arith.mulf %lrb, %grad : bf16
    %updated = arith.subf %p, %step : bf16
    linalg.yield %updated : bf16
  } -> tensor<8x256xbf16>
  return %new : tensor<8x256xbf16>
}

// -----

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
#id = affine_map<(m, n) -> (m, n)>
#row = affine_map<(m, n) -> (n)>
#sum = affine_map<(m, n) -> (m)>

// What stays linalg: an elementwise op with no qat producer, a broadcast
// operand, a body that reads its init (an accumulation), linalg.index, a
// reduction. Each of these leaves the gradient written by its kernel.
// CHECK-LABEL: func.func @not_row_elementwise(
//       CHECK:   gpu.launch
//   CHECK-NOT:   gpu.launch
//       CHECK:   linalg.generic
//       CHECK:   linalg.generic
//       CHECK:   linalg.generic
//       CHECK:   linalg.generic
//       CHECK:   linalg.generic
//   CHECK-NOT:   gpu.launch
//       CHECK:   return
func.func @not_row_elementwise(%x: tensor<8x256xf32>, %s: tensor<8x1xf32>,
                               %dy: tensor<8x256xf32>, %b: tensor<256xf32>,
                               %acc: tensor<8x256xf32>)
    -> (tensor<8x256xf32>, tensor<8x256xf32>, tensor<8x256xf32>,
        tensor<8x256xf32>, tensor<8x256xf32>, tensor<8xf32>) {
  %g = qat.fake_quant_grad %dy, %x, %s as #q4 with trust
      : tensor<8x256xf32>, tensor<8x1xf32>
  %init = tensor.empty() : tensor<8x256xf32>
  %alone = linalg.generic
      {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<8x256xf32>) outs(%init : tensor<8x256xf32>) {
  ^bb0(%v: f32, %unused: f32):
    %e = math.exp %v : f32
    linalg.yield %e : f32
  } -> tensor<8x256xf32>
  %bias = linalg.generic
      {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %b : tensor<8x256xf32>, tensor<256xf32>) outs(%init : tensor<8x256xf32>) {
  ^bb0(%v: f32, %c: f32, %unused: f32):
    %a = arith.addf %v, %c : f32
    linalg.yield %a : f32
  } -> tensor<8x256xf32>
  %accumulated = linalg.generic
      {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g : tensor<8x256xf32>) outs(%acc : tensor<8x256xf32>) {
  ^bb0(%v: f32, %old: f32):
    %a = arith.addf %v, %old : f32
    linalg.yield %a : f32
  } -> tensor<8x256xf32>
  %indexed = linalg.generic
      {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g : tensor<8x256xf32>) outs(%init : tensor<8x256xf32>) {
  ^bb0(%v: f32, %unused: f32):
    %i = linalg.index 1 : index
    %ii = arith.index_cast %i : index to i32
    %f = arith.sitofp %ii : i32 to f32
    %a = arith.mulf %v, %f : f32
    linalg.yield %a : f32
  } -> tensor<8x256xf32>
  %zero = arith.constant 0.0 : f32
  %rows = tensor.empty() : tensor<8xf32>
  %rowsZero = linalg.fill ins(%zero : f32) outs(%rows : tensor<8xf32>) -> tensor<8xf32>
  %sums = linalg.generic
      {indexing_maps = [#id, #sum], iterator_types = ["parallel", "reduction"]}
      ins(%g : tensor<8x256xf32>) outs(%rowsZero : tensor<8xf32>) {
  ^bb0(%v: f32, %total: f32):
    %a = arith.addf %v, %total : f32
    linalg.yield %a : f32
  } -> tensor<8xf32>
  return %g, %alone, %bias, %accumulated, %indexed, %sums
      : tensor<8x256xf32>, tensor<8x256xf32>, tensor<8x256xf32>,
        tensor<8x256xf32>, tensor<8x256xf32>, tensor<8xf32>
}

// -----

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>

// Groups follow producer-consumer edges: two consumers of one input with no
// edge between them are two kernels.
// CHECK-LABEL: func.func @siblings(
//       CHECK:   gpu.launch
//       CHECK:   gpu.launch
//   CHECK-NOT:   gpu.launch
func.func @siblings(%x: tensor<8x256xf32>, %s: tensor<8x1xf32>)
    -> (tensor<8x256xf32>, tensor<8x256xf32>) {
  %a = qat.fake_quant %x, %s as #q4 with ste : tensor<8x256xf32>, tensor<8x1xf32>
  %b = qat.hadamard %x block 64 : tensor<8x256xf32>
  return %a, %b : tensor<8x256xf32>, tensor<8x256xf32>
}

// -----

#i8 = #qat.quantizer<signed, 8 bits, absmax, per_row>

// Rows that do not fill the threads (400 = 100 chunks over 32 threads) and
// CTAs that do not fill with rows (7 rows, 4 per CTA): only the memory
// accesses are guarded, every thread reaches every shuffle.
// CHECK-LABEL: func.func @guards(
//       CHECK:   gpu.launch
//       CHECK:     %[[ROW_OK:.*]] = arith.cmpi ult, %{{.*}}, %c7
//       CHECK:     %[[CHUNK_OK:.*]] = arith.cmpi ult, %{{.*}}, %c100
//       CHECK:     %[[OK:.*]] = arith.andi %[[ROW_OK]], %[[CHUNK_OK]]
//       CHECK:     scf.if %[[OK]] -> (vector<4xf32>)
//       CHECK:       vector.load
//       CHECK:     gpu.shuffle xor
func.func @guards(%x: tensor<7x400xf32>) -> tensor<7x400xi8> {
  %s = qat.scale %x as #i8 : tensor<7x400xf32> -> tensor<7x1xf32>
  %q = qat.quantize %x, %s as #i8 : tensor<7x400xf32>, tensor<7x1xf32> -> tensor<7x400xi8>
  return %q : tensor<7x400xi8>
}

// -----

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
#lsq4 = #qat.quantizer<signed, 4 bits, learned, per_row>

// Rows of 11008 bf16 elements (1376 chunks of 8): with a Hadamard transform
// a row takes 704 threads of 2 chunks (22 whole warps, not 1024 threads of
// which a third idle), or, in the quad layout of the forward (no gradient in
// the group), 352 threads of 4 chunks, whose Hadamard exchanges its values
// within the warp (hadamard-exchange.mlir); the per-row sum combines the 11
// warp totals with a second subgroup reduction after the barrier. Without
// a Hadamard transform a row takes at most 512 threads: 480 of 3 chunks.
// CHECK-LABEL: func.func @rows_of_11008(
//       CHECK:   gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c352{{.*}}, {{.*}} = %c1{{.*}}, {{.*}})
//       CHECK:     nvvm.bar.warp.sync
//       CHECK:     gpu.barrier
//       CHECK:     memref.load
//       CHECK:     gpu.shuffle xor
//       CHECK:     math.sqrt
//       CHECK:   gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c480{{.*}}, {{.*}} = %c1{{.*}}, {{.*}})
func.func @rows_of_11008(%x: tensor<4x11008xbf16>, %w: tensor<4x11008xbf16>,
                         %dy: tensor<4x11008xbf16>, %s: tensor<4x1xf32>)
    -> (tensor<4x5504xi8>, tensor<4x1xf32>, tensor<4x11008xbf16>, tensor<4x1xf32>) {
  %xh = qat.hadamard %x block 128 : tensor<4x11008xbf16>
  %sx = qat.scale %xh as #q4 : tensor<4x11008xbf16> -> tensor<4x1xf32>
  %q = qat.quantize %xh, %sx as #q4 packed
      : tensor<4x11008xbf16>, tensor<4x1xf32> -> tensor<4x5504xi8>
  %dw, %ds = qat.fake_quant_grad %dy, %w, %s as #lsq4 with fourier
      : tensor<4x11008xbf16>, tensor<4x1xf32> -> tensor<4x1xf32>
  return %q, %sx, %dw, %ds : tensor<4x5504xi8>, tensor<4x1xf32>, tensor<4x11008xbf16>, tensor<4x1xf32>
}
