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

// LSQ's g = 1 / sqrt(N * Qp) from the run-time element count, in f64,
// rounded once to f32.
// CHECK-LABEL: func.func @lsq_step_grad(
//       CHECK:   %[[R:.*]] = tensor.dim %{{.*}} : tensor<?x{{.*}}>
//       CHECK:   arith.muli
//       CHECK:   arith.uitofp %{{.*}} : i64 to f64
//       CHECK:   arith.mulf %{{.*}}, %cst{{.*}} : f64
//       CHECK:   math.sqrt %{{.*}} : f64
//       CHECK:   arith.truncf %{{.*}} : f64 to f32
func.func @lsq_step_grad(%dy: tensor<?x32xf32>, %w: tensor<?x32xf32>, %s: tensor<?x1xf32>) -> (tensor<?x32xf32>, tensor<?x1xf32>) {
  %dw, %ds = qat.fake_quant_grad %dy, %w, %s as <signed, 4 bits, learned, per_row> with fourier : tensor<?x32xf32>, tensor<?x1xf32> -> tensor<?x1xf32>
  return %dw, %ds : tensor<?x32xf32>, tensor<?x1xf32>
}

// -----

func.func @per_tensor_scale(%x: tensor<?x64xf32>) -> tensor<1x1xf32> {
  // expected-error @+1 {{'qat.scale' op computes a per_tensor statistic of 'tensor<?x64xf32>', whose element count is not known until run time; dynamic rows take per_row or per_group quantizers}}
  %s = qat.scale %x as <signed, 8 bits, absmax, per_tensor> : tensor<?x64xf32> -> tensor<1x1xf32>
  return %s : tensor<1x1xf32>
}

// -----

// A given per_tensor step needs no count: any number of rows.
// CHECK-LABEL: func.func @per_tensor_given_step(
//       CHECK:   linalg.generic
func.func @per_tensor_given_step(%x: tensor<?x64xf32>, %s: tensor<1x1xf32>) -> tensor<?x64xf32> {
  %y = qat.fake_quant %x, %s as <signed, 8 bits, learned, per_tensor> with ste : tensor<?x64xf32>, tensor<1x1xf32>
  return %y : tensor<?x64xf32>
}
