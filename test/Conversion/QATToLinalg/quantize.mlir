// RUN: qat-opt %s --convert-qat-to-linalg --split-input-file | FileCheck %s

// Signed grid: code = roundeven(clamp(x / s, -128, 127)), one elementwise
// generic over the view [rows, 1, D] with the step broadcast along the row.
// maxnumf sends NaN to qn (the code NaN stores) rather than to a poison
// fptosi; infinities clamp to the ends.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[GROUP:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @signed8
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[S:.*]]: tensor<4x1xf32>)
// CHECK: %[[VIEW:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [4, 1, 64]
// CHECK: %[[Q:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[GROUP]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[VIEW]], %[[S]] : tensor<4x1x64xf32>, tensor<4x1xf32>) outs(%{{.*}} : tensor<4x1x64xi8>)
// CHECK: ^bb0(%[[IN:.*]]: f32, %[[STEP:.*]]: f32, %{{.*}}: i8):
// CHECK: %[[V:.*]] = arith.divf %[[IN]], %[[STEP]]
// CHECK: %[[QN:.*]] = arith.constant -1.280000e+02 : f32
// CHECK: %[[LO:.*]] = arith.maxnumf %[[V]], %[[QN]]
// CHECK: %[[QP:.*]] = arith.constant 1.270000e+02 : f32
// CHECK: %[[C:.*]] = arith.minimumf %[[LO]], %[[QP]]
// CHECK: %[[R:.*]] = math.roundeven %[[C]]
// CHECK: %[[I:.*]] = arith.fptosi %[[R]] : f32 to i32
// CHECK: %[[T:.*]] = arith.trunci %[[I]] : i32 to i8
// CHECK: linalg.yield %[[T]]
// CHECK: tensor.collapse_shape %[[Q]] {{\[}}[0], [1, 2]] : tensor<4x1x64xi8> into tensor<4x64xi8>
func.func @signed8(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>) -> tensor<4x64xi8> {
  %q = qat.quantize %x, %s as <signed, 8 bits, absmax, per_row> : tensor<4x64xf32>, tensor<4x1xf32> -> tensor<4x64xi8>
  return %q : tensor<4x64xi8>
}

// -----

// Centered grid: k = roundeven(clamp(x / s + 1/2, -7, 8)), code = k - 1.
// bf16 input and f16 step are both read into f32.
// CHECK-LABEL: func.func @centered4
// CHECK: ^bb0(%[[IN:.*]]: bf16, %[[STEP:.*]]: f16, %{{.*}}: i4):
// CHECK: %[[XF:.*]] = arith.extf %[[IN]] : bf16 to f32
// CHECK: %[[SF:.*]] = arith.extf %[[STEP]] : f16 to f32
// CHECK: %[[V:.*]] = arith.divf %[[XF]], %[[SF]]
// CHECK: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: %[[SHIFTED:.*]] = arith.addf %[[V]], %[[HALF]]
// CHECK: arith.constant -7.000000e+00 : f32
// CHECK: arith.maxnumf %[[SHIFTED]]
// CHECK: arith.constant 8.000000e+00 : f32
// CHECK: %[[C:.*]] = arith.minimumf
// CHECK: %[[R:.*]] = math.roundeven %[[C]]
// CHECK: %[[K:.*]] = arith.fptosi %[[R]] : f32 to i32
// CHECK: %[[ONE:.*]] = arith.constant 1 : i32
// CHECK: %[[CODE:.*]] = arith.subi %[[K]], %[[ONE]]
// CHECK: arith.trunci %[[CODE]] : i32 to i4
func.func @centered4(%x: tensor<2x16xbf16>, %s: tensor<2x1xf16>) -> tensor<2x16xi4> {
  %q = qat.quantize %x, %s as <centered, 4 bits, rms_gaussian, per_row> : tensor<2x16xbf16>, tensor<2x1xf16> -> tensor<2x16xi4>
  return %q : tensor<2x16xi4>
}

// -----

