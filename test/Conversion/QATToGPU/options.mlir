// Options of convert-qat-to-gpu that no input makes valid are reported when
// the pass is parsed, before any IR is read, with the check qat-to-nvptx
// runs on its elements-per-thread (verifyConvertQATToGPUOptions): the
// option, its value and the accepted range; exit code 1.

// RUN: not qat-opt %s --convert-qat-to-gpu=elements-per-thread=0 2>&1 | FileCheck %s --check-prefix=ZERO
// RUN: not qat-opt %s --pass-pipeline='builtin.module(func.func(convert-qat-to-gpu{elements-per-thread=0}))' 2>&1 | FileCheck %s --check-prefix=ZERO
// ZERO: convert-qat-to-gpu: elements-per-thread=0 is out of range; expected 1 to 32

// RUN: not qat-opt %s --convert-qat-to-gpu=elements-per-thread=33 2>&1 | FileCheck %s --check-prefix=LARGE
// LARGE: convert-qat-to-gpu: elements-per-thread=33 is out of range; expected 1 to 32

// RUN: not qat-opt %s --convert-qat-to-gpu=elements-per-thread=4294967295 2>&1 | FileCheck %s --check-prefix=HUGE
// HUGE: convert-qat-to-gpu: elements-per-thread=4294967295 is out of range; expected 1 to 32

// The bounds themselves are accepted.
// RUN: qat-opt %s --convert-qat-to-gpu=elements-per-thread=1 | FileCheck %s --check-prefix=OK
// RUN: qat-opt %s --convert-qat-to-gpu=elements-per-thread=32 | FileCheck %s --check-prefix=OK
// OK: gpu.launch

func.func @f(%x: tensor<4x128xf32>) -> tensor<4x128xf32> {
  %y = qat.hadamard %x block 128 : tensor<4x128xf32>
  return %y : tensor<4x128xf32>
}
