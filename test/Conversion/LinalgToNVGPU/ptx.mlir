// RUN: qat-opt %s --qat-to-nvptx="chip=sm_80 format=isa" | FileCheck %s --check-prefixes=PTX,PTX80
// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90 format=isa contraction-precision=bf16" | FileCheck %s --check-prefixes=PTX,PTXBF16
// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90a format=isa" | FileCheck %s --check-prefix=WGMMA
// RUN: qat-opt %s --qat-to-nvptx="chip=sm_80 format=bin toolkit=/usr/local/cuda" | FileCheck %s --check-prefix=BIN
// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90a format=bin toolkit=/usr/local/cuda" | FileCheck %s --check-prefix=BIN

// The contraction kernels compile to PTX with ldmatrix and float
// tensor-core instructions, through the whole qat-to-nvptx pipeline, and
// ptxas assembles them for sm_80 and sm_90a. f32 operands run as tf32 by
// default and as bf16 with contraction-precision=bf16. On sm_90a the
// 16-bit products take the wgmma kernel: TMA loads (cp.async.bulk.tensor,
// 3-D for the batch) completing on mbarriers, wgmma.mma_async; the tf32
// product with a transposed operand keeps mma.sync.

// WGMMA-LABEL: gpu.binary @qat_contraction_100x60x40_tf32_f32_64x64
// WGMMA-SAME:    mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32
// WGMMA:       gpu.binary @qat_contraction_2x70x90x48_bf16_bf16_128x128_wgmma
// WGMMA-SAME:    mbarrier.init.shared.b64
// WGMMA-SAME:    setmaxnreg.inc.sync.aligned.u32{{[^;]*}}232;
// WGMMA-SAME:    mbarrier.try_wait.parity
// WGMMA-SAME:    wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16
// WGMMA-SAME:    wgmma.wait_group.sync.aligned{{[^;]*}}1;
// WGMMA-SAME:    cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// WGMMA-NOT:     .local
// WGMMA:       gpu.binary @qat_contraction_33x17x64_f16_f16_128x128_wgmma
// WGMMA-SAME:    wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16
// WGMMA-SAME:    cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// WGMMA-NOT:     .local

// PTX-LABEL: gpu.binary @qat_contraction_100x60x40_{{[a-z0-9]+}}_f32_64x64 
// PTX-SAME:    .shared .align 128
// PTX-SAME:    ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX80-SAME:  mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32
// PTXBF16-SAME: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX-SAME:    bar.sync
// PTX-NOT:     .local
// PTX:       gpu.binary @qat_contraction_2x70x90x48_bf16_bf16_64x64
// PTX-SAME:    mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX-NOT:     .local
// PTX:       gpu.binary @qat_contraction_33x17x64_f16_f16_64x64
// PTX-SAME:    mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX-NOT:     .local

// BIN-COUNT-3: gpu.binary @qat_contraction_{{[a-z0-9_]+}} {{.*}}bin = "\7FELF
// BIN-NOT:     assembly =

#kn = affine_map<(m, n, k) -> (k, n)>
#km = affine_map<(m, n, k) -> (k, m)>
#nk = affine_map<(m, n, k) -> (n, k)>
#mn = affine_map<(m, n, k) -> (m, n)>
func.func @contractions(%a: tensor<40x100xf32>, %b: tensor<40x60xf32>,
                        %x: tensor<2x70x48xbf16>, %w: tensor<2x90x48xbf16>,
                        %p: tensor<33x64xf16>, %q: tensor<17x64xf16>)
    -> (tensor<100x60xf32>, tensor<2x70x90xbf16>, tensor<33x17xf16>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<100x60xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<100x60xf32>) -> tensor<100x60xf32>
  %y = linalg.matmul indexing_maps = [#km, #kn, #mn]
      ins(%a, %b : tensor<40x100xf32>, tensor<40x60xf32>)
      outs(%z : tensor<100x60xf32>) -> tensor<100x60xf32>
  %zb = arith.constant 0.0 : bf16
  %eb = tensor.empty() : tensor<2x70x90xbf16>
  %fb = linalg.fill ins(%zb : bf16) outs(%eb : tensor<2x70x90xbf16>) -> tensor<2x70x90xbf16>
  %yb = linalg.batch_matmul indexing_maps = [
          affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, n, k)>,
          affine_map<(b, m, n, k) -> (b, m, n)>] ins(%x, %w : tensor<2x70x48xbf16>, tensor<2x90x48xbf16>)
      outs(%fb : tensor<2x70x90xbf16>) -> tensor<2x70x90xbf16>
  %zh = arith.constant 0.0 : f16
  %eh = tensor.empty() : tensor<33x17xf16>
  %fh = linalg.fill ins(%zh : f16) outs(%eh : tensor<33x17xf16>) -> tensor<33x17xf16>
  %yh = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, #nk, #mn]
      ins(%p, %q : tensor<33x64xf16>, tensor<17x64xf16>)
      outs(%fh : tensor<33x17xf16>) -> tensor<33x17xf16>
  return %y, %yb, %yh : tensor<100x60xf32>, tensor<2x70x90xbf16>, tensor<33x17xf16>
}
