// RUN: qat-opt %s --split-input-file --qat-differentiate | FileCheck %s

// qat-differentiate keeps each loss function and adds @<name>_grad, whose
// arguments are the loss's (without qat.param / qat.step) and whose results
// are the loss and the gradients of the differentiated arguments.
// A sum reduction passes its adjoint on; a max reduction gives it to the
// elements equal to the result (cmpf oeq with the forward result).
// CHECK-LABEL: func.func @max_then_sum_grad
// CHECK-SAME:    (%[[W:.*]]: tensor<3x5xf32>) -> (tensor<f32>, tensor<3x5xf32>)
// CHECK:         %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[W]] :
// CHECK:         %[[LOSS:.*]] = linalg.reduce ins(%[[MAX]]
// CHECK:         %[[DMAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel"]}
// CHECK:         %[[DW:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[W]], %[[MAX]], %[[DMAX]] : tensor<3x5xf32>, tensor<3xf32>, tensor<3xf32>)
// CHECK-NEXT:    ^bb0(%[[IN:.*]]: f32, %[[RES:.*]]: f32, %[[ADJ:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      %[[EQ:.*]] = arith.cmpf oeq, %[[IN]], %[[RES]] : f32
// CHECK-NEXT:      %[[SEL:.*]] = arith.select %[[EQ]], %[[ADJ]], %{{.*}} : f32
// CHECK-NEXT:      linalg.yield %[[SEL]] : f32
// CHECK:         return %[[LOSS]], %[[DW]] : tensor<f32>, tensor<3x5xf32>

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#all = affine_map<(d0, d1) -> ()>
func.func @max_then_sum(%w: tensor<3x5xf32> {qat.param}) -> tensor<f32> {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e : tensor<3xf32>) -> tensor<3xf32>
  %m = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%w : tensor<3x5xf32>) outs(%m0 : tensor<3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %acc, %a : f32
    linalg.yield %r : f32
  } -> tensor<3xf32>
  %s = tensor.empty() : tensor<f32>
  %z = linalg.fill ins(%zero : f32) outs(%s : tensor<f32>) -> tensor<f32>
  %l = linalg.reduce ins(%m : tensor<3xf32>) outs(%z : tensor<f32>) dimensions = [0]
    (%in: f32, %acc: f32) {
      %r = arith.addf %in, %acc : f32
      linalg.yield %r : f32
    }
  return %l : tensor<f32>
}

// -----

// The weight's gradient of a matmul that reads it transposed (N x K) is a
// linalg.matmul again, dW = dy^T x, written in w's layout: dy read
// transposed, as the hand-written examples do.
// CHECK-DAG:   #[[KM:.*]] = affine_map<(d0, d1, d2) -> (d2, d0)>
// CHECK-DAG:   #[[KN:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG:   #[[MN:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @matmul_transposed_grad
// CHECK-SAME:    (%[[X:.*]]: tensor<4x6xf32>, %[[W:.*]]: tensor<3x6xf32>) -> (f32, tensor<3x6xf32>)
// CHECK:         %[[DY:.*]] = tensor.insert %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}] : tensor<4x3xf32>
// CHECK:         %[[ZERO:.*]] = linalg.fill {{.*}} -> tensor<3x6xf32>
// CHECK:         %[[DW:.*]] = linalg.matmul indexing_maps = [#[[KM]], #[[KN]], #[[MN]]] ins(%[[DY]], %[[X]] : tensor<4x3xf32>, tensor<4x6xf32>) outs(%[[ZERO]] : tensor<3x6xf32>) -> tensor<3x6xf32>
// CHECK:         return %{{.*}}, %[[DW]] : f32, tensor<3x6xf32>

#xk = affine_map<(m, n, k) -> (m, k)>
#wk = affine_map<(m, n, k) -> (n, k)>
#mn = affine_map<(m, n, k) -> (m, n)>
func.func @matmul_transposed(%x: tensor<4x6xf32>, %w: tensor<3x6xf32> {qat.param}) -> f32 {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x3xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x3xf32>) -> tensor<4x3xf32>
  %y = linalg.matmul indexing_maps = [#xk, #wk, #mn]
      ins(%x, %w : tensor<4x6xf32>, tensor<3x6xf32>) outs(%z : tensor<4x3xf32>) -> tensor<4x3xf32>
  %c1 = arith.constant 1 : index
  %l = tensor.extract %y[%c1, %c1] : tensor<4x3xf32>
  return %l : f32
}

