// RUN: qat-opt %s --split-input-file --qat-quantize | FileCheck %s --check-prefix=QUEST
// RUN: qat-opt %s --split-input-file --qat-quantize="recipe=stableqat bits=3 amplitudes=0.2,0.01" | FileCheck %s --check-prefix=SQ
// RUN: qat-opt %s --split-input-file --qat-quantize="recipe=ste bits=4 granularity=per_group group-size=32 activation-bits=8" | FileCheck %s --check-prefix=STE
// RUN: qat-opt %s --split-input-file --qat-quantize="recipe=none" | FileCheck %s --check-prefix=NONE
// MXFP4 weights (e2m1 elements, a power-of-two step per block of 32) with fp8
// e4m3 activations scaled per row: the bits default to the formats' widths.
// RUN: qat-opt %s --split-input-file --qat-quantize="recipe=ste format=e2m1 scale=mx granularity=per_group group-size=32 activation-format=e4m3" | FileCheck %s --check-prefix=MX
// RUN: qat-opt %s --split-input-file --qat-quantize="recipe=clip format=e5m2 granularity=per_tensor activation-bits=8" | FileCheck %s --check-prefix=FP8
// RUN: qat-opt %s --split-input-file --qat-quantize="recipe=ste format=e2m1 scale=nvfp4 granularity=per_group group-size=16 activation-bits=4" | FileCheck %s --check-prefix=NVFP4

// A linear layer y = x W with W stored K x N (linalg.matmul's plain form):
// the weight is transposed to N x K, both operands rotated along K.

// QUEST-LABEL: func.func @linear
// QUEST-SAME: (%[[X:.*]]: tensor<8x256xf32>, %[[W:.*]]: tensor<256x64xf32> {qat.param}) -> tensor<8x64xf32>
// QUEST: %[[WT:.*]] = linalg.transpose ins(%[[W]] : tensor<256x64xf32>) outs(%{{.*}} : tensor<64x256xf32>) permutation = [1, 0]
// QUEST: %[[XH:.*]] = qat.hadamard %[[X]] block 128 : tensor<8x256xf32>
// QUEST: %[[SX:.*]] = qat.scale %[[XH]] as <centered, 4 bits, rms_gaussian, per_row> : tensor<8x256xf32> -> tensor<8x1xf32>
// QUEST: %[[QX:.*]] = qat.quantize %[[XH]], %[[SX]] as <centered, 4 bits, rms_gaussian, per_row> packed {qat.estimator = #qat.trust} : tensor<8x256xf32>, tensor<8x1xf32> -> tensor<8x128xi8>
// QUEST: %[[WH:.*]] = qat.hadamard %[[WT]] block 128 : tensor<64x256xf32>
// QUEST: %[[SW:.*]] = qat.scale %[[WH]]
// QUEST: %[[QW:.*]] = qat.quantize %[[WH]], %[[SW]] {{.*}} packed {qat.estimator = #qat.trust} : tensor<64x256xf32>, tensor<64x1xf32> -> tensor<64x128xi8>
// QUEST: %[[Y:.*]] = qat.matmul %[[QX]], %[[QW]], %[[SX]], %[[SW]] as <centered, 4 bits, rms_gaussian, per_row>, <centered, 4 bits, rms_gaussian, per_row> packed : tensor<8x128xi8>, tensor<64x128xi8>, tensor<8x1xf32>, tensor<64x1xf32> -> tensor<8x64xf32>
// QUEST-NOT: linalg.matmul
// QUEST: return %[[Y]]

