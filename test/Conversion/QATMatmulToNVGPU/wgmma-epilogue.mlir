// RUN: qat-opt %s --split-input-file --convert-qat-matmul-to-nvgpu=chip=sm_90a | FileCheck %s
// RUN: qat-opt %s --split-input-file --convert-qat-matmul-to-nvgpu="chip=sm_90a fuse-epilogues=false" | FileCheck %s --check-prefix=OFF
// RUN: qat-opt %s --split-input-file --convert-qat-matmul-to-nvgpu=chip=sm_80 | FileCheck %s --check-prefix=OFF

// A mean-squared-error loss on the product: its gradient (elementwise) and
// its sum of squares run in the wgmma kernel's epilogue. The kernel takes
// the target and a buffer of 8 partial sums a CTA (3 x 2 CTAs of 128 x 128),
// stores the bf16 gradient where the product would have gone, and the loss
// is the init plus the partial sums, where the sum was. The product is
// never stored (no f32 store in the kernel, no buffer of it on the host).
// The constant the canonicalizer hoisted out of the gradient's body is
// cloned into the kernel. Without fuse-epilogues, or on mma.sync (sm_80),
// the consumers stay.
// CHECK: gpu.module @qat_matmul_300x200x256_centered_centered_s8_f32_wgmma_n128_epilogue
// CHECK: gpu.func @qat_matmul_wgmma(%{{.*}}: memref<300x256xi8>, %{{.*}}: memref<200x256xi8>, %{{.*}}: memref<300x1xf32>, %{{.*}}: memref<200x1xf32>, %[[DY:.*]]: memref<300x200xbf16>, %{{.*}}: memref<300xi32>, %{{.*}}: memref<200xi32>, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %[[T:.*]]: memref<300x200xf32>, %[[PARTIALS:.*]]: memref<48xf32>) kernel
// CHECK: nvvm.wgmma.mma_async
// CHECK: %[[C:.*]] = arith.constant 1.250000e-01 : f32
// CHECK: %[[TV:.*]] = vector.load %[[T]][{{.*}}] {alignment = 8 : i64} : memref<300x200xf32>, vector<2xf32>
// CHECK: arith.subf
// CHECK: arith.mulf %{{.*}}, %[[C]] : f32
// CHECK: arith.truncf {{.*}} : f32 to bf16
// CHECK: arith.select
// CHECK: vector.store {{.*}}, %[[DY]]{{.*}} : memref<300x200xbf16>, vector<2xbf16>
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: memref.store %{{.*}}, %[[PARTIALS]]
// CHECK-LABEL: func.func @mse
//  CHECK-SAME:     %[[TARGET:[^:]*]]: tensor<300x200xf32>)
//       CHECK:   %[[DYBUF:.*]] = memref.alloc() : memref<300x200xbf16>
//   CHECK-NOT:   memref.alloc() : memref<300x200xf32>
//       CHECK:   %[[TBUF:.*]] = bufferization.to_buffer %[[TARGET]] read_only
//       CHECK:   %[[SUMS:.*]] = memref.alloc() : memref<48xf32>
//       CHECK:   gpu.launch_func  @qat_matmul_300x200x256_centered_centered_s8_f32_wgmma_n128_epilogue::@qat_matmul_wgmma {{.*}}args({{.*}}%[[DYBUF]] : memref<300x200xbf16>, {{.*}}, %[[TBUF]] : memref<300x200xf32>, %[[SUMS]] : memref<48xf32>)
//       CHECK:   %[[GRAD:.*]] = bufferization.to_tensor %[[DYBUF]]
//       CHECK:   %[[INIT:.*]] = linalg.fill
//       CHECK:   %[[TERMS:.*]] = bufferization.to_tensor %[[SUMS]]
//       CHECK:   %[[LOSS:.*]] = linalg.generic {{.*}}iterator_types = ["reduction"]} ins(%[[TERMS]] : tensor<48xf32>) outs(%[[INIT]] : tensor<f32>)
//       CHECK:     arith.addf
//   CHECK-NOT:   linalg.generic
//       CHECK:   return %[[GRAD]], %[[LOSS]]
// OFF-LABEL: func.func @mse
// OFF: linalg.generic
// OFF: linalg.generic
#c8 = #qat.quantizer<centered, 8 bits, absmax, per_row>
#id = affine_map<(i, j) -> (i, j)>
#all = affine_map<(i, j) -> ()>
func.func @mse(%a: tensor<300x256xi8>, %b: tensor<200x256xi8>,
               %sa: tensor<300x1xf32>, %sb: tensor<200x1xf32>,
               %t: tensor<300x200xf32>) -> (tensor<300x200xbf16>, tensor<f32>) {
  %c = arith.constant 0.125 : f32
  %y = qat.matmul %a, %b, %sa, %sb as #c8, #c8
      : tensor<300x256xi8>, tensor<200x256xi8>, tensor<300x1xf32>,
        tensor<200x1xf32> -> tensor<300x200xf32>
  %e = tensor.empty() : tensor<300x200xbf16>
  %dy = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %t : tensor<300x200xf32>, tensor<300x200xf32>) outs(%e : tensor<300x200xbf16>) {
  ^bb0(%yv: f32, %tv: f32, %u: bf16):
    %d = arith.subf %yv, %tv : f32
    %g = arith.mulf %d, %c : f32
    %r = arith.truncf %g : f32 to bf16
    linalg.yield %r : bf16
  } -> tensor<300x200xbf16>
  %zero = arith.constant 0.0 : f32
  %s0 = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%zero : f32) outs(%s0 : tensor<f32>) -> tensor<f32>
  %sse = linalg.generic {indexing_maps = [#id, #id, #all], iterator_types = ["reduction", "reduction"]}
      ins(%y, %t : tensor<300x200xf32>, tensor<300x200xf32>) outs(%init : tensor<f32>) {
  ^bb0(%yv: f32, %tv: f32, %acc: f32):
    %d = arith.subf %yv, %tv : f32
    %sq = arith.mulf %d, %d : f32
    %next = arith.addf %acc, %sq : f32
    linalg.yield %next : f32
  } -> tensor<f32>
  return %dy, %sse : tensor<300x200xbf16>, tensor<f32>
}

// -----

// What keeps the product stored and its consumers as ops: another use (the
// product is returned), an input defined after the qat.matmul, a reduction
// that is not a sum (a maximum), a consumer that reads the product
// transposed, a body that reads linalg.index.
// CHECK-LABEL: func.func @not_fused
//   CHECK-NOT:   _epilogue
//   CHECK-COUNT-5: linalg.generic
//       CHECK:   return
#c8 = #qat.quantizer<centered, 8 bits, absmax, per_row>
#id = affine_map<(i, j) -> (i, j)>
#tr = affine_map<(i, j) -> (j, i)>
#all = affine_map<(i, j) -> ()>
func.func @not_fused(%a: tensor<64x128xi8>, %b: tensor<64x128xi8>,
                     %sa: tensor<64x1xf32>, %sb: tensor<64x1xf32>,
                     %t: tensor<64x64xf32>)
    -> (tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>, tensor<f32>,
        tensor<64x64xf32>, tensor<64x64xf32>) {
  %e = tensor.empty() : tensor<64x64xf32>
  %y0 = qat.matmul %a, %b, %sa, %sb as #c8, #c8
      : tensor<64x128xi8>, tensor<64x128xi8>, tensor<64x1xf32>, tensor<64x1xf32> -> tensor<64x64xf32>
  %g0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y0 : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) {
  ^bb0(%v: f32, %u: f32):
    %n = arith.negf %v : f32
    linalg.yield %n : f32
  } -> tensor<64x64xf32>
  %y1 = qat.matmul %a, %b, %sa, %sb as #c8, #c8
      : tensor<64x128xi8>, tensor<64x128xi8>, tensor<64x1xf32>, tensor<64x1xf32> -> tensor<64x64xf32>
  %late = arith.addf %t, %t : tensor<64x64xf32>
  %g1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y1, %late : tensor<64x64xf32>, tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) {
  ^bb0(%v: f32, %w: f32, %u: f32):
    %s = arith.subf %v, %w : f32
    linalg.yield %s : f32
  } -> tensor<64x64xf32>
  %y2 = qat.matmul %a, %b, %sa, %sb as #c8, #c8
      : tensor<64x128xi8>, tensor<64x128xi8>, tensor<64x1xf32>, tensor<64x1xf32> -> tensor<64x64xf32>
  %g2 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y2 : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) {
  ^bb0(%v: f32, %u: f32):
    %n = arith.negf %v : f32
    linalg.yield %n : f32
  } -> tensor<64x64xf32>
  %s0 = tensor.empty() : tensor<f32>
  %m = linalg.generic {indexing_maps = [#id, #all], iterator_types = ["reduction", "reduction"]}
      ins(%y2 : tensor<64x64xf32>) outs(%s0 : tensor<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %x = arith.maximumf %acc, %v : f32
    linalg.yield %x : f32
  } -> tensor<f32>
  %y3 = qat.matmul %a, %b, %sa, %sb as #c8, #c8
      : tensor<64x128xi8>, tensor<64x128xi8>, tensor<64x1xf32>, tensor<64x1xf32> -> tensor<64x64xf32>
  %g3 = linalg.generic {indexing_maps = [#tr, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y3 : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) {
  ^bb0(%v: f32, %u: f32):
    linalg.yield %v : f32
  } -> tensor<64x64xf32>
  %y4 = qat.matmul %a, %b, %sa, %sb as #c8, #c8
      : tensor<64x128xi8>, tensor<64x128xi8>, tensor<64x1xf32>, tensor<64x1xf32> -> tensor<64x64xf32>
  %g4 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y4 : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) {
  ^bb0(%v: f32, %u: f32):
    %i = linalg.index 0 : index
    %ii = arith.index_cast %i : index to i32
    %f = arith.sitofp %ii : i32 to f32
    %p = arith.mulf %v, %f : f32
    linalg.yield %p : f32
  } -> tensor<64x64xf32>
  return %y0, %g1, %g2, %m, %g3, %g4
      : tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>, tensor<f32>,
        tensor<64x64xf32>, tensor<64x64xf32>
}

// -----

// A residual chain: the second product's consumer reads the first one's
// (h1 = x + A1 B1, h2 = h1 + A2 B2). Each op's consumers are matched when it
// is lowered, so the second kernel reads the first kernel's result; matched
// up front, the second match held the erased first consumer (a crash on the
// transformer's QuEST W4A4 step).
// CHECK-LABEL: func.func @residual_chain
//       CHECK:   %[[H1BUF:.*]] = memref.alloc() : memref<256x64xf32>
//       CHECK:   gpu.launch_func  @{{.*}}_epilogue{{.*}}::@qat_matmul_wgmma {{.*}}args({{.*}}%[[H1BUF]] : memref<256x64xf32>
//       CHECK:   %[[H1:.*]] = bufferization.to_tensor %[[H1BUF]]
//       CHECK:   %[[H1READ:.*]] = bufferization.to_buffer %[[H1]]
//       CHECK:   gpu.launch_func  @{{.*}}_epilogue{{.*}}::@qat_matmul_wgmma {{.*}}%[[H1READ]] : memref<256x64xf32>)
//   CHECK-NOT:   linalg.generic
#s8 = #qat.quantizer<signed, 8 bits, absmax, per_row>
#map = affine_map<(i, j) -> (i, j)>
func.func @residual_chain(%x: tensor<256x64xf32>, %a: tensor<256x128xi8>, %b1: tensor<64x128xi8>,
                          %b2: tensor<64x128xi8>, %sa: tensor<256x1xf32>, %sb: tensor<64x1xf32>)
    -> tensor<256x64xf32> {
  %e = tensor.empty() : tensor<256x64xf32>
  %p1 = qat.matmul %a, %b1, %sa, %sb as #s8, #s8
      : tensor<256x128xi8>, tensor<64x128xi8>, tensor<256x1xf32>, tensor<64x1xf32> -> tensor<256x64xf32>
  %h1 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%x, %p1 : tensor<256x64xf32>, tensor<256x64xf32>) outs(%e : tensor<256x64xf32>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %s = arith.addf %u, %v : f32
    linalg.yield %s : f32
  } -> tensor<256x64xf32>
  %p2 = qat.matmul %a, %b2, %sa, %sb as #s8, #s8
      : tensor<256x128xi8>, tensor<64x128xi8>, tensor<256x1xf32>, tensor<64x1xf32> -> tensor<256x64xf32>
  %h2 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%h1, %p2 : tensor<256x64xf32>, tensor<256x64xf32>) outs(%e : tensor<256x64xf32>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %s = arith.addf %u, %v : f32
    linalg.yield %s : f32
  } -> tensor<256x64xf32>
  return %h2 : tensor<256x64xf32>
}
