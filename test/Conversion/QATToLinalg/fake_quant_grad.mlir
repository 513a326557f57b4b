// RUN: qat-opt %s --convert-qat-to-linalg --split-input-file | FileCheck %s

// The straight-through estimator passes dy through (learned steps still get
// their gradient, see @fourier_learned).
// CHECK-LABEL: func.func @ste
// CHECK-SAME: (%[[DY:[^:]*]]: tensor<4x64xf32>,
// CHECK-NOT: linalg.generic
// CHECK: return %[[DY]]
func.func @ste(%dy: tensor<4x64xf32>, %x: tensor<4x64xf32>, %s: tensor<4x1xf32>) -> tensor<4x64xf32> {
  %dx = qat.fake_quant_grad %dy, %x, %s as <centered, 4 bits, rms_gaussian, per_row> with ste : tensor<4x64xf32>, tensor<4x1xf32>
  return %dx : tensor<4x64xf32>
}

// -----

// clip on the centered grid: dy * [|x| <= s * (2^b - 1)/2].
// CHECK-LABEL: func.func @clip_centered
// CHECK: ^bb0(%[[DY:.*]]: f32, %[[X:.*]]: f32, %[[STEP:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[HALF:.*]] = arith.constant 7.500000e+00 : f32
// CHECK: %[[CLIP:.*]] = arith.mulf %[[STEP]], %[[HALF]]
// CHECK: %[[ABS:.*]] = math.absf %[[X]]
// CHECK: %[[KEEP:.*]] = arith.cmpf ole, %[[ABS]], %[[CLIP]]
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: arith.select %[[KEEP]], %[[DY]], %[[ZERO]]
func.func @clip_centered(%dy: tensor<4x64xf32>, %x: tensor<4x64xf32>, %s: tensor<4x1xf32>) -> tensor<4x64xf32> {
  %dx = qat.fake_quant_grad %dy, %x, %s as <centered, 4 bits, rms_gaussian, per_row> with clip : tensor<4x64xf32>, tensor<4x1xf32>
  return %dx : tensor<4x64xf32>
}

// -----

// clip<k> on the centered grid: dy * [|x| <= s * k * (2^b - 1)/2], the
// factor folded into the constant (k = 1.5, b = 4: 11.25).
// CHECK-LABEL: func.func @clip_factor_centered
// CHECK: ^bb0(%[[DY:.*]]: f32, %[[X:.*]]: f32, %[[STEP:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[HALF:.*]] = arith.constant 1.125000e+01 : f32
// CHECK: %[[CLIP:.*]] = arith.mulf %[[STEP]], %[[HALF]]
// CHECK: %[[ABS:.*]] = math.absf %[[X]]
// CHECK: %[[KEEP:.*]] = arith.cmpf ole, %[[ABS]], %[[CLIP]]
// CHECK: arith.select %[[KEEP]], %[[DY]]
func.func @clip_factor_centered(%dy: tensor<4x64xf32>, %x: tensor<4x64xf32>, %s: tensor<4x1xf32>) -> tensor<4x64xf32> {
  %dx = qat.fake_quant_grad %dy, %x, %s as <centered, 4 bits, rms_gaussian, per_row> with clip<1.5> : tensor<4x64xf32>, tensor<4x1xf32>
  return %dx : tensor<4x64xf32>
}

// -----

// clip<k> on the signed grid: dy * [k*qn <= x/s <= k*qp] (k = 0.5, b = 4:
// [-4, 3.5]).
// CHECK-LABEL: func.func @clip_factor_signed
// CHECK: %[[V:.*]] = arith.divf
// CHECK: arith.constant -4.000000e+00 : f32
// CHECK: arith.cmpf oge, %[[V]]
// CHECK: arith.constant 3.500000e+00 : f32
// CHECK: arith.cmpf ole, %[[V]]
func.func @clip_factor_signed(%dy: tensor<4x64xf32>, %x: tensor<4x64xf32>, %s: tensor<4x1xf32>) -> tensor<4x64xf32> {
  %dx = qat.fake_quant_grad %dy, %x, %s as <signed, 4 bits, absmax, per_row> with clip<0.5> : tensor<4x64xf32>, tensor<4x1xf32>
  return %dx : tensor<4x64xf32>
}

