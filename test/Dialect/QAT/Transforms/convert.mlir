// RUN: qat-opt %s --split-input-file --qat-convert | FileCheck %s

// QuEST (what qat-quantize emits for a linear layer, W stored N x K): the
// weight's rotation, scale and quantization move to @linear_pack; inference
// takes the packed codes and steps, quantizes activations on the fly and
// keeps qat.matmul. The training function is unchanged.

// CHECK-LABEL: func.func @quest
// CHECK-SAME: (%{{.*}}: tensor<8x256xf32>, %{{.*}}: tensor<64x256xf32> {qat.param}) -> tensor<8x64xf32>
// CHECK-COUNT-2: qat.quantize

// CHECK-LABEL: func.func @quest_inference
// CHECK-SAME: (%[[X:.*]]: tensor<8x256xf32>, %[[C:.*]]: tensor<64x128xi8> {qat.codes}, %[[S:.*]]: tensor<64x1xf32>) -> tensor<8x64xf32>
// CHECK-NEXT: %[[XH:.*]] = qat.hadamard %[[X]] block 128 : tensor<8x256xf32>
// CHECK-NEXT: %[[SX:.*]] = qat.scale %[[XH]]
// CHECK-NEXT: %[[QX:.*]] = qat.quantize %[[XH]], %[[SX]]
// CHECK-NEXT: %[[Y:.*]] = qat.matmul %[[QX]], %[[C]], %[[SX]], %[[S]] as <centered, 4 bits, rms_gaussian, per_row>, <centered, 4 bits, rms_gaussian, per_row> packed
// CHECK-NEXT: return %[[Y]]

// CHECK-LABEL: func.func @quest_pack
// CHECK-SAME: (%[[W:.*]]: tensor<64x256xf32> {qat.param}) -> (tensor<64x128xi8>, tensor<64x1xf32>)
// CHECK-NEXT: %[[WH:.*]] = qat.hadamard %[[W]] block 128 : tensor<64x256xf32>
// CHECK-NEXT: %[[SW:.*]] = qat.scale %[[WH]] as <centered, 4 bits, rms_gaussian, per_row>
// CHECK-NEXT: %[[QW:.*]] = qat.quantize %[[WH]], %[[SW]] as <centered, 4 bits, rms_gaussian, per_row> packed : tensor<64x256xf32>, tensor<64x1xf32> -> tensor<64x128xi8>
// CHECK-NEXT: return %[[QW]], %[[SW]]
#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
func.func @quest(%x: tensor<8x256xf32>, %w: tensor<64x256xf32> {qat.param}) -> tensor<8x64xf32> {
  %xh = qat.hadamard %x block 128 : tensor<8x256xf32>
  %sx = qat.scale %xh as #q4 : tensor<8x256xf32> -> tensor<8x1xf32>
  %qx = qat.quantize %xh, %sx as #q4 packed {qat.estimator = #qat.trust}
      : tensor<8x256xf32>, tensor<8x1xf32> -> tensor<8x128xi8>
  %wh = qat.hadamard %w block 128 : tensor<64x256xf32>
  %sw = qat.scale %wh as #q4 : tensor<64x256xf32> -> tensor<64x1xf32>
  %qw = qat.quantize %wh, %sw as #q4 packed {qat.estimator = #qat.trust}
      : tensor<64x256xf32>, tensor<64x1xf32> -> tensor<64x128xi8>
  %y = qat.matmul %qx, %qw, %sx, %sw as #q4, #q4 packed
      : tensor<8x128xi8>, tensor<64x128xi8>, tensor<8x1xf32>, tensor<64x1xf32> -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// StableQAT W2 (weight stored K x N, a learned step): the pack function takes
// the parameters then the steps; inference dequantizes the codes into the
// float contraction. The bias parameter is not quantized and stays an
// argument; the step argument is gone.

// CHECK-LABEL: func.func @stableqat_inference
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[B:.*]]: tensor<4x8xf32> {qat.param}, %[[C:.*]]: tensor<8x32xi8> {qat.codes}, %[[S:.*]]: tensor<8x1xf32>) -> tensor<4x8xf32>
// CHECK-NEXT: %[[W:.*]] = qat.dequantize %[[C]], %[[S]] as <signed, 2 bits, learned, per_row> packed : tensor<8x32xi8>, tensor<8x1xf32> -> tensor<8x64xf32>
// CHECK: %[[WT:.*]] = linalg.transpose ins(%[[W]] : tensor<8x64xf32>)
// CHECK: linalg.matmul ins(%[[X]], %[[WT]] : tensor<4x64xf32>, tensor<64x8xf32>) outs(%[[B]] : tensor<4x8xf32>)

