// RUN: qat-opt %s --split-input-file --qat-to-nvptx="format=isa" --mlir-disable-threading \
// RUN:   --mlir-print-ir-after=qat-gpu-device-buffers -o %t 2> %t.host
// RUN: FileCheck %s --check-prefix=HOST < %t.host
// RUN: FileCheck %s < %t
// RUN: qat-opt %s --split-input-file --qat-to-nvptx="format=isa contraction-precision=f32" --mlir-disable-threading \
// RUN:   --mlir-print-ir-after=qat-gpu-device-buffers -o /dev/null 2> %t.plain
// RUN: FileCheck %s --check-prefix=PLAIN < %t.plain
// RUN: qat-opt %s --split-input-file --qat-to-nvptx="chip=sm_80 format=bin toolkit=/usr/local/cuda linalg-tile-sizes=8,32" \
// RUN: | FileCheck %s --check-prefix=BIN

// The linalg ops of a training step around the qat kernels (losses, float
// gradients, updates) become kernels too: elementwise chains fused into one
// op, parallel dimensions tiled over blocks of threads, full reductions
// split into partials over threads and a final reduction in one thread
// (with the fill of the accumulator and the scale of the mean);
// each thread takes 4 consecutive elements of a row with 16-byte accesses
// and sums in registers, and the loss gradient is stored by the kernel of
// the partial sums, which reads y and t once for both (four rows' loads
// before their stores). HOST shows the host code when buffers move to the
// device: every element access is inside a gpu.launch. The final host code
// only allocates, launches and frees (no llvm.load/llvm.store), and every
// kernel has its own gpu.binary.

#id = affine_map<(m, n) -> (m, n)>
#all = affine_map<(m, n) -> ()>

// A mean-squared-error loss and its gradient.

// HOST-LABEL: IR Dump After GPUDeviceBuffers
//       HOST: func.func @mse
//       HOST:   %[[DY:.*]] = gpu.alloc () : memref<64x128xf32>
//       HOST:   %[[LOSS:.*]] = gpu.alloc () : memref<f32>
//       HOST:   %[[PARTIAL:.*]] = gpu.alloc () : memref<128xf32>
//       HOST:   gpu.launch blocks({{.*}}) in ({{.*}} = %c1, {{.*}} = %c1, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c32, {{.*}} = %c1, {{.*}} = %c1)
//       HOST:     vector.store %{{.*}}, %[[PARTIAL]]
//       HOST:     %[[INIT:.*]] = vector.load %[[PARTIAL]]
//       HOST:     %[[SUM:.*]] = scf.for %{{.*}} = %c0 to %c64 step %c4 iter_args(%[[ACC:.*]] = %[[INIT]]) -> (vector<4xf32>)
//       HOST:       vector.load %arg0{{.*}} {alignment = 16 : i64} : memref<64x128xf32>, vector<4xf32>
//       HOST:       %[[D:.*]] = arith.subf {{.*}} : vector<4xf32>
//       HOST:       arith.addf %[[ACC]], {{.*}} : vector<4xf32>
//       HOST:       vector.load %arg0
//       HOST:       vector.store %[[D]], %[[DY]]{{.*}} {alignment = 16 : i64}
//       HOST:     vector.store %[[SUM]], %[[PARTIAL]]
//       HOST:     gpu.terminator
//       HOST:   gpu.launch blocks({{.*}}) in ({{.*}} = %c1, {{.*}} = %c1, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c1, {{.*}} = %c1, {{.*}} = %c1)
//       HOST:     memref.store %{{.*}}, %[[LOSS]][]
//       HOST:     scf.for %{{.*}} = %c0{{.*}} to %c128 {{.*}} -> (f32)
//       HOST:       memref.load %[[PARTIAL]]
//       HOST:       arith.addf
//       HOST:     memref.store %{{.*}}, %[[LOSS]][]
//       HOST:     arith.mulf
//       HOST:     memref.store %{{.*}}, %[[LOSS]][]
//       HOST:     gpu.terminator
//   HOST-NOT:   memref.{{load|store}}
//       HOST:   return %[[DY]], %[[LOSS]]

