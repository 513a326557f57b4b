// RUN: not qat-opt %s --convert-qat-matmul-to-nvgpu="stages=4" 2>&1 | FileCheck %s --check-prefix=STAGES
// RUN: not qat-opt %s --convert-qat-matmul-to-nvgpu="strategy=tcgen05" 2>&1 | FileCheck %s --check-prefix=STRATEGY
// RUN: not qat-opt %s --convert-qat-matmul-to-nvgpu="chip=sm_999" 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not qat-opt %s --convert-qat-matmul-to-nvgpu="chip=gfx90a" 2>&1 | FileCheck %s --check-prefix=CHIP-NAME
// RUN: not qat-opt %s --convert-qat-matmul-to-nvgpu="strategy=mma-sync stages=1" 2>&1 | FileCheck %s --check-prefix=STAGES-ONE
// RUN: not qat-opt %s --pass-pipeline="builtin.module(convert-qat-matmul-to-nvgpu{stages=9})" 2>&1 | FileCheck %s --check-prefix=STAGES-NINE
// RUN: qat-opt %s --convert-qat-matmul-to-nvgpu="strategy=mma-sync stages=2" | FileCheck %s

// Pass options: the mma-sync pipeline depth is bounded by the 48 KiB of
// static shared memory (wgmma.mlir tests the wgmma strategy's).

// STAGES: error: 'qat.matmul' op the mma-sync kernel takes 2 to 3 pipeline stages (16 KiB of static shared memory each, at most 48 KiB), got 4
// STRATEGY: for the --strategy option: Cannot find option named 'tcgen05'!
// CHIP: convert-qat-matmul-to-nvgpu: chip=sm_999 is not a CUDA architecture (sm_<N> up to sm_121, optionally with an 'a' or 'f' suffix)
// CHIP-NAME: convert-qat-matmul-to-nvgpu: chip=gfx90a is not a CUDA architecture
// STAGES-ONE: convert-qat-matmul-to-nvgpu: stages=1 must be 0 (the strategy's default) or 2 to 3
// STAGES-NINE: convert-qat-matmul-to-nvgpu: stages=9 must be 0 (the strategy's default) or 2 to 4

// Two stages: 32 KiB, one group in flight while a tile is multiplied.
// CHECK: memref.global "private" @qat_matmul_smem : memref<32768xi8, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
func.func @two_stages(%a: tensor<128x64xi8>, %b: tensor<128x64xi8>,
    %s: tensor<1x1xf32>) -> tensor<128x128xf32> {
  %y = qat.matmul %a, %b, %s, %s
      as <signed, 8 bits, absmax, per_tensor>,
         <signed, 8 bits, absmax, per_tensor>
      : tensor<128x64xi8>, tensor<128x64xi8>, tensor<1x1xf32>,
        tensor<1x1xf32> -> tensor<128x128xf32>
  return %y : tensor<128x128xf32>
}