// -----

// clip on the signed grid: dy * [qn <= x/s <= qp]; bf16 in and out.
// CHECK-LABEL: func.func @clip_signed
// CHECK: ^bb0(%[[DY:.*]]: bf16, %[[X:.*]]: bf16, %[[STEP:.*]]: f32, %{{.*}}: bf16):
// CHECK: %[[G:.*]] = arith.extf %[[DY]] : bf16 to f32
// CHECK: %[[XF:.*]] = arith.extf %[[X]] : bf16 to f32
// CHECK: %[[V:.*]] = arith.divf %[[XF]], %[[STEP]]
// CHECK: arith.constant -8.000000e+00 : f32
// CHECK: %[[GE:.*]] = arith.cmpf oge, %[[V]]
// CHECK: arith.constant 7.000000e+00 : f32
// CHECK: %[[LE:.*]] = arith.cmpf ole, %[[V]]
// CHECK: %[[IN:.*]] = arith.andi %[[GE]], %[[LE]] : i1
// CHECK: %[[SEL:.*]] = arith.select %[[IN]], %[[G]]
// CHECK: arith.truncf %[[SEL]] : f32 to bf16
func.func @clip_signed(%dy: tensor<4x64xbf16>, %x: tensor<4x64xbf16>, %s: tensor<1x1xf32>) -> tensor<4x64xbf16> {
  %dx = qat.fake_quant_grad %dy, %x, %s as <signed, 4 bits, absmax, per_tensor> with clip : tensor<4x64xbf16>, tensor<1x1xf32>
  return %dx : tensor<4x64xbf16>
}

// -----

// trust: a per-group sum of squares (reduction), the deviation sqrt(mean)
// per group, then dy * [|fake_quant(x) - x| <= T * deviation]
// (T = alpha_4 / 15 = 0.16759...).
// CHECK-LABEL: func.func @trust
// CHECK: %[[SUMSQ:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK: arith.mulf
// CHECK: arith.addf %{{.*}} : f64
// CHECK: %[[DEVIATION:.*]] = linalg.generic {{.*}} ins(%[[SUMSQ]] : tensor<4x1xf64>)
// CHECK: math.sqrt
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]} ins(%{{.*}}, %{{.*}}, %{{.*}}, %[[DEVIATION]] :
// CHECK: ^bb0(%[[DY:.*]]: f32, %[[X:.*]]: f32, %[[STEP:.*]]: f32, %[[DEV:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[FACTOR:.*]] = arith.constant 0.167595372 : f32
// CHECK: %[[T:.*]] = arith.mulf %[[FACTOR]], %[[DEV]]
// CHECK: math.roundeven
// CHECK: %[[XQ:.*]] = arith.mulf %{{.*}}, %[[STEP]]
// CHECK: %[[ERR:.*]] = arith.subf %[[XQ]], %[[X]]
// CHECK: %[[ABS:.*]] = math.absf %[[ERR]]
// CHECK: %[[KEEP:.*]] = arith.cmpf ole, %[[ABS]], %[[T]]
// CHECK: arith.select %[[KEEP]], %[[DY]]
func.func @trust(%dy: tensor<4x64xf32>, %x: tensor<4x64xf32>, %s: tensor<4x1xf32>) -> tensor<4x64xf32> {
  %dx = qat.fake_quant_grad %dy, %x, %s as <centered, 4 bits, rms_gaussian, per_row> with trust : tensor<4x64xf32>, tensor<4x1xf32>
  return %dx : tensor<4x64xf32>
}

// -----

// trust with `std` (qat.rms of x in the forward): no reduction of x, the
// deviation per group from the operand, then the same mask.
// CHECK-LABEL: func.func @trust_std
// CHECK-SAME: %[[STD:[^:]*]]: tensor<4x2xf32>)
// CHECK-NOT: reduction
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]} ins(%{{.*}}, %{{.*}}, %{{.*}}, %[[STD]] : tensor<4x2x32xf32>, tensor<4x2x32xf32>, tensor<4x2xf32>, tensor<4x2xf32>)
// CHECK: ^bb0(%{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32, %[[DEV:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[T:.*]] = arith.constant 0.167595372 : f32
// CHECK: %[[LIMIT:.*]] = arith.mulf %[[T]], %[[DEV]] : f32
// CHECK: arith.cmpf ole, %{{.*}}, %[[LIMIT]]
// CHECK-NOT: reduction
// CHECK: return
func.func @trust_std(%dy: tensor<4x64xf32>, %x: tensor<4x64xf32>, %s: tensor<4x2xf32>, %std: tensor<4x2xf32>) -> tensor<4x64xf32> {
  %dx = qat.fake_quant_grad %dy, %x, %s std %std as <centered, 4 bits, rms_gaussian, per_group<32>> with trust : tensor<4x64xf32>, tensor<4x2xf32>, tensor<4x2xf32>
  return %dx : tensor<4x64xf32>
}