// CHECK-LABEL: llvm.func @mse(
//   CHECK-NOT:   llvm.{{load|store}}
//       CHECK:   gpu.launch_func {{.*}} @mse_kernel::@mse_kernel
//   CHECK-NOT:   llvm.{{load|store}}
//       CHECK:   gpu.launch_func {{.*}} @mse_kernel_0::@mse_kernel
//   CHECK-NOT:   gpu.launch_func
//   CHECK-NOT:   llvm.{{load|store}}
//       CHECK:   llvm.return
//       CHECK: gpu.binary @mse_kernel
//  CHECK-SAME:   .maxntid 32, 1, 1
//  CHECK-SAME:   ld.global.v4.b32
//  CHECK-SAME:   st.global.v4.b32
//       CHECK: gpu.binary @mse_kernel_0
//  CHECK-SAME:   .maxntid 1, 1, 1

// BIN: gpu.binary @mse_kernel {{.*}}chip = "sm_80"{{.*}}bin = "\7FELF
// BIN: gpu.binary @mse_kernel_0 {{.*}}bin = "\7FELF
func.func @mse(%y: tensor<64x128xf32>, %t: tensor<64x128xf32>)
    -> (tensor<64x128xf32>, tensor<f32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x128xf32>
  %dy = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %t : tensor<64x128xf32>, tensor<64x128xf32>) outs(%e : tensor<64x128xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    linalg.yield %d : f32
  } -> tensor<64x128xf32>
  %s = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%zero : f32) outs(%s : tensor<f32>) -> tensor<f32>
  %sse = linalg.generic {indexing_maps = [#id, #id, #all], iterator_types = ["reduction", "reduction"]}
      ins(%y, %t : tensor<64x128xf32>, tensor<64x128xf32>) outs(%init : tensor<f32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %d = arith.subf %a, %b : f32
    %q = arith.mulf %d, %d : f32
    %r = arith.addf %acc, %q : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  %mean = linalg.generic {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>], iterator_types = []}
      ins(%sse : tensor<f32>) outs(%s : tensor<f32>) {
  ^bb0(%v: f32, %o: f32):
    %inv = arith.constant 1.220703125e-04 : f32
    %m = arith.mulf %v, %inv : f32
    linalg.yield %m : f32
  } -> tensor<f32>
  return %dy, %mean : tensor<64x128xf32>, tensor<f32>
}

// -----

// A float gradient (dW = dY^T X) on the tensor cores: its zero fill is not
// read, the result is a fresh device buffer. With
// contraction-precision=f32 (PLAIN) it is a plain kernel instead: the fill
// of the accumulator and the matmul share one kernel (same iteration
// space), each thread summing over k. Then an SGD update with a dynamic
// number of rows and a scalar argument, where the chain of two elementwise
// ops is fused into one kernel.

// HOST-LABEL: IR Dump After GPUDeviceBuffers
//       HOST: func.func @grad_and_update
//       HOST:   %[[G:.*]] = gpu.alloc () : memref<32x256xf32>
//       HOST:   gpu.launch_func @qat_contraction_32x256x64_tf32_f32_64x64::@qat_contraction_mma_sync blocks in (%c4, %c1, %c1) threads in (%c128, %c1, %c1) args(%arg0 : memref<64x32xf32>, %arg1 : memref<64x256xf32>, %[[G]] : memref<32x256xf32>)
//       HOST:   %[[BY:.*]] = affine.apply affine_map<()[s0] -> (s0 ceildiv 4)>
//       HOST:   gpu.launch blocks({{.*}}) in ({{.*}} = %c1, {{.*}} = %[[BY]], {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c64, {{.*}} = %c4, {{.*}} = %c1)
//       HOST:     scf.if
//       HOST:       vector.broadcast %arg3 : f32 to vector<4xf32>
//       HOST:       arith.mulf
//       HOST:       arith.subf {{.*}} : vector<4xf32>
//       HOST:       math.absf {{.*}} : vector<4xf32>
//       HOST:     gpu.terminator
//   HOST-NOT:   gpu.launch
//       HOST:   return

// PLAIN-LABEL: func.func @grad_and_update
//       PLAIN:   gpu.launch blocks({{.*}}) in ({{.*}} = %c1, {{.*}} = %c8, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c64, {{.*}} = %c4, {{.*}} = %c1)
//       PLAIN:     vector.store %cst
//       PLAIN:     scf.for %{{.*}} = %c0 to %c64 step %c1 iter_args({{.*}}) -> (vector<4xf32>)
//       PLAIN:       vector.broadcast
//       PLAIN:       arith.mulf {{.*}} : vector<4xf32>
//       PLAIN:       arith.addf {{.*}} : vector<4xf32>
//       PLAIN:     gpu.terminator
//   PLAIN-NOT:   gpu.launch_func
//       PLAIN:   gpu.launch blocks
//       PLAIN:   return

// CHECK-LABEL: llvm.func @grad_and_update(
//   CHECK-NOT:   llvm.{{load|store}}
//       CHECK:   gpu.launch_func {{.*}} @qat_contraction_32x256x64_tf32_f32_64x64::@qat_contraction_32x256x64_tf32_f32_64x64
//   CHECK-NOT:   llvm.{{load|store}}
//       CHECK:   gpu.launch_func {{.*}} @grad_and_update_kernel::@grad_and_update_kernel
//   CHECK-NOT:   llvm.{{load|store}}
//       CHECK:   llvm.return
//       CHECK: gpu.binary @grad_and_update_kernel
#id = affine_map<(m, n) -> (m, n)>
func.func @grad_and_update(%dy: tensor<64x32xf32>, %x: tensor<64x256xf32>,
                           %w: tensor<?x256xf32>, %lr: f32)
    -> (tensor<32x256xf32>, tensor<?x256xf32>) {
  %zero = arith.constant 0.0 : f32
  %ge = tensor.empty() : tensor<32x256xf32>
  %g0 = linalg.fill ins(%zero : f32) outs(%ge : tensor<32x256xf32>) -> tensor<32x256xf32>
  %g = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>,
                                      affine_map<(m, n, k) -> (k, n)>,
                                      affine_map<(m, n, k) -> (m, n)>]
      ins(%dy, %x : tensor<64x32xf32>, tensor<64x256xf32>)
      outs(%g0 : tensor<32x256xf32>) -> tensor<32x256xf32>
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %w, %c0 : tensor<?x256xf32>
  %e = tensor.empty(%rows) : tensor<?x256xf32>
  %step = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w, %w : tensor<?x256xf32>, tensor<?x256xf32>) outs(%e : tensor<?x256xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %lr, %b : f32
    %u = arith.subf %a, %m : f32
    linalg.yield %u : f32
  } -> tensor<?x256xf32>
  %abs = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%step : tensor<?x256xf32>) outs(%e : tensor<?x256xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.absf %a : f32
    linalg.yield %r : f32
  } -> tensor<?x256xf32>
  return %g, %abs : tensor<32x256xf32>, tensor<?x256xf32>
}