// One signed bit is sign(x) (0 for x == 0, -1 for NaN), stored in i2;
// per_tensor views the input as [1, 1, N].
// CHECK-LABEL: func.func @sign
// CHECK: tensor.expand_shape %{{.*}} output_shape [1, 1, 32]
// CHECK: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32, %{{.*}}: i2):
// CHECK-NOT: arith.divf
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[POS:.*]] = arith.cmpf ogt, %[[IN]], %[[ZERO]]
// CHECK: %[[NEG:.*]] = arith.cmpf ult, %[[IN]], %[[ZERO]]
// CHECK: %[[Z:.*]] = arith.constant 0 : i32
// CHECK: %[[P1:.*]] = arith.constant 1 : i32
// CHECK: %[[PZ:.*]] = arith.select %[[POS]], %[[P1]], %[[Z]]
// CHECK: %[[M1:.*]] = arith.constant -1 : i32
// CHECK: %[[SIGN:.*]] = arith.select %[[NEG]], %[[M1]], %[[PZ]]
// CHECK: arith.trunci %[[SIGN]] : i32 to i2
// CHECK: tensor.expand_shape %{{.*}} output_shape [4, 8] : tensor<32xi2> into tensor<4x8xi2>
func.func @sign(%x: tensor<4x8xf32>, %s: tensor<1x1xf32>) -> tensor<4x8xi2> {
  %q = qat.quantize %x, %s as <signed, 1 bits, absmax, per_tensor> : tensor<4x8xf32>, tensor<1x1xf32> -> tensor<4x8xi2>
  return %q : tensor<4x8xi2>
}

// -----

// Packed: one generic over the bytes [rows, D/2] reads elements 2j and 2j+1
// through the view [rows, D/2, 2]; byte = (c0 & 0xF) | (c1 << 4). Both
// elements of a byte share the row's step, read once.
// CHECK-DAG: #[[EVEN:.*]] = affine_map<(d0, d1) -> (d0, d1, 0)>
// CHECK-DAG: #[[ODD:.*]] = affine_map<(d0, d1) -> (d0, d1, 1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @packed
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[S:.*]]: tensor<4x1xf32>)
// CHECK: %[[PAIRS:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [4, 32, 2]
// CHECK: linalg.generic {indexing_maps = [#[[EVEN]], #[[ODD]], #[[ROW]], #{{.*}}], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[PAIRS]], %[[PAIRS]], %[[S]] : tensor<4x32x2xf32>, tensor<4x32x2xf32>, tensor<4x1xf32>) outs(%{{.*}} : tensor<4x32xi8>)
// CHECK: math.roundeven
// CHECK: %[[C0:.*]] = arith.trunci %{{.*}} : i32 to i8
// CHECK: math.roundeven
// CHECK: %[[C1:.*]] = arith.trunci %{{.*}} : i32 to i8
// CHECK: %[[MASK:.*]] = arith.constant 15 : i8
// CHECK: %[[LOW:.*]] = arith.andi %[[C0]], %[[MASK]] : i8
// CHECK: %[[FOUR:.*]] = arith.constant 4 : i8
// CHECK: %[[HIGH:.*]] = arith.shli %[[C1]], %[[FOUR]] : i8
// CHECK: %[[BYTE:.*]] = arith.ori %[[LOW]], %[[HIGH]] : i8
// CHECK: linalg.yield %[[BYTE]]
func.func @packed(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>) -> tensor<4x32xi8> {
  %q = qat.quantize %x, %s as <centered, 4 bits, rms_gaussian, per_row> packed : tensor<4x64xf32>, tensor<4x1xf32> -> tensor<4x32xi8>
  return %q : tensor<4x32xi8>
}

// -----

// With an odd group size a byte can straddle two groups: each element of the
// pair reads the step of its own group, (2j + e) floordiv G.
// CHECK-DAG: #[[LOWSTEP:.*]] = affine_map<(d0, d1) -> (d0, (d1 * 2) floordiv 3)>
// CHECK-DAG: #[[HIGHSTEP:.*]] = affine_map<(d0, d1) -> (d0, (d1 * 2 + 1) floordiv 3)>
// CHECK-LABEL: func.func @packed_odd_groups
// CHECK-SAME: (%{{.*}}: tensor<2x6xf32>, %[[S:.*]]: tensor<2x2xf32>)
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #[[LOWSTEP]], #[[HIGHSTEP]], #{{.*}}]
// CHECK-SAME: ins(%{{.*}}, %{{.*}}, %[[S]], %[[S]] :
func.func @packed_odd_groups(%x: tensor<2x6xf32>, %s: tensor<2x2xf32>) -> tensor<2x3xi8> {
  %q = qat.quantize %x, %s as <signed, 4 bits, learned, per_group<3>> packed : tensor<2x6xf32>, tensor<2x2xf32> -> tensor<2x3xi8>
  return %q : tensor<2x3xi8>
}
