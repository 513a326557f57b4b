// RUN: qat-opt %s --qat-to-nvptx="ptxas-options=--warn-on-spills" | FileCheck %s
// RUN: not qat-opt %s --qat-to-nvptx="ptxas-options=--no-such-ptxas-flag" 2>&1 \
// RUN: | FileCheck %s --check-prefix=PTXAS
// RUN: not qat-opt %s --qat-to-nvptx="hadamard-exchange=maybe" 2>&1 \
// RUN: | FileCheck %s --check-prefix=BOOL
// RUN: qat-opt %s --qat-to-nvptx="format=isa" | FileCheck %s --check-prefix=PDL
// RUN: qat-opt %s --qat-to-nvptx="format=isa dependent-launch=0" \
// RUN: | FileCheck %s --check-prefix=NOPDL
// RUN: qat-opt %s --qat-to-nvptx="chip=sm_80 format=isa" \
// RUN: | FileCheck %s --check-prefix=NOPDL

// ptxas-options reach ptxas: a valid flag assembles the kernel, an unknown
// one stops the pipeline with ptxas's own message. A malformed option value
// names the option. On sm_90 (the default chip) kernels wait for their
// predecessor at entry and the module carries the runtime's marker
// (dependent launch); dependent-launch=0 or an older chip leaves them out.

// CHECK: gpu.binary @f_kernel
// PTXAS: error: `ptxas` invocation failed
// PTXAS: Unknown option '-no-such-ptxas-flag'
// PDL: gpu.binary @f_kernel
// PDL-SAME: .visible .global .align 1 .u8 qat_griddepcontrol = 1;
// PDL-SAME: .entry f_kernel
// PDL-NOT: ld.global
// PDL-SAME: griddepcontrol.wait;\0A\09griddepcontrol.launch_dependents;
// NOPDL-NOT: griddepcontrol
// BOOL: for the --hadamard-exchange option: 'maybe' is invalid value for boolean argument
func.func @f(%x: tensor<4x256xbf16>) -> tensor<4x256xbf16> {
  %y = qat.hadamard %x block 128 : tensor<4x256xbf16>
  return %y : tensor<4x256xbf16>
}
