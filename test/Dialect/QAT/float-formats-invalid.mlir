// RUN: qat-opt %s --split-input-file --verify-diagnostics

// What the float element grids reject, each with a diagnostic naming it.

func.func @e4m3_wrong_bits(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{the e4m3 grid has 8-bit codes, got 4 bits}}
  %0 = qat.scale %x as <e4m3, 4 bits, absmax, per_row> : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @e2m1_wrong_bits(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{the e2m1 grid has 4-bit codes, got 8 bits}}
  %0 = qat.scale %x as <e2m1, 8 bits, absmax, per_row> : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @mx_integer_grid(%x: tensor<4x64xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{mx steps require a float element grid (e4m3, e5m2 or e2m1), got signed}}
  %0 = qat.scale %x as <signed, 8 bits, mx, per_group<32>> : tensor<4x64xf32> -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

func.func @learned_float(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{learned steps (LSQ) require the signed grid, got e5m2}}
  %0 = qat.fake_quant %x, %s as <e5m2, 8 bits, learned, per_row> with ste : tensor<4x8xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @trust_default_float(%dy: tensor<4x8xf32>, %x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{the trust estimator needs an explicit threshold (trust<T>) on the e4m3 grid}}
  %0 = qat.fake_quant_grad %dy, %x, %s as <e4m3, 8 bits, absmax, per_row> with trust : tensor<4x8xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @fourier_float(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{the fourier estimator is defined on the signed grid, got e2m1}}
  %0 = qat.fake_quant %x, %s as <e2m1, 4 bits, absmax, per_row> with fourier : tensor<4x8xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @matmul_float_by_integer_codes(%a: tensor<4x16xi8>, %sa: tensor<4x1xf32>, %b: tensor<8x16xi8>, %sb: tensor<8x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{multiplies integer codes by integer codes or fp8 codes by fp8 codes, got e4m3 lhs and signed rhs codes}}
  %0 = qat.matmul %a, %b, %sa, %sb as <e4m3, 8 bits, absmax, per_row>, <signed, 8 bits, absmax, per_row> : tensor<4x16xi8>, tensor<8x16xi8>, tensor<4x1xf32>, tensor<8x1xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @matmul_fp4_codes(%a: tensor<4x16xi8>, %sa: tensor<4x1xf32>, %b: tensor<8x16xi8>, %sb: tensor<8x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{multiplies integer or fp8 (e4m3, e5m2) codes; the rhs's e2m1 codes have no tensor-core product here (dequantize them and use a float contraction)}}
  %0 = qat.matmul %a, %b, %sa, %sb as <e4m3, 8 bits, absmax, per_row>, <e2m1, 4 bits, absmax, per_row> : tensor<4x16xi8>, tensor<8x16xi8>, tensor<4x1xf32>, tensor<8x1xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @matmul_fp8_packed(%a: tensor<4x8xi8>, %sa: tensor<4x1xf32>, %b: tensor<8x8xi8>, %sb: tensor<8x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{packed}}
  %0 = qat.matmul %a, %b, %sa, %sb as <e4m3, 8 bits, absmax, per_row>, <e5m2, 8 bits, absmax, per_row> packed : tensor<4x8xi8>, tensor<8x8xi8>, tensor<4x1xf32>, tensor<8x1xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @matmul_fp8_per_group(%a: tensor<4x64xi8>, %sa: tensor<4x2xf32>, %b: tensor<8x64xi8>, %sb: tensor<8x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{takes per_tensor or per_row scales, got per_group for the lhs}}
  %0 = qat.matmul %a, %b, %sa, %sb as <e4m3, 8 bits, mx, per_group<32>>, <e4m3, 8 bits, absmax, per_row> : tensor<4x64xi8>, tensor<8x64xi8>, tensor<4x2xf32>, tensor<8x1xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @unknown_grid(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  // expected-error @+1 {{expected a quantization grid (centered, signed, e4m3, e5m2, e2m1), got 'e3m4'}}
  %0 = qat.scale %x as <e3m4, 8 bits, absmax, per_row> : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @nvfp4_e4m3(%x: tensor<4x64xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{nvfp4 steps require the e2m1 grid, got e4m3}}
  %0 = qat.scale %x as <e4m3, 8 bits, nvfp4, per_group<16>> : tensor<4x64xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}
