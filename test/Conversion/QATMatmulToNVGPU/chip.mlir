// RUN: qat-opt %s --convert-qat-matmul-to-nvgpu=chip=sm_75 --verify-diagnostics
// RUN: not qat-opt %s --qat-to-nvptx='chip=sm_75 features=+ptx63 format=isa' 2>&1 | FileCheck %s --implicit-check-not='LLVM ERROR'

// The kernel's integer mma.sync (m16n8k32) is sm_80 and newer: an older chip
// is reported on the op (the NVPTX backend would end in a fatal "Cannot
// select").

// CHECK: error: 'qat.matmul' op the tensor-core kernel needs integer mma.sync (sm_80 or newer), got chip=sm_75
func.func @turing(%a: tensor<16x32xi8>, %b: tensor<16x32xi8>,
    %sa: tensor<16x1xf32>, %sb: tensor<16x1xf32>) -> tensor<16x16xf32> {
  // expected-error @+1 {{'qat.matmul' op the tensor-core kernel needs integer mma.sync (sm_80 or newer), got chip=sm_75}}
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 8 bits, absmax, per_row>, <signed, 8 bits, absmax, per_row>
      : tensor<16x32xi8>, tensor<16x32xi8>, tensor<16x1xf32>, tensor<16x1xf32>
      -> tensor<16x16xf32>
  return %y : tensor<16x16xf32>
}