// SQ-LABEL: func.func @linear
// SQ-SAME: (%[[X:.*]]: tensor<8x256xf32>, %[[W:.*]]: tensor<256x64xf32> {qat.param}, %[[S:.*]]: tensor<64x1xf32> {qat.step}) -> tensor<8x64xf32>
// SQ: %[[WT:.*]] = linalg.transpose ins(%[[W]] : tensor<256x64xf32>)
// SQ: %[[FQ:.*]] = qat.fake_quant %[[WT]], %[[S]] as <signed, 3 bits, learned, per_row> with fourier<[0.2, 0.01]> : tensor<64x256xf32>, tensor<64x1xf32>
// SQ: %[[BACK:.*]] = linalg.transpose ins(%[[FQ]] : tensor<64x256xf32>) outs(%{{.*}} : tensor<256x64xf32>) permutation = [1, 0]
// SQ: linalg.matmul ins(%[[X]], %[[BACK]] : tensor<8x256xf32>, tensor<256x64xf32>)

// The initial steps, LSQ's 2 mean|w| / sqrt(qp) per row: 2 / (256 sqrt(3)).
// SQ-LABEL: func.func @linear_init_steps
// SQ-SAME: (%[[W:.*]]: tensor<256x64xf32>) -> tensor<64x1xf32>
// SQ: %[[WT:.*]] = linalg.transpose ins(%[[W]]
// SQ: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[WT]] : tensor<64x256xf32>) outs(%{{.*}} : tensor<64xf32>)
// SQ: math.absf
// SQ: arith.constant 0.0045105{{[0-9]*}} : f32
// SQ: tensor.expand_shape {{.*}} : tensor<64xf32> into tensor<64x1xf32>

// STE-LABEL: func.func @linear
// STE: %[[WT:.*]] = linalg.transpose
// STE: %[[SW:.*]] = qat.scale %[[WT]] as <signed, 4 bits, absmax, per_group<32>> : tensor<64x256xf32> -> tensor<64x8xf32>
// STE: qat.fake_quant %[[WT]], %[[SW]] as <signed, 4 bits, absmax, per_group<32>> with ste
// STE: %[[SX:.*]] = qat.scale %{{.*}} as <signed, 8 bits, absmax, per_group<32>> : tensor<8x256xf32> -> tensor<8x8xf32>
// STE: qat.fake_quant %{{.*}}, %[[SX]] as <signed, 8 bits, absmax, per_group<32>> with ste
// STE: linalg.matmul

// MX-LABEL: func.func @linear
// MX: %[[SW:.*]] = qat.scale %{{.*}} as <e2m1, 4 bits, mx, per_group<32>> : tensor<64x256xf32> -> tensor<64x8xf32>
// MX: qat.fake_quant %{{.*}}, %[[SW]] as <e2m1, 4 bits, mx, per_group<32>> with ste
// MX: %[[SX:.*]] = qat.scale %{{.*}} as <e4m3, 8 bits, mx, per_group<32>> : tensor<8x256xf32> -> tensor<8x8xf32>
// MX: qat.fake_quant %{{.*}}, %[[SX]] as <e4m3, 8 bits, mx, per_group<32>> with ste
// MX: linalg.matmul

// NVFP4-LABEL: func.func @linear
// NVFP4: qat.scale %{{.*}} as <e2m1, 4 bits, nvfp4, per_group<16>> : tensor<64x256xf32> -> tensor<64x16xf32>
// NVFP4: qat.scale %{{.*}} as <e2m1, 4 bits, nvfp4, per_group<16>> : tensor<8x256xf32> -> tensor<8x16xf32>
// NVFP4: linalg.matmul