// CHECK-LABEL: func.func @stableqat_pack
// CHECK-SAME: (%[[W:.*]]: tensor<64x8xf32> {qat.param}, %{{.*}}: tensor<4x8xf32> {qat.param}, %[[S:.*]]: tensor<8x1xf32> {qat.step}) -> (tensor<8x32xi8>, tensor<8x1xf32>)
// CHECK: %[[WT:.*]] = linalg.transpose ins(%[[W]]
// CHECK-NEXT: %[[C:.*]] = qat.quantize %[[WT]], %[[S]] as <signed, 2 bits, learned, per_row> packed : tensor<8x64xf32>, tensor<8x1xf32> -> tensor<8x32xi8>
// CHECK-NEXT: return %[[C]], %[[S]]
func.func @stableqat(%x: tensor<4x64xf32>, %w: tensor<64x8xf32> {qat.param},
                     %b: tensor<4x8xf32> {qat.param}, %s: tensor<8x1xf32> {qat.step}) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<8x64xf32>
  %wt = linalg.transpose ins(%w : tensor<64x8xf32>) outs(%e : tensor<8x64xf32>) permutation = [1, 0]
  %fq = qat.fake_quant %wt, %s as <signed, 2 bits, learned, per_row> with fourier
      : tensor<8x64xf32>, tensor<8x1xf32>
  %e2 = tensor.empty() : tensor<64x8xf32>
  %back = linalg.transpose ins(%fq : tensor<8x64xf32>) outs(%e2 : tensor<64x8xf32>) permutation = [1, 0]
  %y = linalg.matmul ins(%x, %back : tensor<4x64xf32>, tensor<64x8xf32>)
      outs(%b : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// int-N W8 with activations: 8-bit codes are not packed; the activations'
// fake quantization stays as in training.

// CHECK-LABEL: func.func @intn_inference
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[C:.*]]: tensor<8x64xi8> {qat.codes}, %[[S:.*]]: tensor<8x2xf32>) -> tensor<4x8xf32>
// CHECK: qat.fake_quant %[[X]]
// CHECK: qat.dequantize %[[C]], %[[S]] as <signed, 8 bits, absmax, per_group<32>> : tensor<8x64xi8>, tensor<8x2xf32> -> tensor<8x64xf32>
// CHECK-LABEL: func.func @intn_pack
// CHECK-SAME: -> (tensor<8x64xi8>, tensor<8x2xf32>)
// CHECK: qat.scale
// CHECK-NEXT: qat.quantize %{{.*}}, %{{.*}} as <signed, 8 bits, absmax, per_group<32>> : tensor<8x64xf32>, tensor<8x2xf32> -> tensor<8x64xi8>
#w8 = #qat.quantizer<signed, 8 bits, absmax, per_group<32>>
func.func @intn(%x: tensor<4x64xf32>, %w: tensor<8x64xf32> {qat.param}) -> tensor<4x8xf32> {
  %sx = qat.scale %x as #w8 : tensor<4x64xf32> -> tensor<4x2xf32>
  %fx = qat.fake_quant %x, %sx as #w8 with ste : tensor<4x64xf32>, tensor<4x2xf32>
  %sw = qat.scale %w as #w8 : tensor<8x64xf32> -> tensor<8x2xf32>
  %fw = qat.fake_quant %w, %sw as #w8 with ste : tensor<8x64xf32>, tensor<8x2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %y = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%fx, %fw : tensor<4x64xf32>, tensor<8x64xf32>) outs(%f : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Stochastic rounding is a device of training: the deployed weights and the
// inference function's activations round to nearest, and the seed argument,
// unused then, goes.

// CHECK-LABEL: func.func @stochastic_inference
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[C:.*]]: tensor<8x32xi8> {qat.codes}, %[[S:.*]]: tensor<8x4xf32>) -> tensor<4x8xf32>
// CHECK: qat.fake_quant %[[X]], %{{.*}} as <e2m1, 4 bits, nvfp4, per_group<16>> with ste
// CHECK: qat.dequantize %[[C]], %[[S]] as <e2m1, 4 bits, nvfp4, per_group<16>> packed
// CHECK-LABEL: func.func @stochastic_pack
// CHECK: qat.quantize %{{.*}}, %{{.*}} as <e2m1, 4 bits, nvfp4, per_group<16>> packed :
#sr4 = #qat.quantizer<e2m1, 4 bits, nvfp4, per_group<16>, stochastic>
func.func @stochastic(%x: tensor<4x64xf32>, %w: tensor<8x64xf32> {qat.param}, %seed: i64) -> tensor<4x8xf32> {
  %sx = qat.scale %x as #sr4 : tensor<4x64xf32> -> tensor<4x4xf32>
  %fx = qat.fake_quant %x, %sx as #sr4 seed %seed with ste : tensor<4x64xf32>, tensor<4x4xf32>
  %sw = qat.scale %w as #sr4 : tensor<8x64xf32> -> tensor<8x4xf32>
  %fw = qat.fake_quant %w, %sw as #sr4 seed %seed with ste : tensor<8x64xf32>, tensor<8x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %y = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%fx, %fw : tensor<4x64xf32>, tensor<8x64xf32>) outs(%f : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
