// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90a format=isa" | FileCheck %s
// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90a format=bin toolkit=/usr/local/cuda" | FileCheck %s --check-prefix=BIN

// The wgmma kernels that claim their tiles, through the whole pipeline: a
// float contraction of more tiles than 4 a multiprocessor (33 x 17) and a
// qat.matmul of dynamic M. One atomic add a claim in each kernel; the host
// allocates a counter, zeroes it on the launch's stream, launches one CTA
// a multiprocessor at most and frees it after; ptxas assembles both
// kernels for sm_90a.

// CHECK-LABEL: gpu.binary @qat_contraction_4200x4300x40_bf16_f32_128x256_wgmma_claimed
// CHECK-SAME:    mbarrier.try_wait.parity
// CHECK-SAME:    wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16
// CHECK-SAME:    atom.global.add.u32
// CHECK-NOT:     .local
// CHECK-LABEL: llvm.func @claimed(
// CHECK:         llvm.call @mgpuMultiprocessorCount
// CHECK:         llvm.call @mgpuMemAlloc
// CHECK:         llvm.call @mgpuMemset32
// CHECK-NOT:     llvm.call @mgpuStreamSynchronize
// CHECK:         gpu.launch_func {{.*}}@qat_contraction_4200x4300x40_bf16_f32_128x256_wgmma_claimed
// CHECK:         llvm.call @mgpuMemFree
// CHECK-LABEL: gpu.binary @qat_matmul_dynx2048x256_signed_signed_s8_bf16_wgmma_claimed
// CHECK-SAME:    wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8
// CHECK-SAME:    atom.global.add.u32
// CHECK-NOT:     .local
// CHECK-LABEL: llvm.func @dynamic_rows(
// CHECK:         llvm.call @mgpuMultiprocessorCount
// CHECK:         llvm.call @mgpuMemset32
// CHECK:         gpu.launch_func {{.*}}@qat_matmul_dynx2048x256_signed_signed_s8_bf16_wgmma_claimed

// BIN: gpu.binary @qat_contraction_4200x4300x40_bf16_f32_128x256_wgmma_claimed {{.*}}bin = "\7FELF
// BIN: gpu.binary @qat_matmul_dynx2048x256_signed_signed_s8_bf16_wgmma_claimed {{.*}}bin = "\7FELF

func.func @claimed(%a: tensor<4200x40xbf16>, %b: tensor<4300x40xbf16>) -> tensor<4200x4300xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4200x4300xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4200x4300xf32>) -> tensor<4200x4300xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
      affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : tensor<4200x40xbf16>, tensor<4300x40xbf16>)
      outs(%z : tensor<4200x4300xf32>) -> tensor<4200x4300xf32>
  return %y : tensor<4200x4300xf32>
}

func.func @dynamic_rows(%a: tensor<?x256xi8>, %b: tensor<2048x256xi8>,
                        %sa: tensor<?x1xf32>, %sb: tensor<2048x1xf32>)
    -> tensor<?x2048xbf16> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 8 bits, absmax, per_row>, <signed, 8 bits, absmax, per_row>
      : tensor<?x256xi8>, tensor<2048x256xi8>, tensor<?x1xf32>,
        tensor<2048x1xf32> -> tensor<?x2048xbf16>
  return %y : tensor<?x2048xbf16>
}
