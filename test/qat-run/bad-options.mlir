// Options and files qat-run cannot use are errors that name them, with exit
// code 1; none ends in an LLVM fatal error or passes with a warning.

// RUN: rm -rf %t && mkdir -p %t

// A CPU LLVM does not know (LLVM warns and compiles for another).
// RUN: not qat-run %s --emit-object=%t/o.o --object-cpu=foo 2>&1 | FileCheck %s --check-prefix=CPU --implicit-check-not='LLVM ERROR'
// CPU: qat-run: error: --object-cpu=foo is not a CPU of x86_64-{{.*}}; expected generic, native or one of: {{.*}}skylake

// Files that cannot be written (here: a full device).
// RUN: not qat-run %s --emit-object=/dev/full 2>&1 | FileCheck %s --check-prefix=FULL --implicit-check-not='LLVM ERROR'
// RUN: not qat-run %s --emit-lowered=/dev/full 2>&1 | FileCheck %s --check-prefix=FULL --implicit-check-not='LLVM ERROR'
// RUN: not qat-run %s --emit-header=/dev/full --emit-object=%t/h.o 2>&1 | FileCheck %s --check-prefix=FULL --implicit-check-not='LLVM ERROR'
// RUN: not qat-run %s --arg=iota --out=/dev/full 2>&1 | FileCheck %s --check-prefix=FULL --implicit-check-not='LLVM ERROR'
// FULL: qat-run: error: {{.*}}cannot write '/dev/full': No space left on device
// RUN: test -c /dev/full

// A --shared-libs entry that is not a library (the JIT only warned).
// RUN: not qat-run %s --arg=iota --shared-libs=%s 2>&1 | FileCheck %s --check-prefix=LIB
// LIB: qat-run: error: --shared-libs: cannot load '{{.*}}bad-options.mlir' as a shared library: {{.*}}

// GPU options are checked before the pipeline runs, whatever the module.
// RUN: not qat-run %s --target=cuda --gpu-chip=sm_999 --emit-lowered=%t/x.mlir 2>&1 | FileCheck %s --check-prefix=CHIP --implicit-check-not='LLVM ERROR'
// CHIP: qat-run: error: qat-to-nvptx: unknown chip=sm_999; the NVPTX backend knows
// RUN: not qat-run %s --target=cuda --pipeline-options=format=foo --emit-lowered=%t/x.mlir 2>&1 | FileCheck %s --check-prefix=FORMAT
// FORMAT: qat-run: error: qat-to-nvptx: unknown format=foo; expected bin
// RUN: not qat-run %s --target=cuda --gpu-features=+ptx60 --emit-lowered=%t/x.mlir 2>&1 | FileCheck %s --check-prefix=PTX --implicit-check-not='LLVM ERROR'
// PTX: qat-run: error: qat-to-nvptx: features=+ptx60 asks for PTX 6.0 (+ptx60), but chip=sm_90 needs PTX 7.8 or later

func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
