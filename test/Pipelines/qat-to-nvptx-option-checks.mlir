// Options of qat-to-nvptx are checked before any pass is built: a wrong
// value is a diagnostic naming the option, the value and what is accepted,
// with exit code 1; never an LLVM fatal error (which aborted qat-opt, qat-run
// and the Python interpreter), never a warning and a success.

// RUN: not qat-opt %s --qat-to-nvptx=chip=sm_999 2>&1 | FileCheck %s --check-prefix=CHIP --implicit-check-not='LLVM ERROR'
// CHIP: qat-to-nvptx: unknown chip=sm_999; the NVPTX backend knows {{.*}}sm_80, {{.*}}sm_90, sm_90a

// RUN: not qat-opt %s --qat-to-nvptx='chip=sm_90 features=+ptx60' 2>&1 | FileCheck %s --check-prefix=OLD-PTX --implicit-check-not='LLVM ERROR'
// OLD-PTX: qat-to-nvptx: features=+ptx60 asks for PTX 6.0 (+ptx60), but chip=sm_90 needs PTX 7.8 or later: use +ptx78 or newer, or no +ptx feature

// The default features (+ptx80) with a newer chip.
// RUN: not qat-opt %s --qat-to-nvptx=chip=sm_100a 2>&1 | FileCheck %s --check-prefix=DEFAULT-PTX --implicit-check-not='LLVM ERROR'
// DEFAULT-PTX: chip=sm_100a needs PTX 8.6 or later

// RUN: not qat-opt %s --qat-to-nvptx=features=+ptx999 2>&1 | FileCheck %s --check-prefix=FEATURE
// FEATURE: qat-to-nvptx: unknown feature '+ptx999' in features=+ptx999; expected comma-separated +name or -name of NVPTX features, e.g. +ptx{{[0-9]+}} (PTX versions: ptx32,

// RUN: not qat-opt %s --qat-to-nvptx=format=foo 2>&1 | FileCheck %s --check-prefix=FORMAT
// FORMAT: qat-to-nvptx: unknown format=foo; expected bin (cubin, assembled by ptxas), isa (PTX) or fatbin

// RUN: not qat-opt %s --qat-to-nvptx=opt-level=9 2>&1 | FileCheck %s --check-prefix=OPT
// OPT: qat-to-nvptx: opt-level=9 is not an optimization level; expected 0, 1, 2 or 3

// RUN: not qat-opt %s --qat-to-nvptx=elements-per-thread=0 2>&1 | FileCheck %s --check-prefix=EPT
// RUN: not qat-opt %s --qat-to-nvptx=elements-per-thread=100 2>&1 | FileCheck %s --check-prefix=EPT
// EPT: qat-to-nvptx: elements-per-thread={{0|100}} is out of range; expected 1 to 32

// The options qat-to-nvptx passes on are checked up front with the checks of
// their passes (convert-qat-to-gpu, qat-gpu-tile-parallel-loops). Tile
// sizes whose product overflows int64 passed before.
// RUN: not qat-opt %s --qat-to-nvptx=linalg-tile-sizes=4294967296,4294967296 2>&1 | FileCheck %s --check-prefix=TILES
// RUN: not qat-opt %s --qat-to-nvptx=linalg-tile-sizes=64,64 2>&1 | FileCheck %s --check-prefix=TILES
// TILES: qat-to-nvptx: linalg-tile-sizes={{4294967296,4294967296|64,64}} does not describe a thread block: expected 1 to 3 positive sizes whose product is at most 1024

// A toolkit without libdevice: gpu-module-to-binary printed an error and
// went on (exit 0, with ptxas from PATH).
// RUN: not qat-opt %s --qat-to-nvptx=toolkit=%t.nonexistent 2>&1 | FileCheck %s --check-prefix=TOOLKIT -DDIR=%t.nonexistent
// TOOLKIT: qat-to-nvptx: toolkit=[[DIR]] is not a CUDA toolkit: [[DIR]]/nvvm/libdevice/libdevice.10.bc does not exist; expected the root of a CUDA toolkit (toolkit=/usr/local/cuda)
// RUN: rm -rf %t.empty && mkdir -p %t.empty/bin
// RUN: not qat-opt %s --qat-to-nvptx=toolkit=%t.empty 2>&1 | FileCheck %s --check-prefix=TOOLKIT -DDIR=%t.empty
// An empty toolkit is upstream's lookup (CUDA_ROOT first), checked alike.
// RUN: env CUDA_ROOT=%t.empty not qat-opt %s --qat-to-nvptx=toolkit= 2>&1 | FileCheck %s --check-prefix=FOUND -DDIR=%t.empty
// FOUND: qat-to-nvptx: toolkit= (found: [[DIR]]) is not a CUDA toolkit

// The same through --pass-pipeline.
// RUN: not qat-opt %s --pass-pipeline='builtin.module(qat-to-nvptx{chip=foo})' 2>&1 | FileCheck %s --check-prefix=NESTED --implicit-check-not='LLVM ERROR'
// NESTED: unknown chip=foo

// And valid options still compile.
// RUN: qat-opt %s --qat-to-nvptx='chip=sm_80 features=+ptx70 format=isa' | FileCheck %s --check-prefix=OK
// OK: gpu.binary @{{.*}} [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx70">

func.func @f(%x: tensor<4x128xf32>) -> tensor<4x128xf32> {
  %y = qat.hadamard %x block 128 : tensor<4x128xf32>
  return %y : tensor<4x128xf32>
}
