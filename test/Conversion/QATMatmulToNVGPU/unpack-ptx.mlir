// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90a format=isa" | FileCheck %s
// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90a format=bin toolkit=/usr/local/cuda" | FileCheck %s --check-prefix=BIN

// Packed codes that arrive as arguments, through the whole pipeline for
// sm_90a: one launch of the s8 wgmma kernel, which loads the packed bytes
// with TMA into a staging slot (signalled by the copy engine's transaction
// count), unpacks them with 16-byte shared-memory loads and stores, fences
// them for the tensor cores' async proxy and arrives on the stage's
// mbarrier; ptxas assembles it.

// CHECK-NOT: gpu.binary @qat_unpack_codes
// CHECK: gpu.binary @qat_matmul_200x136x96_centered_centered_s4_bf16_wgmma_n128
// CHECK-SAME: wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8
// CHECK-SAME: setmaxnreg.dec.sync.aligned.u32 \0940;
// CHECK-SAME: fence.proxy.async.shared::cta;\0A\09mbarrier.arrive.shared.b64
// CHECK-SAME: ld.shared.v4.b32
// CHECK-SAME: st.shared.v4.b32
// CHECK-SAME: mbarrier.arrive.expect_tx.shared.b64
// CHECK-SAME: cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// CHECK-NOT: gpu.binary @qat_code_row_sums
// CHECK-LABEL: llvm.func @packed_weights
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.launch_func {{.*}}@qat_matmul_200x136x96_centered_centered_s4_bf16_wgmma_n128
// CHECK-NOT: gpu.launch_func
// BIN: gpu.binary @qat_matmul_200x136x96_centered_centered_s4_bf16_wgmma_n128
func.func @packed_weights(%a: tensor<200x48xi8>, %b: tensor<136x48xi8>,
                          %sa: tensor<200x1xf32>, %sb: tensor<136x1xf32>)
    -> tensor<200x136xbf16> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <centered, 4 bits, rms_gaussian, per_row>,
         <centered, 4 bits, rms_gaussian, per_row> packed
      : tensor<200x48xi8>, tensor<136x48xi8>, tensor<200x1xf32>,
        tensor<136x1xf32> -> tensor<200x136xbf16>
  return %y : tensor<200x136xbf16>
}
