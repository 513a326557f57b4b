// RUN: qat-opt %s --qat-to-nvptx="chip=sm_75 features=+ptx63 format=isa" | FileCheck %s --implicit-check-not=mma.sync --implicit-check-not=wgmma

// Before sm_80 there is no bf16/tf32 mma.sync (nor s8 m16n8k32): the float
// contraction, and an fp8 qat.matmul's decoded values, become plain kernels
// instead of ending in the NVPTX backend's "Cannot select".

// CHECK-DAG: llvm.func @matmul(
// CHECK-DAG: llvm.func @fp8(
// CHECK-DAG: gpu.binary @matmul_kernel {{.*}}.target sm_75
// CHECK-DAG: gpu.binary @fp8_kernel {{.*}}.target sm_75
func.func @matmul(%a: tensor<64x256xf32>, %b: tensor<256x32xf32>) -> tensor<64x32xf32> {
  %c0 = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x32xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<64x32xf32>) -> tensor<64x32xf32>
  %y = linalg.matmul ins(%a, %b : tensor<64x256xf32>, tensor<256x32xf32>) outs(%z : tensor<64x32xf32>) -> tensor<64x32xf32>
  return %y : tensor<64x32xf32>
}

func.func @fp8(%a: tensor<64x256xi8>, %b: tensor<32x256xi8>, %sa: tensor<64x1xf32>, %sb: tensor<32x1xf32>) -> tensor<64x32xf32> {
  %y = qat.matmul %a, %b, %sa, %sb as <e4m3, 8 bits, absmax, per_row>, <e5m2, 8 bits, absmax, per_row> : tensor<64x256xi8>, tensor<32x256xi8>, tensor<64x1xf32>, tensor<32x1xf32> -> tensor<64x32xf32>
  return %y : tensor<64x32xf32>
}