// -----

// The forward's qat.rms feeds the backward: x is reduced once, and the
// threshold reads the deviation that qat.rms wrote.
// CHECK-LABEL: func.func @trust_std_from_rms
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK: %[[RMS:.*]] = linalg.generic
// CHECK: math.sqrt
// CHECK-NOT: reduction
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %{{.*}}, %[[RMS]] : {{.*}}, tensor<4x1xf32>)
// CHECK-NOT: reduction
// CHECK: return
func.func @trust_std_from_rms(%dy: tensor<4x64xbf16>, %x: tensor<4x64xbf16>, %s: tensor<4x1xf32>) -> tensor<4x64xbf16> {
  %std = qat.rms %x as <signed, 2 bits, rms_gaussian, per_row> : tensor<4x64xbf16> -> tensor<4x1xf32>
  %dx = qat.fake_quant_grad %dy, %x, %s std %std as <signed, 2 bits, rms_gaussian, per_row> with trust : tensor<4x64xbf16>, tensor<4x1xf32>, tensor<4x1xf32>
  return %dx : tensor<4x64xbf16>
}

// -----

// fourier with learned steps: dx = dy * [qn <= v <= qp] * (1 - S)/(1 + S),
// S = sqrt(2)*pi * sum_k a_k cos((2k+1)*pi*(v + roundeven(v))), and the LSQ
// step gradient as a per-group reduction (in f64) of
// dy * (inside ? roundeven(v) - v : clamp(v, qn, qp)) scaled by
// 1/sqrt(N * qp) = 1/sqrt(256) = 0.0625; inside is clamp(v) == v, and the
// clamp keeps NaN (a NaN in x gives a NaN step gradient, as in PyTorch).
// CHECK-LABEL: func.func @fourier_learned
// CHECK: %[[DX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK: ^bb0(%[[DY:.*]]: f32, %[[X:.*]]: f32, %[[STEP:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[V:.*]] = arith.divf %[[X]], %[[STEP]]
// CHECK: %[[R:.*]] = math.roundeven %[[V]]
// CHECK: %[[PHASE:.*]] = arith.addf %[[V]], %[[R]]
// CHECK: %[[PI:.*]] = arith.constant 3.14159274 : f32
// CHECK: %[[A0:.*]] = arith.mulf %[[PI]], %[[PHASE]]
// CHECK: math.cos %[[A0]]
// CHECK: arith.constant 1.500000e-01 : f32
// CHECK: %[[THREEPI:.*]] = arith.constant 9.42477798 : f32
// CHECK: %[[A1:.*]] = arith.mulf %[[THREEPI]], %[[PHASE]]
// CHECK: math.cos %[[A1]]
// CHECK: arith.constant -4.000000e-02 : f32
// CHECK: arith.addf
// CHECK: arith.constant 4.44288301 : f32
// CHECK: %[[S:.*]] = arith.mulf
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[NUM:.*]] = arith.subf %[[ONE]], %[[S]]
// CHECK: %[[SCALED:.*]] = arith.mulf %[[DY]], %[[NUM]]
// CHECK: %[[DEN:.*]] = arith.addf %[[ONE]], %[[S]]
// CHECK: %[[RATIO:.*]] = arith.divf %[[SCALED]], %[[DEN]]
// CHECK: arith.cmpf oge, %[[V]]
// CHECK: arith.cmpf ole, %[[V]]
// CHECK: %[[IN:.*]] = arith.andi
// CHECK: arith.select %[[IN]], %[[RATIO]]
// CHECK: %[[SUMS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: outs(%{{.*}} : tensor<4x2xf64>)
// CHECK: ^bb0(%[[GDY:.*]]: f32, %[[GX:.*]]: f32, %[[GSTEP:.*]]: f32, %[[ACC:.*]]: f64):
// CHECK: %[[GV:.*]] = arith.divf %[[GX]], %[[GSTEP]]
// CHECK: arith.maximumf %[[GV]]
// CHECK: %[[OUTSIDE:.*]] = arith.minimumf
// CHECK: %[[GIN:.*]] = arith.cmpf oeq, %[[OUTSIDE]], %[[GV]]
// CHECK: %[[GR:.*]] = math.roundeven %[[GV]]
// CHECK: %[[INSIDE:.*]] = arith.subf %[[GR]], %[[GV]]
// CHECK: %[[TERM:.*]] = arith.select %[[GIN]], %[[INSIDE]], %[[OUTSIDE]]
// CHECK: %[[PROD:.*]] = arith.mulf %[[GDY]], %[[TERM]] : f32
// CHECK: %[[WIDE:.*]] = arith.extf %[[PROD]] : f32 to f64
// CHECK: arith.addf %[[ACC]], %[[WIDE]] : f64
// CHECK: %[[DS:.*]] = linalg.generic {{.*}} ins(%[[SUMS]] : tensor<4x2xf64>)
// CHECK: arith.truncf %{{.*}} : f64 to f32
// CHECK: arith.constant 6.250000e-02 : f32
// CHECK: return %{{.*}}, %[[DS]]
func.func @fourier_learned(%dy: tensor<4x64xf32>, %x: tensor<4x64xf32>, %s: tensor<4x2xf32>) -> (tensor<4x64xf32>, tensor<4x2xf32>) {
  %dx, %ds = qat.fake_quant_grad %dy, %x, %s as <signed, 2 bits, learned, per_group<32>> with fourier<[0.15, -0.04]> : tensor<4x64xf32>, tensor<4x2xf32> -> tensor<4x2xf32>
  return %dx, %ds : tensor<4x64xf32>, tensor<4x2xf32>
}

// -----

// One signed bit: the range and the LSQ factor use qn = -1, qp = 1, and
// 1/sqrt(N * 1) = 1/sqrt(64) = 0.125. dx (ste) is a generic that yields dy
// (canonicalization folds it away).
// CHECK-LABEL: func.func @lsq_one_bit
// CHECK: %[[DX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK: ^bb0(%[[DY:.*]]: f32, %{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK: linalg.yield %[[DY]]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK: arith.constant -1.000000e+00 : f32
// CHECK: arith.constant 1.000000e+00 : f32
// CHECK: arith.constant 1.250000e-01 : f32
// CHECK: return %{{.*}}, %{{.*}} : tensor<1x64xf32>, tensor<1x1xf32>
func.func @lsq_one_bit(%dy: tensor<1x64xf32>, %x: tensor<1x64xf32>, %s: tensor<1x1xf32>) -> (tensor<1x64xf32>, tensor<1x1xf32>) {
  %dx, %ds = qat.fake_quant_grad %dy, %x, %s as <signed, 1 bits, learned, per_row> with ste : tensor<1x64xf32>, tensor<1x1xf32> -> tensor<1x1xf32>
  return %dx, %ds : tensor<1x64xf32>, tensor<1x1xf32>
}
