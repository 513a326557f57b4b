// RUN: qat-opt %s --qat-to-nvptx="ptxas-options=--warn-on-spills" | FileCheck %s
// RUN: not qat-opt %s --qat-to-nvptx="ptxas-options=--no-such-ptxas-flag" 2>&1 \
// RUN: | FileCheck %s --check-prefix=PTXAS
// RUN: not qat-opt %s --qat-to-nvptx="tensor-core-hadamard=maybe" 2>&1 \
// RUN: | FileCheck %s --check-prefix=BOOL

// ptxas-options reach ptxas: a valid flag assembles the kernel, an unknown
// one stops the pipeline with ptxas's own message. A malformed option value
// names the option.

// CHECK: gpu.binary @f_kernel
// PTXAS: error: `ptxas` invocation failed
// PTXAS: Unknown option '-no-such-ptxas-flag'
// BOOL: for the --tensor-core-hadamard option: 'maybe' is invalid value for boolean argument
func.func @f(%x: tensor<4x256xbf16>) -> tensor<4x256xbf16> {
  %y = qat.hadamard %x block 128 : tensor<4x256xbf16>
  return %y : tensor<4x256xbf16>
}
