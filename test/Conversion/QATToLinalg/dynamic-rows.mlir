// RUN: qat-opt %s --convert-qat-to-linalg --split-input-file --verify-diagnostics | FileCheck %s

// Dynamic rows on the linalg route: the group views keep the rows dynamic,
// and the init tensors take them from the operands.

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>

// CHECK-LABEL: func.func @scale_quantize(
//  CHECK-SAME:     %[[X:.*]]: tensor<?x256xf32>)
//       CHECK:   %[[V:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 1, 256] : tensor<?x256xf32> into tensor<?x1x256xf32>
//       CHECK:   %[[R:.*]] = tensor.dim %[[V]], %{{.*}} : tensor<?x1x256xf32>
//       CHECK:   tensor.empty(%[[R]]) : tensor<?x1xf64>
//       CHECK:   linalg.generic {{.*}} ins(%[[V]] : tensor<?x1x256xf32>) outs(%{{.*}} : tensor<?x1xf64>)
//       CHECK:   tensor.empty(%{{.*}}) : tensor<?x128xi8>
//       CHECK:   return %{{.*}}, %{{.*}} : tensor<?x128xi8>, tensor<?x1xf32>
func.func @scale_quantize(%x: tensor<?x256xf32>) -> (tensor<?x128xi8>, tensor<?x1xf32>) {
  %s = qat.scale %x as #q4 : tensor<?x256xf32> -> tensor<?x1xf32>
  %q = qat.quantize %x, %s as #q4 packed : tensor<?x256xf32>, tensor<?x1xf32> -> tensor<?x128xi8>
  return %q, %s : tensor<?x128xi8>, tensor<?x1xf32>
}

// -----

// Several dynamic dimensions: the op is computed on the [R, D] view and its
// result expanded back with the input's sizes.
// CHECK-LABEL: func.func @fake_quant_3d(
//  CHECK-SAME:     %[[X:.*]]: tensor<?x?x64xbf16>
//       CHECK:   tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<?x?x64xbf16> into tensor<?x64xbf16>
//       CHECK:   linalg.generic
//   CHECK-DAG:   %[[B:.*]] = tensor.dim %[[X]], %c0
//   CHECK-DAG:   %[[T:.*]] = tensor.dim %[[X]], %c1
//       CHECK:   tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] output_shape [%[[B]], %[[T]], 64] : tensor<?x64xbf16> into tensor<?x?x64xbf16>
func.func @fake_quant_3d(%x: tensor<?x?x64xbf16>, %s: tensor<?x?x1xf32>) -> tensor<?x?x64xbf16> {
  %y = qat.fake_quant %x, %s as <signed, 4 bits, learned, per_row> with fourier : tensor<?x?x64xbf16>, tensor<?x?x1xf32>
  return %y : tensor<?x?x64xbf16>
}

// -----

// LSQ's g = 1 / sqrt(N * Qp) from the run-time element count (at least 1),
// in f64, rounded once to f32.
// CHECK-LABEL: func.func @lsq_step_grad(
//       CHECK:   %[[R:.*]] = tensor.dim %{{.*}} : tensor<?x{{.*}}>
//       CHECK:   arith.muli
//       CHECK:   arith.maxui
//       CHECK:   arith.uitofp %{{.*}} : i64 to f64
//       CHECK:   arith.mulf %{{.*}}, %cst{{.*}} : f64
//       CHECK:   math.sqrt %{{.*}} : f64
//       CHECK:   arith.truncf %{{.*}} : f64 to f32
func.func @lsq_step_grad(%dy: tensor<?x32xf32>, %w: tensor<?x32xf32>, %s: tensor<?x1xf32>) -> (tensor<?x32xf32>, tensor<?x1xf32>) {
  %dw, %ds = qat.fake_quant_grad %dy, %w, %s as <signed, 4 bits, learned, per_row> with fourier : tensor<?x32xf32>, tensor<?x1xf32> -> tensor<?x1xf32>
  return %dw, %ds : tensor<?x32xf32>, tensor<?x1xf32>
}

// -----

