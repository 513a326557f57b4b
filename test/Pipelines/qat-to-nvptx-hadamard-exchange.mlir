// RUN: qat-opt %s --qat-to-nvptx="format=isa" | FileCheck %s
// RUN: qat-opt %s --qat-to-nvptx="format=isa hadamard-exchange=0" \
// RUN: | FileCheck %s --check-prefix=SHUFFLE

// The PTX of a bf16 Hadamard transform of block 128 in the quad layout: by
// default its stages across lanes become one exchange through shared memory
// (two passes of 16-byte stores and loads, warp barriers, no shuffles);
// with hadamard-exchange=0 they are butterfly shuffles.

// CHECK: gpu.binary @f_kernel
// CHECK-NOT: shfl.sync
// CHECK: st.shared.v4.b32
// CHECK: bar.warp.sync
// CHECK: ld.shared.v4.b32
// CHECK: bar.warp.sync
// CHECK: st.shared.v4.b32
// CHECK: bar.warp.sync
// CHECK: ld.shared.v4.b32
// CHECK-NOT: shfl.sync
// SHUFFLE: gpu.binary @f_kernel
// SHUFFLE-NOT: bar.warp.sync
// SHUFFLE: shfl.sync.bfly
func.func @f(%x: tensor<4x1024xbf16>) -> tensor<4x1024xbf16> {
  %y = qat.hadamard %x block 128 : tensor<4x1024xbf16>
  return %y : tensor<4x1024xbf16>
}
