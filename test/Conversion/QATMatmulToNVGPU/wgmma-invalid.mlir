// RUN: qat-opt %s --convert-qat-matmul-to-nvgpu="strategy=wgmma chip=sm_90a" --split-input-file --verify-diagnostics

// Packed codes whose rows do not split into the unpacking kernel's 8-byte
// chunks cannot take the wgmma kernel (nor the mma-sync one: K = 40 is not a
// multiple of 32).

func.func @packed_rows_of_20_bytes(%a: tensor<64x20xi8>, %b: tensor<64x20xi8>,
    %sa: tensor<64x1xf32>, %sb: tensor<64x1xf32>) -> tensor<64x64xf32> {
  // expected-error @+1 {{the wgmma kernel multiplies s8 codes and unpacks packed codes from rows of a multiple of 8 bytes, got 20; the mma-sync kernel takes these (strategy=auto or mma-sync)}}
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 4 bits, absmax, per_row>,
         <signed, 4 bits, absmax, per_row> packed
      : tensor<64x20xi8>, tensor<64x20xi8>, tensor<64x1xf32>,
        tensor<64x1xf32> -> tensor<64x64xf32>
  return %y : tensor<64x64xf32>
}