// A per_tensor statistic over dynamic rows: one group of rows * 64
// elements, reduced over the dynamic group; the mean divides by
// max(rows * 64, 1) converted to f32 at run time (no rows: an all-zero
// group's statistic, not 0/0).
// CHECK-LABEL: func.func @per_tensor_scale(
//  CHECK-SAME:     %[[X:.*]]: tensor<?x64xf32>)
//       CHECK:   %[[G:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0, 1, 2]] output_shape [1, 1, %{{.*}}] : tensor<?xf32> into tensor<1x1x?xf32>
//       CHECK:   %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[G]] : tensor<1x1x?xf32>) outs(%{{.*}} : tensor<1x1xf64>)
//       CHECK:   %[[R:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x64xf32>
//       CHECK:   %[[N:.*]] = arith.muli %{{.*}}, %[[R]] : index
//       CHECK:   %[[NK:.*]] = arith.muli %[[N]], %{{.*}} : index
//       CHECK:   %[[ONE:.*]] = arith.maxui %[[NK]], %{{.*}} : index
//       CHECK:   %[[I:.*]] = arith.index_castui %[[ONE]] : index to i64
//       CHECK:   %[[F:.*]] = arith.uitofp %[[I]] : i64 to f32
//       CHECK:   linalg.generic {{.*}} ins(%[[SUM]] : tensor<1x1xf64>)
//       CHECK:     arith.truncf %{{.*}} : f64 to f32
//       CHECK:     arith.divf %{{.*}}, %[[F]] : f32
//       CHECK:     math.sqrt
func.func @per_tensor_scale(%x: tensor<?x64xf32>) -> tensor<1x1xf32> {
  %s = qat.scale %x as <centered, 4 bits, rms_gaussian, per_tensor> : tensor<?x64xf32> -> tensor<1x1xf32>
  return %s : tensor<1x1xf32>
}

// -----

// absmax needs no count: the maximum over the dynamic group.
// CHECK-LABEL: func.func @per_tensor_absmax(
//       CHECK:   linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.*}} : tensor<1x1x?xf32>) outs(%{{.*}} : tensor<1x1xf32>)
//       CHECK:     arith.maximumf
func.func @per_tensor_absmax(%x: tensor<?x64xf32>) -> tensor<1x1xf32> {
  %s = qat.scale %x as <signed, 8 bits, absmax, per_tensor> : tensor<?x64xf32> -> tensor<1x1xf32>
  return %s : tensor<1x1xf32>
}

// -----

// The trust deviation without `std` and qat.rms: sqrt(sum / count) with the
// run-time count, over several dynamic dimensions flattened first.
// CHECK-LABEL: func.func @per_tensor_trust(
//       CHECK:   %[[F:.*]] = arith.uitofp %{{.*}} : i64 to f32
//       CHECK:   linalg.generic
//       CHECK:     arith.divf %{{.*}}, %[[F]] : f32
//       CHECK:     math.sqrt
//       CHECK:   linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1xf32>, tensor<1x1xf32>)
//       CHECK:   %[[G:.*]] = arith.uitofp %{{.*}} : i64 to f32
//       CHECK:   linalg.generic
//       CHECK:     arith.divf %{{.*}}, %[[G]] : f32
//       CHECK:   tensor.expand_shape
func.func @per_tensor_trust(%dy: tensor<?x64xf32>, %x: tensor<?x64xf32>, %s: tensor<1x1xf32>, %z: tensor<?x?x64xbf16>) -> (tensor<?x64xf32>, tensor<1x1x1xf32>) {
  %dx = qat.fake_quant_grad %dy, %x, %s as <centered, 4 bits, rms_gaussian, per_tensor> with trust : tensor<?x64xf32>, tensor<1x1xf32>
  %r = qat.rms %z as <centered, 4 bits, rms_gaussian, per_tensor> : tensor<?x?x64xbf16> -> tensor<1x1x1xf32>
  return %dx, %r : tensor<?x64xf32>, tensor<1x1x1xf32>
}

// -----

// A given per_tensor step needs no count: any number of rows.
// CHECK-LABEL: func.func @per_tensor_given_step(
//       CHECK:   linalg.generic
func.func @per_tensor_given_step(%x: tensor<?x64xf32>, %s: tensor<1x1xf32>) -> tensor<?x64xf32> {
  %y = qat.fake_quant %x, %s as <signed, 8 bits, learned, per_tensor> with ste : tensor<?x64xf32>, tensor<1x1xf32>
  return %y : tensor<?x64xf32>
}
