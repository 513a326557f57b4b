// RUN: qat-opt %s --convert-qat-to-linalg --split-input-file | FileCheck %s

// per_row: the input is viewed as [rows, 1, D]; the sum of squares is a
// reduction over the innermost dimension into [rows, 1], accumulating the
// f32 squares in f64, then c = alpha_4 * sqrt(sum / D) + 1e-8 in f32 and the
// centered step 2c / 15.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[GROUP:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @rms_gaussian_centered_per_row
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>)
// CHECK: %[[VIEW:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [4, 1, 64]
// CHECK: %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : f64) outs(%{{.*}} : tensor<4x1xf64>)
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[GROUP]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[VIEW]] : tensor<4x1x64xf32>) outs(%[[ZERO]] : tensor<4x1xf64>)
// CHECK: ^bb0(%[[IN:.*]]: f32, %[[ACC:.*]]: f64):
// CHECK: %[[SQ:.*]] = arith.mulf %[[IN]], %[[IN]] : f32
// CHECK: %[[WIDE:.*]] = arith.extf %[[SQ]] : f32 to f64
// CHECK: arith.addf %[[ACC]], %[[WIDE]] : f64
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[SUM]] : tensor<4x1xf64>)
// CHECK: arith.truncf %{{.*}} : f64 to f32
// CHECK: arith.constant 6.400000e+01 : f32
// CHECK: arith.divf
// CHECK: math.sqrt
// CHECK: arith.constant 2.51393056 : f32
// CHECK: arith.mulf
// CHECK: arith.constant 9.99999993E-9 : f32
// CHECK: arith.addf
// CHECK: arith.constant 2.000000e+00 : f32
// CHECK: arith.mulf
// CHECK: arith.constant 1.500000e+01 : f32
// CHECK: arith.divf
func.func @rms_gaussian_centered_per_row(%x: tensor<4x64xf32>) -> tensor<4x1xf32> {
  %s = qat.scale %x as <centered, 4 bits, rms_gaussian, per_row> : tensor<4x64xf32> -> tensor<4x1xf32>
  return %s : tensor<4x1xf32>
}

// -----

// per_tensor: one group of every element, [1, 1, N]; absmax reads bf16 into
// f32 and keeps NaN (maximumf); the signed step is c / qp. The result is
// reshaped to the scale's rank.
// CHECK-LABEL: func.func @absmax_signed_per_tensor
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0, 1, 2]] : tensor<2x3x8xbf16> into tensor<48xbf16>
// CHECK: tensor.expand_shape %{{.*}} output_shape [1, 1, 48]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: math.absf
// CHECK: arith.maximumf
// CHECK: linalg.generic
// CHECK: arith.constant 7.000000e+00 : f32
// CHECK: arith.divf
// CHECK: tensor.expand_shape %{{.*}} : tensor<1x1xf32> into tensor<1x1x1xf32>
func.func @absmax_signed_per_tensor(%x: tensor<2x3x8xbf16>) -> tensor<1x1x1xf32> {
  %s = qat.scale %x as <signed, 4 bits, absmax, per_tensor> : tensor<2x3x8xbf16> -> tensor<1x1x1xf32>
  return %s : tensor<1x1x1xf32>
}

// -----

// per_group<16>: the row splits into [D/16, 16] and the reduction result is
// the scale itself, written in the scale's element type. One signed bit
// divides by qp = 1.
// CHECK-LABEL: func.func @rms_gaussian_per_group
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [4, 4, 16] : tensor<4x64xf32> into tensor<4x4x16xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.*}} : tensor<4x4x16xf32>) outs(%{{.*}} : tensor<4x4xf64>)
// CHECK: linalg.generic
// CHECK: arith.constant 1.600000e+01 : f32
// CHECK: arith.constant 0.797884583 : f32
// CHECK: arith.constant 1.000000e+00 : f32
// CHECK: arith.divf
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: } -> tensor<4x4xf16>
// CHECK-NOT: tensor.expand_shape
// CHECK: return
func.func @rms_gaussian_per_group(%x: tensor<4x64xf32>) -> tensor<4x4xf16> {
  %s = qat.scale %x as <signed, 1 bits, rms_gaussian, per_group<16>> : tensor<4x64xf32> -> tensor<4x4xf16>
  return %s : tensor<4x4xf16>
}
