// RUN: qat-opt %s --convert-qat-matmul-to-nvgpu="strategy=wgmma chip=sm_90a" --split-input-file --verify-diagnostics
// RUN: not qat-opt %s --convert-qat-matmul-to-nvgpu="strategy=wgmma chip=sm_90a int4-mma=native" --split-input-file 2>&1 | FileCheck %s --check-prefix=NATIVE
// RUN: not qat-opt %s --convert-qat-matmul-to-nvgpu="strategy=wgmma chip=sm_90a stages=4" --split-input-file 2>&1 | FileCheck %s --check-prefix=STAGES

// What the wgmma kernel cannot take from packed 4-bit codes, each named:
// rows that TMA cannot load (K = 40: 20 bytes, not a multiple of 16), a K
// whose products overflow the int32 sum of codes unpacked to 16 times their
// value, native 4-bit products (Hopper has none), and more stages than
// shared memory holds next to the staging slots of the packed rows.

// NATIVE: error: 'qat.matmul' op the wgmma kernel multiplies packed 4-bit codes as s8, not natively (int4-mma=native needs strategy=mma-sync)
func.func @packed_rows_of_20_bytes(%a: tensor<64x20xi8>, %b: tensor<64x20xi8>,
    %sa: tensor<64x1xf32>, %sb: tensor<64x1xf32>) -> tensor<64x64xf32> {
  // expected-error @+1 {{contraction size K = 40 gives rows of 20 bytes; the wgmma kernel loads rows with TMA, which needs row strides of a multiple of 16 bytes}}
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 4 bits, absmax, per_row>,
         <signed, 4 bits, absmax, per_row> packed
      : tensor<64x20xi8>, tensor<64x20xi8>, tensor<64x1xf32>,
        tensor<64x1xf32> -> tensor<64x64xf32>
  return %y : tensor<64x64xf32>
}

// -----

func.func @packed_k_too_large(%a: tensor<64x65536xi8>, %b: tensor<64x65536xi8>,
    %sa: tensor<64x1xf32>, %sb: tensor<64x1xf32>) -> tensor<64x64xf32> {
  // expected-error @+1 {{the wgmma kernel multiplies packed 4-bit codes as s8, exact up to K = 130944, got K = 131072; use strategy=mma-sync int4-mma=native}}
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 4 bits, absmax, per_row>,
         <signed, 4 bits, absmax, per_row> packed
      : tensor<64x65536xi8>, tensor<64x65536xi8>, tensor<64x1xf32>,
        tensor<64x1xf32> -> tensor<64x64xf32>
  return %y : tensor<64x64xf32>
}

// -----

// STAGES: error: 'qat.matmul' op the wgmma kernel takes 2 to 3 pipeline stages (48 KiB of shared memory each, besides 2 staging slots of 24 KiB for packed codes), got 4
func.func @packed_wide_tiles(%a: tensor<4096x128xi8>, %b: tensor<4096x128xi8>,
    %sa: tensor<4096x1xf32>, %sb: tensor<4096x1xf32>) -> tensor<4096x4096xbf16> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <centered, 4 bits, rms_gaussian, per_row>,
         <centered, 4 bits, rms_gaussian, per_row> packed
      : tensor<4096x128xi8>, tensor<4096x128xi8>, tensor<4096x1xf32>,
        tensor<4096x1xf32> -> tensor<4096x4096xbf16>
  return %y : tensor<4096x4096xbf16>
}