// fp8 weights and activations with a step per tensor (or row): both quantized
// to codes, with the recipe's estimator, and multiplied by qat.matmul.
// FP8-LABEL: func.func @linear
// FP8: %[[SX:.*]] = qat.scale %arg0 as <e5m2, 8 bits, absmax, per_tensor> : tensor<8x256xf32> -> tensor<1x1xf32>
// FP8: %[[CX:.*]] = qat.quantize %arg0, %[[SX]] as <e5m2, 8 bits, absmax, per_tensor> {qat.estimator = #qat.clip} : tensor<8x256xf32>, tensor<1x1xf32> -> tensor<8x256xi8>
// FP8: %[[SW:.*]] = qat.scale %[[WT:.*]] as <e5m2, 8 bits, absmax, per_tensor> : tensor<64x256xf32> -> tensor<1x1xf32>
// FP8: %[[CW:.*]] = qat.quantize %[[WT]], %[[SW]] as <e5m2, 8 bits, absmax, per_tensor> {qat.estimator = #qat.clip} : tensor<64x256xf32>, tensor<1x1xf32> -> tensor<64x256xi8>
// FP8: %[[Y:.*]] = qat.matmul %[[CX]], %[[CW]], %[[SX]], %[[SW]] as <e5m2, 8 bits, absmax, per_tensor>, <e5m2, 8 bits, absmax, per_tensor> : tensor<8x256xi8>, tensor<64x256xi8>, tensor<1x1xf32>, tensor<1x1xf32> -> tensor<8x64xf32>
// FP8-NOT: linalg.matmul
// FP8: return %[[Y]]

// NONE-LABEL: func.func @linear
// NONE-NOT: = qat.
// NONE: linalg.matmul
func.func @linear(%x: tensor<8x256xf32>, %w: tensor<256x64xf32> {qat.param}) -> tensor<8x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<8x64xf32>) -> tensor<8x64xf32>
  %y = linalg.matmul ins(%x, %w : tensor<8x256xf32>, tensor<256x64xf32>)
      outs(%f : tensor<8x64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// Attention scores: q k^T multiplies two activations and stays in float; the
// projection by a parameter (N x K, matmul's transposed-B form, through a
// slice) is quantized; the default is overridden per op.

// QUEST-LABEL: func.func @attention
// QUEST-SAME: (%[[X:.*]]: tensor<6x32xf32>, %[[WQ:.*]]: tensor<64x32xf32> {qat.param}, %[[WK:.*]]: tensor<32x32xf32> {qat.param})
// QUEST: %[[SL:.*]] = tensor.extract_slice %[[WQ]][0, 0] [32, 32] [1, 1]
// QUEST: qat.hadamard %[[X]] block 32 : tensor<6x32xf32>
// QUEST: qat.hadamard %[[SL]] block 32 : tensor<32x32xf32>
// QUEST: %[[Q:.*]] = qat.matmul {{.*}} -> tensor<6x32xf32>
// QUEST-NOT: qat.
// QUEST: %[[K:.*]] = linalg.matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] ins(%[[X]], %[[WK]] : tensor<6x32xf32>, tensor<32x32xf32>)
// QUEST: %[[S:.*]] = linalg.matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] ins(%[[Q]], %[[K]] : tensor<6x32xf32>, tensor<6x32xf32>) outs(%{{.*}} : tensor<6x6xf32>)
// QUEST: %[[KT:.*]] = linalg.transpose ins(%[[K]] : tensor<6x32xf32>) outs(%{{.*}} : tensor<32x6xf32>) permutation = [1, 0]
// QUEST: %[[SK:.*]] = qat.scale %[[KT]] as <signed, 8 bits, absmax, per_row> : tensor<32x6xf32> -> tensor<32x1xf32>
// QUEST: %[[FK:.*]] = qat.fake_quant %[[KT]], %[[SK]] as <signed, 8 bits, absmax, per_row> with clip : tensor<32x6xf32>, tensor<32x1xf32>
// QUEST: %[[FKT:.*]] = linalg.transpose ins(%[[FK]] : tensor<32x6xf32>)
// QUEST: %[[O:.*]] = linalg.matmul ins(%[[S]], %[[FKT]] : tensor<6x6xf32>, tensor<6x32xf32>)
// QUEST-NOT: qat.recipe
// QUEST: return %[[O]]
func.func @attention(%x: tensor<6x32xf32>, %wq: tensor<64x32xf32> {qat.param},
                     %wk: tensor<32x32xf32> {qat.param}) -> tensor<6x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<6x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<6x32xf32>) -> tensor<6x32xf32>
  %wqs = tensor.extract_slice %wq[0, 0] [32, 32] [1, 1] : tensor<64x32xf32> to tensor<32x32xf32>
  %q = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %wqs : tensor<6x32xf32>, tensor<32x32xf32>)
      outs(%f : tensor<6x32xf32>) -> tensor<6x32xf32>
  %k = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %wk : tensor<6x32xf32>, tensor<32x32xf32>)
      outs(%f : tensor<6x32xf32>) {qat.recipe = #qat.keep_float} -> tensor<6x32xf32>
  %e2 = tensor.empty() : tensor<6x6xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<6x6xf32>) -> tensor<6x6xf32>
  %s = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%q, %k : tensor<6x32xf32>, tensor<6x32xf32>)
      outs(%f2 : tensor<6x6xf32>) -> tensor<6x6xf32>
  // Neither operand is a parameter: the recipe quantizes B.
  %o = linalg.matmul ins(%s, %k : tensor<6x6xf32>, tensor<6x32xf32>)
      outs(%f : tensor<6x32xf32>) {qat.recipe = #qat.intn<estimator = #qat.clip, weights = #qat.quantizer<signed, 8 bits, absmax, per_row>>} -> tensor<6x32xf32>
  return %o : tensor<6x32xf32>
}

