// RUN: qat-opt %s --pass-pipeline="builtin.module(convert-qat-matmul-to-nvgpu,gpu-kernel-outlining,nvvm-attach-target{chip=sm_90 features=+ptx80},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts),gpu-module-to-binary{format=isa})" \
// RUN:   | FileCheck %s --check-prefix=PTX
// RUN: qat-opt %s --pass-pipeline="builtin.module(convert-qat-matmul-to-nvgpu{chip=sm_80},gpu-kernel-outlining,nvvm-attach-target{chip=sm_80 features=+ptx80},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts),gpu-module-to-binary{format=isa})" \
// RUN:   | FileCheck %s --check-prefix=PTX80
// RUN: qat-opt %s --pass-pipeline="builtin.module(convert-qat-matmul-to-nvgpu{chip=sm_80},gpu-kernel-outlining,nvvm-attach-target{chip=sm_80 features=+ptx80},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts),gpu-module-to-binary{format=bin toolkit=/usr/local/cuda})" \
// RUN:   | FileCheck %s --check-prefix=BIN80
// RUN: qat-opt %s --pass-pipeline="builtin.module(convert-qat-matmul-to-nvgpu,gpu-kernel-outlining,nvvm-attach-target{chip=sm_90 features=+ptx80},gpu.module(convert-scf-to-cf,convert-nvgpu-to-nvvm,convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts),gpu-module-to-binary{format=bin toolkit=/usr/local/cuda})" \
// RUN:   | FileCheck %s --check-prefix=BIN90
// RUN: qat-opt %s --convert-qat-matmul-to-nvgpu --qat-to-nvptx="format=isa" \
// RUN:   | FileCheck %s --check-prefix=PIPE

// The kernels compile to PTX with integer tensor-core instructions, and
// ptxas assembles them for sm_80 and sm_90. Packed 4-bit codes run on s8
// tensor cores unless the chip has 4-bit ones (sm_80 here). The last run goes
// through the whole qat-to-nvptx pipeline (bufferization, device buffers,
// host code), which names no chip to the matmul pass.

// PTX: gpu.binary @qat_matmul_200x136x256_signed_centered_s8_bf16
// PTX-SAME: .entry qat_matmul_mma_sync
// PTX-SAME: .minnctapersm 2
// PTX-SAME: .shared .align 128 .b8 qat_matmul_smem[49152];
// PTX-SAME: cp.async.cg.shared.global [%rd{{[0-9]+}}], [%rd{{[0-9]+}}], 16, %r{{[0-9]+}};
// PTX-SAME: cp.async.commit_group;
// PTX-SAME: cp.async.wait_group
// PTX-SAME: bar.sync
// PTX-SAME: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX-SAME: mma.sync.aligned.m16n8k32.row.col.satfinite.s32.s8.s8.s32
// PTX-SAME: dp4a.s32.s32
// PTX-NOT: .local
// PTX: gpu.binary @qat_matmul_256x128x1024_centered_centered_s4_f32
// PTX-SAME: .minnctapersm 2
// PTX-SAME: cp.async.cg.shared.global
// PTX-SAME: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX-SAME: and.b32 {{.*}}, -252645136;
// PTX-SAME: or.b32 {{.*}}, 134744072;
// PTX-SAME: mma.sync.aligned.m16n8k32.row.col.satfinite.s32.s8.s8.s32
// PTX-NOT: dp4a
// PTX-SAME: st.global.v2.b32
// PTX-NOT: .local

// PTX80: gpu.binary @qat_matmul_200x136x256_signed_centered_s8_bf16
// PTX80-SAME: mma.sync.aligned.m16n8k32.row.col.satfinite.s32.s8.s8.s32
// PTX80: gpu.binary @qat_matmul_256x128x1024_centered_centered_s4_f32
// PTX80-NOT: .minnctapersm
// PTX80-SAME: mma.sync.aligned.m16n8k64.row.col.satfinite.s32.s4.s4.s32
// PTX80-SAME: dp4a.s32.s32

// BIN80: gpu.binary @qat_matmul_200x136x256_signed_centered_s8_bf16
// BIN80-SAME: chip = "sm_80"
// BIN80-SAME: bin = "\7FELF
// BIN80: gpu.binary @qat_matmul_256x128x1024_centered_centered_s4_f32
// BIN80-SAME: bin = "\7FELF

// BIN90: gpu.binary @qat_matmul_200x136x256_signed_centered_s8_bf16
// BIN90-SAME: chip = "sm_90"
// BIN90-SAME: bin = "\7FELF
// BIN90: gpu.binary @qat_matmul_256x128x1024_centered_centered_s4_f32
// BIN90-SAME: bin = "\7FELF

// PIPE: gpu.binary @qat_matmul_200x136x256_signed_centered_s8_bf16 {{.*}}mma.sync.aligned.m16n8k32.row.col.satfinite.s32.s8.s8.s32
// PIPE: gpu.binary @qat_matmul_256x128x1024_centered_centered_s4_f32 {{.*}}mma.sync.aligned.m16n8k32.row.col.satfinite.s32.s8.s8.s32
// PIPE-LABEL: llvm.func @matmuls
// PIPE: llvm.call @mgpuMemAlloc
// PIPE: gpu.launch_func <%{{.*}} : !llvm.ptr> @qat_matmul_200x136x256_signed_centered_s8_bf16::@qat_matmul_200x136x256_signed_centered_s8_bf16
// PIPE: llvm.call @mgpuMemAlloc
// PIPE: gpu.launch_func <%{{.*}} : !llvm.ptr> @qat_matmul_256x128x1024_centered_centered_s4_f32::@qat_matmul_256x128x1024_centered_centered_s4_f32
func.func @matmuls(%a: tensor<200x256xi8>, %b: tensor<136x256xi8>,
                   %sa: tensor<1x1xf32>, %sb: tensor<136x1xf32>,
                   %pa: tensor<256x512xi8>, %pb: tensor<128x512xi8>,
                   %psa: tensor<256x1xf32>, %psb: tensor<128x1xf32>)
    -> (tensor<200x136xbf16>, tensor<256x128xf32>) {
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 8 bits, learned, per_tensor>,
         <centered, 8 bits, rms_gaussian, per_row>
      : tensor<200x256xi8>, tensor<136x256xi8>, tensor<1x1xf32>,
        tensor<136x1xf32> -> tensor<200x136xbf16>
  %z = qat.matmul %pa, %pb, %psa, %psb
      as <centered, 4 bits, rms_gaussian, per_row>,
         <centered, 4 bits, rms_gaussian, per_row> packed
      : tensor<256x512xi8>, tensor<128x512xi8>, tensor<256x1xf32>,
        tensor<128x1xf32> -> tensor<256x128xf32>
  return %y, %z : tensor<200x136xbf16>, tensor<256x128xf32>
}
