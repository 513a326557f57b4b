// RUN: qat-opt %s --qat-gpu-bf16-mma-to-nvvm | FileCheck %s

// bf16 m16n8k16 becomes nvvm.mma.sync on 32-bit registers (two bf16 each);
// other element types are left to convert-nvgpu-to-nvvm.

// CHECK-LABEL: func.func @bf16(
//       CHECK:   vector.bitcast {{.*}} : vector<2xbf16> to vector<1xi32>
//       CHECK:   %[[D:.*]] = nvvm.mma.sync A[{{.*}}, {{.*}}, {{.*}}, {{.*}}] B[{{.*}}, {{.*}}] C[{{.*}}, {{.*}}, {{.*}}, {{.*}}]
//  CHECK-SAME:     multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>
//  CHECK-SAME:     shape = #nvvm.shape<m = 16, n = 8, k = 16>
//       CHECK:   llvm.extractvalue %[[D]][3]
//       CHECK:   vector.from_elements {{.*}} : vector<2x2xf32>
//   CHECK-NOT:   nvgpu.mma.sync
func.func @bf16(%a: vector<4x2xbf16>, %b: vector<2x2xbf16>, %c: vector<2x2xf32>)
    -> vector<2x2xf32> {
  %d = nvgpu.mma.sync(%a, %b, %c) {mmaShape = [16, 8, 16]}
      : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
  return %d : vector<2x2xf32>
}

// CHECK-LABEL: func.func @f16(
//       CHECK:   nvgpu.mma.sync
func.func @f16(%a: vector<4x2xf16>, %b: vector<2x2xf16>, %c: vector<2x2xf32>)
    -> vector<2x2xf32> {
  %d = nvgpu.mma.sync(%a, %b, %c) {mmaShape = [16, 8, 16]}
      : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
  return %d : vector<2x2xf32>
}
