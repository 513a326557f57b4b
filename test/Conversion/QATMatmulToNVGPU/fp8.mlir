// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90a features=+ptx80 format=isa" | FileCheck %s --check-prefix=WGMMA
// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90a features=+ptx80 format=bin toolkit=/usr/local/cuda" | FileCheck %s --check-prefix=BIN
// RUN: qat-opt %s --qat-to-nvptx="chip=sm_80 format=isa" | FileCheck %s --check-prefix=MMA
// RUN: qat-opt %s --convert-qat-matmul-to-nvgpu="chip=sm_90a strategy=mma-sync" | FileCheck %s --check-prefix=LINALG

// fp8 codes on sm_90a: the wgmma kernel multiplies them as .e4m3/.e5m2 with
// f32 accumulators and no row sums (the levels are the encoded values);
// ptxas assembles it (BIN). K = 200 gives rows of 200 bytes, which TMA
// cannot load: that product, like every fp8 product on a chip without
// wgmma (MMA) or with strategy=mma-sync (LINALG), becomes the decoded
// values' float contraction on the tensor cores (tf32 by default, exact
// for fp8 values).

// WGMMA: gpu.binary @qat_matmul_200x136x256_e4m3_e5m2_f8_bf16_wgmma_n128
// WGMMA-SAME: wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e5m2
// WGMMA-NOT: gpu.binary @qat_code_row_sums
// WGMMA: gpu.binary @qat_contraction_33x48x200_tf32_f32_128x128_wgmma
// WGMMA-SAME: wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32
// BIN: gpu.binary @qat_matmul_200x136x256_e4m3_e5m2_f8_bf16_wgmma_n128
// BIN-SAME: bin = "\7FELF

// MMA-NOT: gpu.binary @qat_matmul
// MMA: gpu.binary @qat_contraction_200x136x256_tf32_f32
// MMA-SAME: mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32
// MMA: gpu.binary @qat_contraction_33x48x200_tf32_f32

// LINALG-LABEL: func.func @fp8
// LINALG-NOT: gpu.launch_func
// LINALG: linalg.matmul {{.*}} ins(%{{.*}}, %{{.*}} : tensor<200x256xf32>, tensor<136x256xf32>) outs(%{{.*}} : tensor<200x136xf32>)
func.func @fp8(%a: tensor<200x256xi8>, %b: tensor<136x256xi8>,
               %sa: tensor<1x1xf32>, %sb: tensor<136x1xf32>)
    -> tensor<200x136xbf16> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <e4m3, 8 bits, absmax, per_tensor>, <e5m2, 8 bits, absmax, per_row>
      : tensor<200x256xi8>, tensor<136x256xi8>, tensor<1x1xf32>,
        tensor<136x1xf32> -> tensor<200x136xbf16>
  return %y : tensor<200x136xbf16>
}

func.func @fp8_short_rows(%a: tensor<33x200xi8>, %b: tensor<48x200xi8>,
                          %sa: tensor<33x1xf32>, %sb: tensor<48x1xf32>)
    -> tensor<33x48xf32> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <e4m3, 8 bits, absmax, per_row>, <e4m3, 8 bits, absmax, per_row>
      : tensor<33x200xi8>, tensor<48x200xi8>, tensor<33x1xf32>,
        tensor<48x1xf32> -> tensor<33x48xf32>
  return %y : tensor<33x48xf32>
}