// -----

// A linalg.generic contraction with K first in x, a transposed output and an
// accumulator that is not zero: the qat.matmul product is transposed into
// the output's layout and added to it. K = 96: Hadamard block 32.

// QUEST-LABEL: func.func @generic_accumulate
// QUEST-SAME: (%[[X:.*]]: tensor<96x6xf32>, %[[W:.*]]: tensor<10x96xf32> {qat.param}, %[[ACC:.*]]: tensor<10x6xf32>)
// QUEST: %[[XT:.*]] = linalg.transpose ins(%[[X]] : tensor<96x6xf32>) outs(%{{.*}} : tensor<6x96xf32>) permutation = [1, 0]
// QUEST: qat.hadamard %[[XT]] block 32 : tensor<6x96xf32>
// QUEST: qat.hadamard %[[W]] block 32 : tensor<10x96xf32>
// QUEST: %[[P:.*]] = qat.matmul {{.*}} -> tensor<6x10xf32>
// QUEST: %[[PT:.*]] = linalg.transpose ins(%[[P]] : tensor<6x10xf32>) outs(%{{.*}} : tensor<10x6xf32>) permutation = [1, 0]
// QUEST: %[[SUM:.*]] = linalg.add ins(%[[ACC]], %[[PT]] : tensor<10x6xf32>, tensor<10x6xf32>)
// QUEST: return %[[SUM]]
func.func @generic_accumulate(%x: tensor<96x6xf32>, %w: tensor<10x96xf32> {qat.param},
                              %acc: tensor<10x6xf32>) -> tensor<10x6xf32> {
  %y = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (k, m)>,
                                        affine_map<(m, n, k) -> (n, k)>,
                                        affine_map<(m, n, k) -> (n, m)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<96x6xf32>, tensor<10x96xf32>) outs(%acc : tensor<10x6xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<10x6xf32>
  return %y : tensor<10x6xf32>
}

// -----

// linalg.batch_matmul under QuEST: qat.matmul is two-dimensional, so both
// operands are fake-quantized (rotated, trust estimator) and the batched
// product stays in float.

