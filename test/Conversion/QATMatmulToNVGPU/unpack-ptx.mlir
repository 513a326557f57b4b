// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90a format=isa" | FileCheck %s
// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90a format=bin toolkit=/usr/local/cuda" | FileCheck %s --check-prefix=BIN

// Packed codes that arrive as arguments, through the whole pipeline for
// sm_90a: a launch of the unpacking kernel per operand (8 bytes loaded and
// 16 stored a thread), then the s8 wgmma kernel; ptxas assembles both.

// CHECK: gpu.binary @qat_unpack_codes_k48
// CHECK-SAME: ld.global.v2.b32
// CHECK-SAME: st.global.v4.b32
// CHECK: gpu.binary @qat_matmul_200x136x96_centered_centered_s8_bf16_wgmma_n128
// CHECK-SAME: wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8
// CHECK-LABEL: llvm.func @packed_weights
// CHECK-COUNT-2: gpu.launch_func {{.*}}@qat_unpack_codes_k48::@qat_unpack_codes_k48
// CHECK: gpu.launch_func {{.*}}@qat_code_row_sums_k96_x2
// CHECK: gpu.launch_func {{.*}}@qat_matmul_200x136x96_centered_centered_s8_bf16_wgmma_n128
// BIN-DAG: gpu.binary @qat_unpack_codes_k48
// BIN-DAG: gpu.binary @qat_matmul_200x136x96_centered_centered_s8_bf16_wgmma_n128
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
