// RUN: qat-opt %s --qat-to-nvptx="chip=sm_80 format=isa" | FileCheck %s --check-prefixes=CHECK,MMA
// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90a format=isa" | FileCheck %s --check-prefixes=CHECK,WG
// RUN: qat-opt %s --qat-to-nvptx="chip=sm_80 format=bin toolkit=/usr/local/cuda" | FileCheck %s --check-prefix=BIN
// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90a format=bin toolkit=/usr/local/cuda" | FileCheck %s --check-prefix=BIN
// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90a format=isa fuse-epilogues=0" | FileCheck %s --check-prefix=OFF

// Through the whole pipeline, a linear layer's bias + GELU (rounded to
// bf16) is one kernel: the tensor-core contraction (mma.sync on sm_80,
// wgmma on sm_90a) with erf in its epilogue, and no other kernel; ptxas assembles it for sm_80 and sm_90a.
// With fuse-epilogues=0 the bias and GELU are a kernel of their own.

// MMA:       gpu.binary @qat_contraction_67x45x96_bf16_f32_64x64_epilogue
// MMA-SAME:    mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// MMA-SAME:    cvt.rn.bf16.f32
// WG:        gpu.binary @qat_contraction_67x45x96_bf16_f32_128x128_wgmma_epilogue
// WG-SAME:     wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16
// WG-SAME:     cvt.rn.bf16.f32
// CHECK-NOT:   .local
// CHECK-NOT: gpu.binary
// CHECK:     llvm.func @linear_gelu(

// BIN-COUNT-1: gpu.binary @{{[a-z0-9_]+}} {{.*}}bin = "\7FELF
// BIN-NOT:     gpu.binary

// OFF:       gpu.binary @qat_contraction_67x45x96_bf16_f32_128x128_wgmma 
// OFF:       gpu.binary
func.func @linear_gelu(%x: tensor<67x96xbf16>, %w: tensor<45x96xbf16>, %bias: tensor<45xf32>) -> tensor<67x45xbf16> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<67x45xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<67x45xf32>) -> tensor<67x45xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
      affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : tensor<67x96xbf16>, tensor<45x96xbf16>)
      outs(%z : tensor<67x45xf32>) -> tensor<67x45xf32>
  %bb = linalg.broadcast ins(%bias : tensor<45xf32>) outs(%e : tensor<67x45xf32>) dimensions = [0]
  %s = linalg.add ins(%y, %bb : tensor<67x45xf32>, tensor<67x45xf32>) outs(%e : tensor<67x45xf32>) -> tensor<67x45xf32>
  %eb = tensor.empty() : tensor<67x45xbf16>
  %g = linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (m, n)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%s : tensor<67x45xf32>) outs(%eb : tensor<67x45xbf16>) {
  ^bb0(%v: f32, %o: bf16):
    %half = arith.constant 0.5 : f32
    %one = arith.constant 1.0 : f32
    %rs2 = arith.constant 0.707106769 : f32
    %t = arith.mulf %v, %rs2 : f32
    %er = math.erf %t : f32
    %p = arith.addf %er, %one : f32
    %h = arith.mulf %v, %half : f32
    %r = arith.mulf %h, %p : f32
    %rb = arith.truncf %r : f32 to bf16
    linalg.yield %rb : bf16
  } -> tensor<67x45xbf16>
  return %g : tensor<67x45xbf16>
}