// -----

// Tensor ops move adjoints back: extract -> insert into zeros, expand <->
// collapse, pad -> slice at the low padding, concat -> slices, slice ->
// insert_slice into zeros.
// CHECK-LABEL: func.func @tensor_ops_grad
// CHECK-SAME:    -> (f32, tensor<4x6xf32>, tensor<2x6xf32>)
// CHECK:         %[[D0:.*]] = tensor.insert %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}] : tensor<3x9xf32>
// CHECK:         %[[D1:.*]] = tensor.collapse_shape %[[D0]] {{\[\[}}0, 1]] : tensor<3x9xf32> into tensor<27xf32>
// CHECK:         %[[D2:.*]] = tensor.extract_slice %[[D1]][1] [24] [1] : tensor<27xf32> to tensor<24xf32>
// CHECK:         %[[D3:.*]] = tensor.expand_shape %[[D2]] {{\[\[}}0, 1]] output_shape [4, 6] : tensor<24xf32> into tensor<4x6xf32>
// CHECK:         %[[DS:.*]] = tensor.extract_slice %[[D3]][0, 0] [2, 6] [1, 1] : tensor<4x6xf32> to tensor<2x6xf32>
// CHECK:         %[[DV:.*]] = tensor.extract_slice %[[D3]][2, 0] [2, 6] [1, 1] : tensor<4x6xf32> to tensor<2x6xf32>
// CHECK:         %[[DW:.*]] = tensor.insert_slice %[[DS]] into %{{.*}}[1, 0] [2, 6] [1, 1] : tensor<2x6xf32> into tensor<4x6xf32>
// CHECK:         return %{{.*}}, %[[DW]], %[[DV]] : f32, tensor<4x6xf32>, tensor<2x6xf32>

func.func @tensor_ops(%w: tensor<4x6xf32> {qat.param}, %v: tensor<2x6xf32> {qat.param}) -> f32 {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %s = tensor.extract_slice %w[1, 0] [2, 6] [1, 1] : tensor<4x6xf32> to tensor<2x6xf32>
  %c = tensor.concat dim(0) %s, %v : (tensor<2x6xf32>, tensor<2x6xf32>) -> tensor<4x6xf32>
  %f = tensor.collapse_shape %c [[0, 1]] : tensor<4x6xf32> into tensor<24xf32>
  %p = tensor.pad %f low[1] high[2] {
  ^bb0(%i: index):
    tensor.yield %zero : f32
  } : tensor<24xf32> to tensor<27xf32>
  %x = tensor.expand_shape %p [[0, 1]] output_shape [3, 9] : tensor<27xf32> into tensor<3x9xf32>
  %l = tensor.extract %x[%c0, %c0] : tensor<3x9xf32>
  return %l : f32
}

// -----

// concat along dimension 1 of unequal widths with an operand used twice (its
// two slices of the adjoint add up); a 2-d pad with a nonzero constant whose
// adjoint is the window at the low padding.
// CHECK-LABEL: func.func @concat_pad_2d_grad
// CHECK-SAME:    -> (f32, tensor<3x2xf32>, tensor<3x5xf32>)
// CHECK:         %[[DP:.*]] = tensor.insert %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}] : tensor<4x11xf32>
// CHECK:         %[[DC:.*]] = tensor.extract_slice %[[DP]][1, 0] [3, 9] [1, 1] : tensor<4x11xf32> to tensor<3x9xf32>
// CHECK:         %[[DA0:.*]] = tensor.extract_slice %[[DC]][0, 0] [3, 2] [1, 1] : tensor<3x9xf32> to tensor<3x2xf32>
// CHECK:         %[[DW:.*]] = tensor.extract_slice %[[DC]][0, 2] [3, 5] [1, 1] : tensor<3x9xf32> to tensor<3x5xf32>
// CHECK:         %[[DA1:.*]] = tensor.extract_slice %[[DC]][0, 7] [3, 2] [1, 1] : tensor<3x9xf32> to tensor<3x2xf32>
// CHECK:         %[[DA:.*]] = linalg.add ins(%[[DA0]], %[[DA1]] : tensor<3x2xf32>, tensor<3x2xf32>)
// CHECK:         return %{{.*}}, %[[DA]], %[[DW]] : f32, tensor<3x2xf32>, tensor<3x5xf32>

