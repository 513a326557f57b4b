// RUN: qat-opt %s --split-input-file --qat-recompute-rotations | FileCheck %s

// QuEST's backward reads the rotated forward input for its trust mask: it
// gets its own rotation of the argument, the forward keeps its own.
// CHECK-LABEL: func.func @trust(
//  CHECK-SAME:     %[[X:[^:]*]]: tensor<64x256xf32>
//       CHECK:   %[[XH:.*]] = qat.hadamard %[[X]] block 128
//       CHECK:   %[[S:.*]] = qat.scale %[[XH]]
//       CHECK:   %[[AGAIN:.*]] = qat.hadamard %[[X]] block 128
//  CHECK-NEXT:   qat.fake_quant_grad %{{.*}}, %[[AGAIN]], %[[S]]
#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
func.func @trust(%x: tensor<64x256xf32>, %dxq: tensor<64x256xf32>)
    -> (tensor<64x1xf32>, tensor<64x256xf32>) {
  %xh = qat.hadamard %x block 128 : tensor<64x256xf32>
  %s = qat.scale %xh as #q4 : tensor<64x256xf32> -> tensor<64x1xf32>
  %dxh = qat.fake_quant_grad %dxq, %xh, %s as #q4 with trust
      : tensor<64x256xf32>, tensor<64x1xf32>
  return %s, %dxh : tensor<64x1xf32>, tensor<64x256xf32>
}

// -----

// Left as is: the rotated tensor comes from another qat op (a fused row
// kernel would not store it), and a rotation read as the incoming gradient
// rather than as the input.
// CHECK-LABEL: func.func @fused_producer(
//   CHECK-COUNT-2: qat.hadamard
//   CHECK-NOT:     qat.hadamard
// CHECK-LABEL: func.func @gradient_operand(
//   CHECK-COUNT-1: qat.hadamard
//   CHECK-NOT:     qat.hadamard
#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
func.func @fused_producer(%x: tensor<64x256xf32>, %dxq: tensor<64x256xf32>)
    -> (tensor<64x1xf32>, tensor<64x256xf32>) {
  %x1 = qat.hadamard %x block 128 : tensor<64x256xf32>
  %xh = qat.hadamard %x1 block 64 : tensor<64x256xf32>
  %s = qat.scale %xh as #q4 : tensor<64x256xf32> -> tensor<64x1xf32>
  %dxh = qat.fake_quant_grad %dxq, %xh, %s as #q4 with trust
      : tensor<64x256xf32>, tensor<64x1xf32>
  return %s, %dxh : tensor<64x1xf32>, tensor<64x256xf32>
}

func.func @gradient_operand(%x: tensor<64x256xf32>, %g: tensor<64x256xf32>,
                            %s: tensor<64x1xf32>) -> tensor<64x256xf32> {
  %gh = qat.hadamard %g block 128 : tensor<64x256xf32>
  %dx = qat.fake_quant_grad %gh, %x, %s as #q4 with trust
      : tensor<64x256xf32>, tensor<64x1xf32>
  return %dx : tensor<64x256xf32>
}