// -----

// Named ops of other ranks and a constant operand: a 3-D transpose and a
// 1-D add of a constant vector, which the kernel reads from a device copy.

// HOST-LABEL: IR Dump After GPUDeviceBuffers
//       HOST: func.func @named
//       HOST:   %[[TABLE:.*]] = memref.get_global
//       HOST:   %[[DEV:.*]] = gpu.alloc () : memref<4xf32>
//       HOST:   gpu.memcpy %[[DEV]], %[[TABLE]]
//       HOST:   gpu.launch blocks({{.*}}) in ({{.*}} = %c1, {{.*}} = %c2, {{.*}} = %c2) threads({{.*}}) in ({{.*}} = %c64, {{.*}} = %c4, {{.*}} = %c1)
//       HOST:   gpu.launch blocks({{.*}}) in ({{.*}} = %c1, {{.*}} = %c1, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c1, {{.*}} = %c1, {{.*}} = %c1)
//       HOST:     vector.load %[[DEV]]{{.*}} : memref<4xf32>, vector<4xf32>
//       HOST:   gpu.dealloc %[[DEV]]
//       HOST:   return

// CHECK-LABEL: llvm.func @named(
//   CHECK-NOT:   llvm.{{load|store}}
//       CHECK:   llvm.return
//       CHECK: gpu.binary @named_kernel
//       CHECK: gpu.binary @named_kernel_0
func.func @named(%t: tensor<2x64x8xf32>, %v: tensor<4xf32>)
    -> (tensor<2x8x64xf32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<2x8x64xf32>
  %tt = linalg.transpose ins(%t : tensor<2x64x8xf32>) outs(%e : tensor<2x8x64xf32>) permutation = [0, 2, 1]
  %c = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %ev = tensor.empty() : tensor<4xf32>
  %s = linalg.add ins(%v, %c : tensor<4xf32>, tensor<4xf32>) outs(%ev : tensor<4xf32>) -> tensor<4xf32>
  return %tt, %s : tensor<2x8x64xf32>, tensor<4xf32>
}
