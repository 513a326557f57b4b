// RUN: qat-opt %s --convert-qat-matmul-to-nvgpu --split-input-file --verify-diagnostics

// What the mma-sync kernel does not handle is reported, naming the shape and
// the constraint; nothing is rewritten.

func.func @k_not_multiple_of_16(%a: tensor<64x40xi8>, %b: tensor<64x40xi8>,
    %sa: tensor<1x1xf32>, %sb: tensor<1x1xf32>) -> tensor<64x64xf32> {
  // expected-error @+1 {{contraction size K = 40 gives rows of 40 bytes; the mma-sync kernel copies rows in 16-byte chunks and needs K to be a multiple of 16}}
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 8 bits, absmax, per_tensor>,
         <signed, 8 bits, absmax, per_tensor>
      : tensor<64x40xi8>, tensor<64x40xi8>, tensor<1x1xf32>,
        tensor<1x1xf32> -> tensor<64x64xf32>
  return %y : tensor<64x64xf32>
}

// -----

func.func @packed_k_not_multiple_of_32(%a: tensor<64x24xi8>,
    %b: tensor<64x24xi8>, %sa: tensor<64x1xf32>, %sb: tensor<64x1xf32>)
    -> tensor<64x64xbf16> {
  // expected-error @+1 {{contraction size K = 48 gives rows of 24 bytes; the mma-sync kernel copies rows in 16-byte chunks and needs K to be a multiple of 32 (packed 4-bit codes)}}
  %y = qat.matmul %a, %b, %sa, %sb
      as <centered, 4 bits, rms_gaussian, per_row>,
         <centered, 4 bits, rms_gaussian, per_row> packed
      : tensor<64x24xi8>, tensor<64x24xi8>, tensor<64x1xf32>,
        tensor<64x1xf32> -> tensor<64x64xbf16>
  return %y : tensor<64x64xbf16>
}

// -----

func.func @wide_codes(%a: tensor<64x64xi16>, %b: tensor<64x64xi8>,
    %sa: tensor<1x1xf32>, %sb: tensor<1x1xf32>) -> tensor<64x64xf32> {
  // expected-error @+1 {{the mma-sync kernel reads codes stored as i8 (s8 tensor cores, or two s4 codes per byte when packed), got 'i16' lhs codes}}
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 8 bits, absmax, per_tensor>,
         <signed, 8 bits, absmax, per_tensor>
      : tensor<64x64xi16>, tensor<64x64xi8>, tensor<1x1xf32>,
        tensor<1x1xf32> -> tensor<64x64xf32>
  return %y : tensor<64x64xf32>
}

// -----

func.func @narrow_codes(%a: tensor<64x64xi8>, %b: tensor<64x64xi4>,
    %sa: tensor<1x1xf32>, %sb: tensor<1x1xf32>) -> tensor<64x64xf32> {
  // expected-error @+1 {{got 'i4' rhs codes}}
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 4 bits, absmax, per_tensor>,
         <signed, 4 bits, absmax, per_tensor>
      : tensor<64x64xi8>, tensor<64x64xi4>, tensor<1x1xf32>,
        tensor<1x1xf32> -> tensor<64x64xf32>
  return %y : tensor<64x64xf32>
}

// -----

func.func @fp8_steps(%a: tensor<64x64xi8>, %b: tensor<64x64xi8>,
    %sa: tensor<1x1xf8E4M3FN>, %sb: tensor<1x1xf32>) -> tensor<64x64xf32> {
  // expected-error @+1 {{the mma-sync kernel reads f16, bf16, f32 or f64 steps, got 'f8E4M3FN' lhs steps}}
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 8 bits, absmax, per_tensor>,
         <signed, 8 bits, absmax, per_tensor>
      : tensor<64x64xi8>, tensor<64x64xi8>, tensor<1x1xf8E4M3FN>,
        tensor<1x1xf32> -> tensor<64x64xf32>
  return %y : tensor<64x64xf32>
}

// -----

// Every unsupported op is reported, not only the first one.

func.func @two_errors(%a: tensor<64x40xi8>, %b: tensor<64x40xi8>,
    %s: tensor<1x1xf32>) -> (tensor<64x64xf32>, tensor<64x64xf32>) {
  // expected-error @+1 {{contraction size K = 40}}
  %y = qat.matmul %a, %b, %s, %s
      as <signed, 8 bits, absmax, per_tensor>,
         <signed, 8 bits, absmax, per_tensor>
      : tensor<64x40xi8>, tensor<64x40xi8>, tensor<1x1xf32>,
        tensor<1x1xf32> -> tensor<64x64xf32>
  // expected-error @+1 {{contraction size K = 40}}
  %z = qat.matmul %b, %a, %s, %s
      as <signed, 8 bits, absmax, per_tensor>,
         <signed, 8 bits, absmax, per_tensor>
      : tensor<64x40xi8>, tensor<64x40xi8>, tensor<1x1xf32>,
        tensor<1x1xf32> -> tensor<64x64xf32>
  return %y, %z : tensor<64x64xf32>, tensor<64x64xf32>
}