// QUEST-LABEL: func.func @batched
// QUEST-SAME: (%[[A:.*]]: tensor<2x5x64xf32> {qat.param}, %[[B:.*]]: tensor<2x64x7xf32>, %{{.*}}: tensor<2x5x7xf32>)
// QUEST: %[[BT:.*]] = linalg.transpose ins(%[[B]] : tensor<2x64x7xf32>) outs(%{{.*}} : tensor<2x7x64xf32>) permutation = [0, 2, 1]
// QUEST: %[[AH:.*]] = qat.hadamard %[[A]] block 64 : tensor<2x5x64xf32>
// QUEST: %[[SA:.*]] = qat.scale %[[AH]] as <centered, 4 bits, rms_gaussian, per_row> : tensor<2x5x64xf32> -> tensor<2x5x1xf32>
// QUEST: %[[FA:.*]] = qat.fake_quant %[[AH]], %[[SA]] as <centered, 4 bits, rms_gaussian, per_row> with trust
// QUEST: %[[BH:.*]] = qat.hadamard %[[BT]] block 64 : tensor<2x7x64xf32>
// QUEST: %[[FB:.*]] = qat.fake_quant %[[BH]]
// QUEST: %[[FBT:.*]] = linalg.transpose ins(%[[FB]] : tensor<2x7x64xf32>) outs(%{{.*}} : tensor<2x64x7xf32>) permutation = [0, 2, 1]
// QUEST: linalg.batch_matmul ins(%[[FA]], %[[FBT]] : tensor<2x5x64xf32>, tensor<2x64x7xf32>)

// The weight is the lhs here: StableQAT gives A's rows (M) their steps.
// SQ-LABEL: func.func @batched
// SQ-SAME: %{{.*}}: tensor<2x5x1xf32> {qat.step}
// SQ: qat.fake_quant %{{.*}}, %{{.*}} as <signed, 3 bits, learned, per_row> with fourier<[0.2, 0.01]> : tensor<2x5x64xf32>, tensor<2x5x1xf32>
// SQ-LABEL: func.func @batched_init_steps
// SQ-SAME: (%{{.*}}: tensor<2x5x64xf32>) -> tensor<2x5x1xf32>
func.func @batched(%a: tensor<2x5x64xf32> {qat.param}, %b: tensor<2x64x7xf32>,
                   %acc: tensor<2x5x7xf32>) -> tensor<2x5x7xf32> {
  %y = linalg.batch_matmul ins(%a, %b : tensor<2x5x64xf32>, tensor<2x64x7xf32>)
      outs(%acc : tensor<2x5x7xf32>) -> tensor<2x5x7xf32>
  return %y : tensor<2x5x7xf32>
}

// -----

// Activations with two leading dimensions (a batch of sequences, B x S x K)
// times a K x N weight: the two M dimensions collapse into the rows of
// qat.matmul and expand back; the output here orders them S, B.

// QUEST-LABEL: func.func @tokens
// QUEST-SAME: (%[[X:.*]]: tensor<3x5x64xf32>, %[[W:.*]]: tensor<64x24xf32> {qat.param}) -> tensor<5x3x24xf32>
// QUEST: %[[XT:.*]] = linalg.transpose ins(%[[X]] : tensor<3x5x64xf32>) outs(%{{.*}} : tensor<5x3x64xf32>) permutation = [1, 0, 2]
// QUEST: %[[WT:.*]] = linalg.transpose ins(%[[W]] : tensor<64x24xf32>) outs(%{{.*}} : tensor<24x64xf32>) permutation = [1, 0]
// QUEST: %[[ROWS:.*]] = tensor.collapse_shape %[[XT]] {{\[\[}}0, 1], [2]] : tensor<5x3x64xf32> into tensor<15x64xf32>
// QUEST: qat.hadamard %[[ROWS]] block 64 : tensor<15x64xf32>
// QUEST: %[[Y:.*]] = qat.matmul {{.*}} : tensor<15x32xi8>, tensor<24x32xi8>, tensor<15x1xf32>, tensor<24x1xf32> -> tensor<15x24xf32>
// QUEST: %[[OUT:.*]] = tensor.expand_shape %[[Y]] {{\[\[}}0, 1], [2]] output_shape [5, 3, 24] : tensor<15x24xf32> into tensor<5x3x24xf32>
// QUEST: return %[[OUT]]

