// RUN: qat-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(convert-qat-matmul-to-nvgpu,func.func(convert-qat-to-gpu))'
// RUN: not qat-opt %s --split-input-file --qat-to-nvptx=format=isa 2>&1 | FileCheck %s

// Static shapes whose size overflows int64, or that no GPU holds, are
// reported before any kernel is planned (the planners' index arithmetic
// would wrap: a segfault, a planner that never ends, a tile count of 0).

// CHECK: error: 'qat.hadamard' op operand #0 of type 'tensor<4611686018427387904x256xf32>' has more elements or bytes than int64 counts
func.func @elements_overflow(%x: tensor<4611686018427387904x256xf32>) -> tensor<4611686018427387904x256xf32> {
  // expected-error @+1 {{'qat.hadamard' op operand #0 of type 'tensor<4611686018427387904x256xf32>' has more elements or bytes than int64 counts; the GPU kernels take tensors of at most 1099511627776 bytes}}
  %y = qat.hadamard %x block 128 : tensor<4611686018427387904x256xf32>
  return %y : tensor<4611686018427387904x256xf32>
}

// -----

// CHECK: error: 'qat.scale' op operand #0 of type 'tensor<9223372036854775807x1xf32>' has more elements or bytes than int64 counts
func.func @bytes_overflow(%x: tensor<9223372036854775807x1xf32>) -> tensor<9223372036854775807x1xf32> {
  // expected-error @+1 {{has more elements or bytes than int64 counts}}
  %s = qat.scale %x as <centered, 4 bits, rms_gaussian, per_row>
      : tensor<9223372036854775807x1xf32> -> tensor<9223372036854775807x1xf32>
  return %s : tensor<9223372036854775807x1xf32>
}

// -----

// CHECK: error: 'qat.fake_quant' op operand #0 of type 'tensor<1048576x1048576xf32>' has 4398046511104 bytes; the GPU kernels take tensors of at most 1099511627776 bytes
func.func @more_than_a_gpu_holds(%x: tensor<1048576x1048576xf32>, %s: tensor<1048576x1xf32>) -> tensor<1048576x1048576xf32> {
  // expected-error @+1 {{has 4398046511104 bytes}}
  %y = qat.fake_quant %x, %s as <centered, 4 bits, rms_gaussian, per_row>
      with ste : tensor<1048576x1048576xf32>, tensor<1048576x1xf32>
  return %y : tensor<1048576x1048576xf32>
}

// -----

// CHECK: error: 'qat.matmul' op operand #0 of type 'tensor<4611686018427387904x64xi8>' has more elements or bytes than int64 counts
func.func @matmul_overflow(%a: tensor<4611686018427387904x64xi8>, %b: tensor<32x64xi8>,
    %sa: tensor<4611686018427387904x1xf32>, %sb: tensor<32x1xf32>) -> tensor<4611686018427387904x32xf32> {
  // expected-error @+1 {{'qat.matmul' op operand #0 of type 'tensor<4611686018427387904x64xi8>' has more elements or bytes than int64 counts}}
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 8 bits, absmax, per_row>, <signed, 8 bits, absmax, per_row>
      : tensor<4611686018427387904x64xi8>, tensor<32x64xi8>,
        tensor<4611686018427387904x1xf32>, tensor<32x1xf32>
      -> tensor<4611686018427387904x32xf32>
  return %y : tensor<4611686018427387904x32xf32>
}

// -----

// Within the size bound (2^40 bytes), but more rows than a 1-D grid has
// CTAs: 2^38 rows of one element, 128 rows per CTA.
// The pass alone refuses it; qat-to-nvptx sends it to the generic route.
// CHECK: remark: 274877906944 rows need 2147483648 CTAs, more than a 1-D grid launches (2147483647); left for convert-qat-to-linalg
func.func @too_many_ctas(%x: tensor<274877906944x1xf32>) -> tensor<274877906944x1xf32> {
  // expected-error @+1 {{'qat.scale' op 274877906944 rows need 2147483648 CTAs, more than a 1-D grid launches (2147483647)}}
  %s = qat.scale %x as <centered, 4 bits, rms_gaussian, per_row>
      : tensor<274877906944x1xf32> -> tensor<274877906944x1xf32>
  return %s : tensor<274877906944x1xf32>
}