func.func @concat_pad_2d(%a: tensor<3x2xf32> {qat.param}, %w: tensor<3x5xf32> {qat.param}) -> f32 {
  %c1 = arith.constant 1 : index
  %half = arith.constant 0.5 : f32
  %c = tensor.concat dim(1) %a, %w, %a : (tensor<3x2xf32>, tensor<3x5xf32>, tensor<3x2xf32>) -> tensor<3x9xf32>
  %p = tensor.pad %c low[1, 0] high[0, 2] {
  ^bb0(%i: index, %j: index):
    tensor.yield %half : f32
  } : tensor<3x9xf32> to tensor<4x11xf32>
  %l = tensor.extract %p[%c1, %c1] : tensor<4x11xf32>
  return %l : f32
}

// -----

// collapse_shape with several groups: the adjoint is expanded back with the
// same reassociation and the source's shape.
// CHECK-LABEL: func.func @collapse_groups_grad
// CHECK-SAME:    -> (f32, tensor<2x3x4x5xf32>)
// CHECK:         %[[D0:.*]] = tensor.insert %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}] : tensor<6x20xf32>
// CHECK:         %[[D1:.*]] = tensor.expand_shape %[[D0]] {{\[\[}}0, 1], [2, 3]] output_shape [2, 3, 4, 5] : tensor<6x20xf32> into tensor<2x3x4x5xf32>
// CHECK:         return %{{.*}}, %[[D1]] : f32, tensor<2x3x4x5xf32>

func.func @collapse_groups(%w: tensor<2x3x4x5xf32> {qat.param}) -> f32 {
  %c1 = arith.constant 1 : index
  %f = tensor.collapse_shape %w [[0, 1], [2, 3]] : tensor<2x3x4x5xf32> into tensor<6x20xf32>
  %l = tensor.extract %f[%c1, %c1] : tensor<6x20xf32>
  return %l : f32
}

// -----

// fake_quant with a learned step: its estimator's fake_quant_grad gives dx
// and the LSQ ds; the Hadamard rotation is its own adjoint.
// CHECK-LABEL: func.func @fake_quant_learned_grad
// CHECK-SAME:    (%{{.*}}: tensor<4x8xf32>, %[[W:.*]]: tensor<3x8xf32>, %[[S:.*]]: tensor<3x1xf32>) -> (f32, tensor<3x8xf32>, tensor<3x1xf32>)
// CHECK:         %[[H:.*]] = qat.hadamard %[[W]] block 8
// CHECK:         %[[DX:.*]], %[[DS:.*]] = qat.fake_quant_grad %{{.*}}, %[[H]], %[[S]] as <signed, 2 bits, learned, per_row> with fourier<[0.21]> : tensor<3x8xf32>, tensor<3x1xf32> -> tensor<3x1xf32>
// CHECK:         %[[DW:.*]] = qat.hadamard %[[DX]] block 8 : tensor<3x8xf32>
// CHECK:         return %{{.*}}, %[[DW]], %[[DS]] : f32, tensor<3x8xf32>, tensor<3x1xf32>

#w2 = #qat.quantizer<signed, 2 bits, learned, per_row>
func.func @fake_quant_learned(%x: tensor<4x8xf32>, %w: tensor<3x8xf32> {qat.param}, %s: tensor<3x1xf32> {qat.step}) -> f32 {
  %h = qat.hadamard %w block 8 : tensor<3x8xf32>
  %q = qat.fake_quant %h, %s as #w2 with fourier<[0.21]> : tensor<3x8xf32>, tensor<3x1xf32>
  %c0 = arith.constant 0 : index
  %l = tensor.extract %q[%c0, %c0] : tensor<3x8xf32>
  return %l : f32
}

// -----

