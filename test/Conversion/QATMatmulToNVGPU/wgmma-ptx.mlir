// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90a features=+ptx80 format=isa" -o %t
// RUN: FileCheck %s < %t
// RUN: FileCheck %s --check-prefix=NODP4A < %t
// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90a features=+ptx80 format=bin toolkit=/usr/local/cuda" | FileCheck %s --check-prefix=BIN

// The whole pipeline for sm_90a: the s8 kernel's PTX has the warpgroup MMA,
// the TMA loads completing on mbarriers and the register reallocation;
// ptxas assembles it for sm_90a (BIN). The host creates the TMA descriptors
// through the runtime's mgpuTensorMapEncodeTiledMemref (with data type 0,
// CU_TENSOR_MAP_DATA_TYPE_UINT8; swizzle 3, 128 bytes) and launches the
// kernel with 129 KiB of dynamic shared memory, after the kernel that sums
// the rows of A's codes with dp4a for the centered operand (the epilogue
// reads them; the matmul kernel has no dp4a). (The instructions are checked in any
// order: LLVM places the loops' blocks as it likes.) The dynamic shared memory
// comes out as a static one-byte variable (upstream's lowering), and the
// mbarriers as another: the kernel finds the stages past both.

// CHECK: gpu.binary @qat_matmul_200x136x256_signed_centered_s8_bf16_wgmma_n128
// CHECK-SAME: .target sm_90a
// CHECK-SAME: .maxntid 384, 1, 1
// CHECK-SAME: .minnctapersm 1
// CHECK-SAME: .shared .align 16 .b8 __dynamic_shmem__0;
// CHECK-SAME: .shared .align 8 .b8 __mbarrier[64];
// CHECK-DAG: mbarrier.init.shared.b64
// CHECK-DAG: fence.proxy.async.shared::cta
// CHECK-DAG: setmaxnreg.inc.sync.aligned.u32 \09232;
// CHECK-DAG: wgmma.fence.sync.aligned
// CHECK-DAG: wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8
// CHECK-DAG: wgmma.commit_group.sync.aligned
// CHECK-DAG: wgmma.wait_group.sync.aligned \091;
// CHECK-DAG: mbarrier.try_wait.parity.shared.b64
// CHECK-DAG: setmaxnreg.dec.sync.aligned.u32 \0940;
// CHECK-DAG: prefetch.tensormap
// CHECK-DAG: mbarrier.arrive.expect_tx.shared.b64
// CHECK-DAG: cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// CHECK-DAG: mbarrier.arrive.shared.b64
// CHECK-DAG: wgmma.wait_group.sync.aligned \090;
// CHECK-NOT: .local
// CHECK: gpu.binary @qat_code_row_sums_k256 {{.*}}ld.global.v4.b32{{.*}}dp4a.s32.s32{{.*}}shfl.sync.bfly.b32
// NODP4A-NOT: gpu.binary @qat_matmul{{.*}}dp4a

// CHECK-LABEL: llvm.func @matmul
// CHECK-DAG: %[[UINT8:.*]] = llvm.mlir.constant(0 : i32) : i64
// CHECK-DAG: %[[SWIZZLE:.*]] = llvm.mlir.constant(3 : i32) : i64
// CHECK: llvm.call @mgpuTensorMapEncodeTiledMemref(%{{.*}}, %{{.*}}, %[[UINT8]], %[[UINT8]], %[[SWIZZLE]], %[[SWIZZLE]], %[[UINT8]], %{{.*}})
// CHECK: llvm.call @mgpuTensorMapEncodeTiledMemref
// CHECK: gpu.launch_func <%{{.*}} : !llvm.ptr> @qat_matmul_200x136x256_signed_centered_s8_bf16_wgmma_n128::@qat_matmul_200x136x256_signed_centered_s8_bf16_wgmma_n128 {{.*}} threads in (%{{.*}}, %{{.*}}, %{{.*}}) : i64 dynamic_shared_memory_size %{{.*}} args(

// BIN: gpu.binary @qat_matmul_200x136x256_signed_centered_s8_bf16_wgmma_n128
// BIN-SAME: chip = "sm_90a"
// BIN-SAME: bin = "\7FELF
func.func @matmul(%a: tensor<200x256xi8>, %b: tensor<136x256xi8>,
                  %sa: tensor<1x1xf32>, %sb: tensor<136x1xf32>)
    -> tensor<200x136xbf16> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <signed, 8 bits, learned, per_tensor>,
         <centered, 8 bits, rms_gaussian, per_row>
      : tensor<200x256xi8>, tensor<136x256xi8>, tensor<1x1xf32>,
        tensor<136x1xf32> -> tensor<200x136xbf16>
  return %y : tensor<200x136xbf16>
}
