// RUN: qat-opt %s --convert-qat-to-linalg --split-input-file | FileCheck %s

// Stochastic rounding: the element's row-major index from linalg.index over
// the group view, SplitMix64 of (index + 1) under the seed, its top 24 bits
// as u in [0, 1), then floor(y) + [u < y - floor(y)] where rounding to
// nearest has math.roundeven; a zero level keeps y's sign.
// CHECK-LABEL: func.func @signed
// CHECK-SAME: %[[SEED:[a-z0-9]+]]: i64
// CHECK: linalg.generic
// CHECK-DAG: %[[R:.*]] = linalg.index 0 : index
// CHECK-DAG: %[[L:.*]] = linalg.index 2 : index
// CHECK: %[[GAMMA:.*]] = arith.constant -7046029254386353131 : i64
// CHECK: %[[STEP:.*]] = arith.muli %{{.*}}, %[[GAMMA]] : i64
// CHECK: arith.addi %[[SEED]], %[[STEP]] : i64
// CHECK: arith.constant -4658895280553007687 : i64
// CHECK: arith.constant -7723592293110705685 : i64
// CHECK: %[[TOP:.*]] = arith.shrui %{{.*}}, %c40_i64 : i64
// CHECK: %[[U24:.*]] = arith.trunci %[[TOP]] : i64 to i32
// CHECK: %[[UF:.*]] = arith.uitofp %[[U24]] : i32 to f32
// CHECK: %[[U:.*]] = arith.mulf %[[UF]], %{{.*}} : f32
// CHECK: %[[Y:.*]] = arith.minimumf
// CHECK: %[[FLOOR:.*]] = math.floor %[[Y]] : f32
// CHECK: %[[FRAC:.*]] = arith.subf %[[Y]], %[[FLOOR]] : f32
// CHECK: %[[UP:.*]] = arith.cmpf olt, %[[U]], %[[FRAC]] : f32
// CHECK: %[[NEXT:.*]] = arith.addf %[[FLOOR]]
// CHECK: %[[K:.*]] = arith.select %[[UP]], %[[NEXT]], %[[FLOOR]] : f32
// CHECK: %[[SIGNED:.*]] = math.copysign %[[K]], %[[Y]] : f32
// CHECK: arith.mulf %[[SIGNED]]
// CHECK-NOT: math.roundeven
func.func @signed(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>, %seed: i64) -> tensor<4x64xf32> {
  %y = qat.fake_quant %x, %s as <signed, 4 bits, absmax, per_row, stochastic> seed %seed with ste : tensor<4x64xf32>, tensor<4x1xf32>
  return %y : tensor<4x64xf32>
}

// -----

// Packed codes: the pair j of a row holds elements 2j and 2j + 1, so the
// low code draws at twice the pair's index and the high one after it.
// CHECK-LABEL: func.func @packed
// CHECK: linalg.generic
// CHECK: %[[PAIR:.*]] = arith.addi %{{.*}}, %{{.*}} : i64
// CHECK: %[[LOW:.*]] = arith.addi %[[PAIR]], %[[PAIR]] : i64
// CHECK: arith.addi %[[LOW]], %c1_i64
// CHECK: math.floor
// CHECK: %[[HIGH:.*]] = arith.addi %[[LOW]], %c1_i64{{.*}} : i64
// CHECK: arith.addi %[[HIGH]], %c1_i64
// CHECK: math.floor
// CHECK-NOT: math.roundeven
func.func @packed(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>, %seed: i64) -> tensor<4x32xi8> {
  %q = qat.quantize %x, %s as <centered, 4 bits, rms_gaussian, per_row, stochastic> packed seed %seed : tensor<4x64xf32>, tensor<4x1xf32> -> tensor<4x32xi8>
  return %q : tensor<4x32xi8>
}

// -----

// Rounding to nearest draws nothing.
// CHECK-LABEL: func.func @nearest
// CHECK-NOT: linalg.index
// CHECK: math.roundeven
func.func @nearest(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>) -> tensor<4x64xi8> {
  %q = qat.quantize %x, %s as <e4m3, 8 bits, absmax, per_row> : tensor<4x64xf32>, tensor<4x1xf32> -> tensor<4x64xi8>
  return %q : tensor<4x64xi8>
}

// -----

// A random-sign rotation: the sign map (the top bit of SplitMix64 at the
// column's counter) before the butterflies; its inverse after them.
// CHECK-LABEL: func.func @random_signs
// CHECK-SAME: %[[SEED:[a-z0-9]+]]: i64
// CHECK: linalg.generic
// CHECK: %[[COLUMN:.*]] = linalg.index 1 : index
// CHECK: arith.addi %[[SEED]]
// CHECK: %[[NEGATIVE:.*]] = arith.cmpi slt
// CHECK: %[[FLIPPED:.*]] = arith.negf %[[IN:.*]] : f32
// CHECK: arith.select %[[NEGATIVE]], %[[FLIPPED]], %[[IN]] : f32
// CHECK: tensor.expand_shape
// CHECK-LABEL: func.func @random_signs_inverse
// CHECK: tensor.expand_shape
// CHECK: tensor.collapse_shape
// CHECK: linalg.generic
// CHECK: linalg.index 1 : index
// CHECK: arith.cmpi slt
// CHECK: arith.negf
func.func @random_signs(%x: tensor<4x64xf32>, %seed: i64) -> tensor<4x64xf32> {
  %h = qat.hadamard %x block 16 signs %seed : tensor<4x64xf32>
  return %h : tensor<4x64xf32>
}
func.func @random_signs_inverse(%x: tensor<4x64xf32>, %seed: i64) -> tensor<4x64xf32> {
  %h = qat.hadamard %x block 16 signs %seed inverse : tensor<4x64xf32>
  return %h : tensor<4x64xf32>
}
