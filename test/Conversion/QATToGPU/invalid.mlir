// RUN: qat-opt %s --convert-qat-to-gpu --split-input-file --verify-diagnostics

// What the row kernels cannot compute is reported on the op, and the pass
// fails before changing anything.

// (A row that nothing reduces is split over CTAs, but not inside a Hadamard
// block.)
func.func @row_too_long(%x: tensor<2x65536xf32>) -> tensor<2x65536xf32> {
  // expected-error @+1 {{'qat.hadamard' op rows of 65536 elements are too long for the fused GPU row kernels: with 1024 threads per row each thread would hold 64 elements of every row tensor in registers, at most 32 fit (rows of at most 32768 elements)}}
  %y = qat.hadamard %x block 65536 : tensor<2x65536xf32>
  return %y : tensor<2x65536xf32>
}

// -----

func.func @hadamard_too_wide(%x: tensor<4x16384xf32>) -> tensor<4x16384xf32> {
  // expected-error @+1 {{'qat.hadamard' op the fused GPU row kernel would need 65536 bytes of shared memory (Hadamard stages across warps and reductions over rows of 16384 elements), more than the 49152 a kernel may use statically}}
  %y = qat.hadamard %x block 16384 : tensor<4x16384xf32>
  return %y : tensor<4x16384xf32>
}

// -----

func.func @f64(%x: tensor<4x64xf64>) -> tensor<4x64xf64> {
  // expected-error @+1 {{'qat.hadamard' op element type 'f64' is not supported by the GPU row kernels (f32, bf16 or f16)}}
  %y = qat.hadamard %x block 64 : tensor<4x64xf64>
  return %y : tensor<4x64xf64>
}

// -----

func.func @sub_byte_codes(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>) -> tensor<4x64xi4> {
  // expected-error @+1 {{'qat.quantize' op code type 'i4' is not byte-addressable on the GPU; store codes as i8 (or packed)}}
  %q = qat.quantize %x, %s as <signed, 4 bits, absmax, per_row>
      : tensor<4x64xf32>, tensor<4x1xf32> -> tensor<4x64xi4>
  return %q : tensor<4x64xi4>
}

// -----

func.func @packed_odd_groups(%x: tensor<4x6xf32>, %s: tensor<4x2xf32>) -> tensor<4x3xi8> {
  // expected-error @+1 {{'qat.quantize' op packed codes need quantization groups of an even length, so that a byte never holds codes of two groups}}
  %q = qat.quantize %x, %s as <signed, 4 bits, absmax, per_group<3>> packed
      : tensor<4x6xf32>, tensor<4x2xf32> -> tensor<4x3xi8>
  return %q : tensor<4x3xi8>
}

// -----

// Every failing op is reported, not only the first one.
func.func @two_errors(%x: tensor<2x65536xf32>, %y: tensor<4x64xf64>)
    -> (tensor<2x65536xf32>, tensor<4x64xf64>) {
  // expected-error @+1 {{rows of 65536 elements are too long}}
  %a = qat.hadamard %x block 65536 : tensor<2x65536xf32>
  // expected-error @+1 {{element type 'f64' is not supported}}
  %b = qat.hadamard %y block 64 : tensor<4x64xf64>
  return %a, %b : tensor<2x65536xf32>, tensor<4x64xf64>
}