// A random-sign rotation x diag(s) H is orthogonal but not symmetric: its
// adjoint is the inverse, H diag(s), under the same seed.
// CHECK-LABEL: func.func @random_sign_hadamard_grad
// CHECK-SAME:    (%{{.*}}: tensor<3x8xf32>, %[[SEED:.*]]: i64) -> (f32, tensor<3x8xf32>)
// CHECK:         qat.hadamard %{{.*}} block 8 signs %[[SEED]] inverse : tensor<3x8xf32>
func.func @random_sign_hadamard(%w: tensor<3x8xf32> {qat.param}, %seed: i64) -> f32 {
  %h = qat.hadamard %w block 8 signs %seed : tensor<3x8xf32>
  %c0 = arith.constant 0 : index
  %l = tensor.extract %h[%c0, %c0] : tensor<3x8xf32>
  return %l : f32
}

// -----

// QuEST: dB = dy^T deq(A) as a matmul reading dy transposed, then the
// estimator that the weight's qat.quantize names (clip); steps from
// qat.scale get no gradient.
// CHECK-DAG:   #[[KM:.*]] = affine_map<(d0, d1, d2) -> (d2, d0)>
// CHECK-DAG:   #[[KN:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-LABEL: func.func @quest_grad
// CHECK-SAME:    (%[[X:.*]]: tensor<4x8xf32>, %[[W:.*]]: tensor<3x8xf32>) -> (f32, tensor<3x8xf32>)
// CHECK:         %[[SX:.*]] = qat.scale %[[X]]
// CHECK:         %[[SW:.*]] = qat.scale %[[W]]
// CHECK:         %[[QX:.*]] = qat.quantize %[[X]], %[[SX]]
// CHECK:         %[[DY:.*]] = tensor.insert
// CHECK:         %[[A:.*]] = qat.dequantize %[[QX]], %[[SX]] as <centered, 4 bits, rms_gaussian, per_row> packed : tensor<4x4xi8>, tensor<4x1xf32> -> tensor<4x8xf32>
// CHECK:         %[[DQW:.*]] = linalg.matmul indexing_maps = [#[[KM]], #[[KN]], #{{.*}}] ins(%[[DY]], %[[A]] : tensor<4x3xf32>, tensor<4x8xf32>) outs(%{{.*}} : tensor<3x8xf32>)
// CHECK:         %[[DW:.*]] = qat.fake_quant_grad %[[DQW]], %[[W]], %[[SW]] as <centered, 4 bits, rms_gaussian, per_row> with clip : tensor<3x8xf32>, tensor<3x1xf32>
// CHECK-NOT:     qat.fake_quant_grad
// CHECK:         return %{{.*}}, %[[DW]] : f32, tensor<3x8xf32>

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
func.func @quest(%x: tensor<4x8xf32>, %w: tensor<3x8xf32> {qat.param}) -> f32 {
  %sx = qat.scale %x as #q4 : tensor<4x8xf32> -> tensor<4x1xf32>
  %sw = qat.scale %w as #q4 : tensor<3x8xf32> -> tensor<3x1xf32>
  %qx = qat.quantize %x, %sx as #q4 packed {qat.estimator = #qat.trust}
      : tensor<4x8xf32>, tensor<4x1xf32> -> tensor<4x4xi8>
  %qw = qat.quantize %w, %sw as #q4 packed {qat.estimator = #qat.clip}
      : tensor<3x8xf32>, tensor<3x1xf32> -> tensor<3x4xi8>
  %y = qat.matmul %qx, %qw, %sx, %sw as #q4, #q4 packed
      : tensor<4x4xi8>, tensor<3x4xi8>, tensor<4x1xf32>, tensor<3x1xf32> -> tensor<4x3xf32>
  %c0 = arith.constant 0 : index
  %l = tensor.extract %y[%c0, %c0] : tensor<4x3xf32>
  return %l : f32
}

// -----

// A parameter the loss does not depend on has a zero gradient.
// CHECK-LABEL: func.func @unused_grad
// CHECK-SAME:    (%[[X:.*]]: f32, %{{.*}}: tensor<2xf32>) -> (f32, tensor<2xf32>)
// CHECK:         %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<2xf32>) -> tensor<2xf32>
// CHECK:         return %[[X]], %[[Z]] : f32, tensor<2xf32>

func.func @unused(%x: f32, %w: tensor<2xf32> {qat.param}) -> f32 {
  return %x : f32
}