// Weight-only recipes quantize the weight and keep the generic.
// SQ-LABEL: func.func @tokens
// SQ-SAME: %{{.*}}: tensor<24x1xf32> {qat.step}
// SQ: qat.fake_quant {{.*}} : tensor<24x64xf32>, tensor<24x1xf32>
// SQ: linalg.generic
func.func @tokens(%x: tensor<3x5x64xf32>, %w: tensor<64x24xf32> {qat.param}) -> tensor<5x3x24xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<5x3x24xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<5x3x24xf32>) -> tensor<5x3x24xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(b, s, n, k) -> (b, s, k)>,
                                        affine_map<(b, s, n, k) -> (k, n)>,
                                        affine_map<(b, s, n, k) -> (s, b, n)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<3x5x64xf32>, tensor<64x24xf32>) outs(%f : tensor<5x3x24xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<5x3x24xf32>
  return %y : tensor<5x3x24xf32>
}

// -----

// The default recipe applies to contractions only: the bias add (a generic
// with a parameter operand, no reduction) and the elementwise scale by a
// parameter (linalg.mul) stay in float, untouched and without a diagnostic,
// while the product by the parameter W is quantized.

// QUEST-LABEL: func.func @bias_and_scale
// QUEST-SAME: (%[[X:.*]]: tensor<4x128xf32>, %[[W:.*]]: tensor<128x16xf32> {qat.param}, %[[B:.*]]: tensor<16xf32> {qat.param}, %[[G:.*]]: tensor<4x16xf32> {qat.param}) -> tensor<4x16xf32>
// QUEST: %[[Y:.*]] = qat.matmul {{.*}} -> tensor<4x16xf32>
// QUEST-NOT: linalg.matmul
// QUEST: %[[YB:.*]] = linalg.generic {{.*}} ins(%[[Y]], %[[B]] : tensor<4x16xf32>, tensor<16xf32>)
// QUEST-NEXT: ^bb0
// QUEST-NEXT: arith.addf
// QUEST-NOT: qat.
// QUEST: %[[R:.*]] = linalg.mul ins(%[[YB]], %[[G]] : tensor<4x16xf32>, tensor<4x16xf32>)
// QUEST: return %[[R]]

// SQ-LABEL: func.func @bias_and_scale
// SQ-SAME: %{{.*}}: tensor<16x1xf32> {qat.step}) -> tensor<4x16xf32>
// SQ: qat.fake_quant
// SQ-NOT: qat.fake_quant
// SQ: linalg.matmul
// SQ: linalg.generic
// SQ: linalg.mul
// SQ-LABEL: func.func @bias_and_scale_init_steps
// SQ-SAME: (%{{.*}}: tensor<128x16xf32>, %{{.*}}: tensor<16xf32>, %{{.*}}: tensor<4x16xf32>) -> tensor<16x1xf32>

// STE-LABEL: func.func @bias_and_scale
// STE-COUNT-2: qat.fake_quant
// STE-NOT: qat.
// STE: linalg.matmul
// STE-NOT: qat.
// STE: linalg.generic
// STE-NOT: qat.
// STE: linalg.mul
#map_rows = affine_map<(d0, d1) -> (d0, d1)>
#map_bias = affine_map<(d0, d1) -> (d1)>
func.func @bias_and_scale(%x: tensor<4x128xf32>, %w: tensor<128x16xf32> {qat.param},
                          %b: tensor<16xf32> {qat.param},
                          %g: tensor<4x16xf32> {qat.param}) -> tensor<4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %y = linalg.matmul ins(%x, %w : tensor<4x128xf32>, tensor<128x16xf32>)
      outs(%f : tensor<4x16xf32>) -> tensor<4x16xf32>
  %yb = linalg.generic {indexing_maps = [#map_rows, #map_bias, #map_rows],
                        iterator_types = ["parallel", "parallel"]}
      ins(%y, %b : tensor<4x16xf32>, tensor<16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  %r = linalg.mul ins(%yb, %g : tensor<4x16xf32>, tensor<4x16xf32>)
      outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}
