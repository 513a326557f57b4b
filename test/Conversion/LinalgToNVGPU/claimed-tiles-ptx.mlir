// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90a format=isa" | FileCheck %s
// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90a format=bin toolkit=/usr/local/cuda" | FileCheck %s --check-prefix=BIN

// A wgmma contraction of more tiles than 4 a multiprocessor claims them
// from a counter through the whole pipeline: one atomic add a claim in the
// kernel; the host allocates the counter, zeroes it on the launch's stream
// and launches one CTA a multiprocessor at most; ptxas assembles the kernel
// for sm_90a.

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
// CHECK:         gpu.launch_func
// CHECK:         llvm.call @mgpuMemFree

// BIN: gpu.binary @qat_contraction_4200x4300x40_bf16_f32_128x256_wgmma_claimed {{.*}}bin = "\7FELF

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
