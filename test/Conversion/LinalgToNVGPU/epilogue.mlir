// RUN: qat-opt %s --split-input-file --convert-linalg-contractions-to-nvgpu | FileCheck %s
// RUN: qat-opt %s --split-input-file --convert-linalg-contractions-to-nvgpu="fuse-epilogues=false" | FileCheck %s --check-prefix=OFF

// Elementwise consumers of a contraction run in its kernel's epilogue.

// Bias + GELU written as three ops (linalg.broadcast, linalg.add, a generic
// that rounds to bf16): one generic after elementwise fusion, applied per
// element; the bias is loaded at the element's column, the result is bf16.

// CHECK-LABEL: gpu.module @qat_contraction_67x45x96_bf16_f32_64x64_epilogue
// CHECK:         gpu.func @qat_contraction_mma_sync(%{{.*}}: memref<67x96xbf16>, %{{.*}}: memref<96x45xbf16>, %[[BIAS:.*]]: memref<45xf32>, %[[OUT:.*]]: memref<67x45xbf16>)
// CHECK:           nvgpu.mma.sync
// CHECK:           scf.if
// CHECK:             %[[B:.*]] = memref.load %[[BIAS]][%[[COL:.*]]] : memref<45xf32>
// CHECK:             %[[S:.*]] = arith.addf %{{.*}}, %[[B]] : f32
// CHECK:             math.erf
// CHECK:             arith.truncf %{{.*}} : f32 to bf16
// CHECK:             memref.store %{{.*}}, %[[OUT]][%{{.*}}, %[[COL]]] : memref<67x45xbf16>
// CHECK-LABEL: func.func @bias_gelu(
// CHECK-NOT:     linalg.{{generic|add|broadcast|matmul}}
// CHECK:         %[[BB:.*]] = bufferization.to_buffer %arg2 read_only : tensor<45xf32> to memref<45xf32>
// CHECK:         %[[R:.*]] = memref.alloc() : memref<67x45xbf16>
// CHECK:         gpu.launch_func @qat_contraction_67x45x96_bf16_f32_64x64_epilogue::@qat_contraction_mma_sync {{.*}} args(%{{.*}} : memref<67x96xbf16>, %{{.*}} : memref<96x45xbf16>, %[[BB]] : memref<45xf32>, %[[R]] : memref<67x45xbf16>)
// CHECK:         %[[T:.*]] = bufferization.to_tensor %[[R]] restrict writable
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[T]]

// OFF-LABEL: func.func @bias_gelu(
// OFF:         gpu.launch_func @qat_contraction_67x45x96_bf16_f32_64x64::
// OFF:         linalg.broadcast
// OFF:         linalg.add
// OFF:         linalg.generic
#id = affine_map<(m, n) -> (m, n)>
func.func @bias_gelu(%x: tensor<67x96xbf16>, %w: tensor<96x45xbf16>, %bias: tensor<45xf32>) -> tensor<67x45xbf16> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<67x45xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<67x45xf32>) -> tensor<67x45xf32>
  %y = linalg.matmul ins(%x, %w : tensor<67x96xbf16>, tensor<96x45xbf16>)
      outs(%z : tensor<67x45xf32>) -> tensor<67x45xf32>
  %bb = linalg.broadcast ins(%bias : tensor<45xf32>) outs(%e : tensor<67x45xf32>) dimensions = [0]
  %s = linalg.add ins(%y, %bb : tensor<67x45xf32>, tensor<67x45xf32>) outs(%e : tensor<67x45xf32>) -> tensor<67x45xf32>
  %eb = tensor.empty() : tensor<67x45xbf16>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
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

// -----

// A batch with a per-row scale (a column vector), a scalar tensor, a mask
// (i1, a full tensor of the result's shape) and a constant taken from
// outside the body; the init is added before the epilogue. The result read
// twice by the body (x * sigmoid-like) is one value.

// CHECK-LABEL: gpu.module @qat_contraction_3x33x65x77_bf16_f32_64x64_epilogue
// CHECK:         gpu.func @qat_contraction_mma_sync(%{{.*}}: memref<3x33x77xbf16>, %{{.*}}: memref<3x65x77xbf16>, %[[INIT:.*]]: memref<3x33x65xf32>, %[[SCALE:.*]]: memref<3x33xf32>, %[[ALPHA:.*]]: memref<f32>, %[[MASK:.*]]: memref<3x33x65xi1>, %[[OUT:.*]]: memref<3x33x65xf32>)
// CHECK:           %[[NEG:.*]] = arith.constant -1.000000e+00 : f32
// CHECK:           %[[BATCH:.*]] = gpu.block_id  y
// CHECK:           nvgpu.mma.sync
// CHECK:           memref.load %[[SCALE]][%[[BATCH]], %[[ROW:.*]]] : memref<3x33xf32>
// CHECK:           memref.load %[[ALPHA]][] : memref<f32>
// CHECK:           memref.load %[[MASK]][%[[BATCH]], %[[ROW]], %{{.*}}] : memref<3x33x65xi1>
// CHECK:           arith.select %{{.*}}, %{{.*}}, %[[NEG]] : f32
// CHECK-LABEL: func.func @batch_scale_mask(
// CHECK-NOT:     linalg.generic
// CHECK:         gpu.launch_func @qat_contraction_3x33x65x77_bf16_f32_64x64_epilogue::
// CHECK-NOT:     linalg.generic
// CHECK:         return
#a = affine_map<(b, m, n, k) -> (b, m, k)>
#b = affine_map<(b, m, n, k) -> (b, n, k)>
#c = affine_map<(b, m, n, k) -> (b, m, n)>
#full = affine_map<(b, m, n) -> (b, m, n)>
#rows = affine_map<(b, m, n) -> (b, m)>
#scalar = affine_map<(b, m, n) -> ()>
func.func @batch_scale_mask(%x: tensor<3x33x77xbf16>, %w: tensor<3x65x77xbf16>, %c: tensor<3x33x65xf32>,
                            %scale: tensor<3x33xf32>, %alpha: tensor<f32>, %mask: tensor<3x33x65xi1>) -> tensor<3x33x65xf32> {
  %neg = arith.constant -1.0 : f32
  %y = linalg.batch_matmul indexing_maps = [#a, #b, #c]
      ins(%x, %w : tensor<3x33x77xbf16>, tensor<3x65x77xbf16>)
      outs(%c : tensor<3x33x65xf32>) -> tensor<3x33x65xf32>
  %e = tensor.empty() : tensor<3x33x65xf32>
  %r = linalg.generic {indexing_maps = [#full, #rows, #scalar, #full, #full],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%y, %scale, %alpha, %mask : tensor<3x33x65xf32>, tensor<3x33xf32>, tensor<f32>, tensor<3x33x65xi1>)
      outs(%e : tensor<3x33x65xf32>) {
  ^bb0(%v: f32, %s: f32, %al: f32, %m: i1, %o: f32):
    %sv = arith.mulf %v, %s : f32
    %av = arith.mulf %sv, %al : f32
    %vv = arith.mulf %av, %v : f32
    %kept = arith.select %m, %vv, %neg : f32
    linalg.yield %kept : f32
  } -> tensor<3x33x65xf32>
  return %r : tensor<3x33x65xf32>
}

// -----

// Two products of one shape with equal epilogues share a kernel; a third
// with another body gets its own.

// CHECK-LABEL: gpu.module @qat_contraction_64x64x64_tf32_f32_64x64_epilogue
// CHECK-NOT:   gpu.module
// CHECK-LABEL: gpu.module @qat_contraction_64x64x64_tf32_f32_64x64_epilogue_0
// CHECK-NOT:   gpu.module
// CHECK-LABEL: func.func @shared(
// CHECK:         gpu.launch_func @qat_contraction_64x64x64_tf32_f32_64x64_epilogue::
// CHECK:         gpu.launch_func @qat_contraction_64x64x64_tf32_f32_64x64_epilogue::
// CHECK:         gpu.launch_func @qat_contraction_64x64x64_tf32_f32_64x64_epilogue_0::
#id = affine_map<(m, n) -> (m, n)>
func.func @shared(%x: tensor<64x64xf32>, %w: tensor<64x64xf32>) -> (tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x64xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %y1 = linalg.matmul ins(%x, %w : tensor<64x64xf32>, tensor<64x64xf32>) outs(%z : tensor<64x64xf32>) -> tensor<64x64xf32>
  %r1 = linalg.exp ins(%y1 : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %y2 = linalg.matmul ins(%w, %x : tensor<64x64xf32>, tensor<64x64xf32>) outs(%z : tensor<64x64xf32>) -> tensor<64x64xf32>
  %r2 = linalg.exp ins(%y2 : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %y3 = linalg.matmul ins(%x, %x : tensor<64x64xf32>, tensor<64x64xf32>) outs(%z : tensor<64x64xf32>) -> tensor<64x64xf32>
  %r3 = linalg.log ins(%y3 : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %r1, %r2, %r3 : tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>
}

// -----

// What does not fuse (each keeps its own op after a plain kernel): a
// consumer that reads the result transposed, a reduction, two different
// consumers, a consumer in another block.

// CHECK-LABEL: func.func @not_fused(
// CHECK:         gpu.launch_func @qat_contraction_40x24x16_tf32_f32_64x64::
// CHECK:         linalg.transpose
// CHECK:         gpu.launch_func @qat_contraction_40x24x16_tf32_f32_64x64::
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK:         gpu.launch_func @qat_contraction_40x24x16_tf32_f32_64x64::
// CHECK:         linalg.exp
// CHECK:         linalg.log
// CHECK:         gpu.launch_func @qat_contraction_40x24x16_tf32_f32_64x64::
// CHECK:         scf.for
// CHECK:           linalg.exp
// CHECK-NOT:   _epilogue
#id = affine_map<(m, n) -> (m, n)>
#t = affine_map<(m, n) -> (n, m)>
#sum = affine_map<(m, n) -> (m)>
func.func @not_fused(%x: tensor<40x16xf32>, %w: tensor<16x24xf32>)
    -> (tensor<24x40xf32>, tensor<40xf32>, tensor<40x24xf32>, tensor<40x24xf32>, tensor<40x24xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<40x24xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<40x24xf32>) -> tensor<40x24xf32>
  %y1 = linalg.matmul ins(%x, %w : tensor<40x16xf32>, tensor<16x24xf32>) outs(%z : tensor<40x24xf32>) -> tensor<40x24xf32>
  %et = tensor.empty() : tensor<24x40xf32>
  %r1 = linalg.transpose ins(%y1 : tensor<40x24xf32>) outs(%et : tensor<24x40xf32>) permutation = [1, 0]
  %y2 = linalg.matmul ins(%x, %w : tensor<40x16xf32>, tensor<16x24xf32>) outs(%z : tensor<40x24xf32>) -> tensor<40x24xf32>
  %ev = tensor.empty() : tensor<40xf32>
  %zv = linalg.fill ins(%zero : f32) outs(%ev : tensor<40xf32>) -> tensor<40xf32>
  %r2 = linalg.generic {indexing_maps = [#id, #sum], iterator_types = ["parallel", "reduction"]}
      ins(%y2 : tensor<40x24xf32>) outs(%zv : tensor<40xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %v, %acc : f32
    linalg.yield %s : f32
  } -> tensor<40xf32>
  %y3 = linalg.matmul ins(%x, %w : tensor<40x16xf32>, tensor<16x24xf32>) outs(%z : tensor<40x24xf32>) -> tensor<40x24xf32>
  %r3 = linalg.exp ins(%y3 : tensor<40x24xf32>) outs(%e : tensor<40x24xf32>) -> tensor<40x24xf32>
  %r4 = linalg.log ins(%y3 : tensor<40x24xf32>) outs(%e : tensor<40x24xf32>) -> tensor<40x24xf32>
  %y5 = linalg.matmul ins(%x, %w : tensor<40x16xf32>, tensor<16x24xf32>) outs(%z : tensor<40x24xf32>) -> tensor<40x24xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %r5 = scf.for %i = %c0 to %c3 step %c1 iter_args(%it = %e) -> tensor<40x24xf32> {
    %ex = linalg.exp ins(%y5 : tensor<40x24xf32>) outs(%it : tensor<40x24xf32>) -> tensor<40x24xf32>
    scf.yield %ex : tensor<40x24xf32>
  }
  return %r1, %r2, %r3, %r4, %r5 : tensor<24x40xf32>, tensor<40xf32>, tensor<40x24xf32>, tensor<40x24xf32>, tensor<40x24xf32>
}

// -----

// linalg.index is the element's position: a causal mask of a batch of
// scores Q K^T (the batch on the grid's y, rows and columns of the tile).

// CHECK-LABEL: gpu.module @qat_contraction_2x40x40x16_tf32_f32_64x64_epilogue
// CHECK:         %[[BATCH:.*]] = gpu.block_id  y
// CHECK:         nvgpu.mma.sync
// CHECK:         scf.if
// CHECK:           arith.cmpi ule, %[[COL:.*]], %[[ROW:.*]] : index
// CHECK:           arith.select
// CHECK:           vector.store %{{.*}}, %{{.*}}[%[[BATCH]], %[[ROW]], %[[COL]]]
// CHECK-LABEL: func.func @causal(
// CHECK-NOT:     linalg.generic
#q = affine_map<(b, m, n, k) -> (b, m, k)>
#k = affine_map<(b, m, n, k) -> (b, n, k)>
#s = affine_map<(b, m, n, k) -> (b, m, n)>
#id3 = affine_map<(b, m, n) -> (b, m, n)>
func.func @causal(%q: tensor<2x40x16xf32>, %k: tensor<2x40x16xf32>) -> tensor<2x40x40xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<2x40x40xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x40x40xf32>) -> tensor<2x40x40xf32>
  %s = linalg.batch_matmul indexing_maps = [#q, #k, #s]
      ins(%q, %k : tensor<2x40x16xf32>, tensor<2x40x16xf32>) outs(%z : tensor<2x40x40xf32>) -> tensor<2x40x40xf32>
  %m = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<2x40x40xf32>) outs(%e : tensor<2x40x40xf32>) {
  ^bb0(%v: f32, %o: f32):
    %i = linalg.index 1 : index
    %j = linalg.index 2 : index
    %keep = arith.cmpi ule, %j, %i : index
    %r = arith.select %keep, %v, %ninf : f32
    linalg.yield %r : f32
  } -> tensor<2x40x40xf32>
  return %m : tensor<2x40x40xf32>
}

// -----

// A chain that starts with a linalg.generic (no named op to generalize
// first): the scaled scores plus a broadcast mask, read by a softmax's
// maximum and returned, fuse into one epilogue that the kernel applies and
// the reduction reads from the kernel's result.

// CHECK-LABEL: gpu.module @qat_contraction_4x16x16x16_tf32_f32_64x64_epilogue
// CHECK:         arith.constant 2.500000e-01 : f32
// CHECK:         nvgpu.mma.sync
// CHECK:         arith.mulf
// CHECK:         memref.load
// CHECK:         arith.addf
// CHECK-LABEL: func.func @generic_chain(
// CHECK-NOT:     linalg.generic
// CHECK-NOT:     linalg.broadcast
// CHECK:         gpu.launch_func @qat_contraction_4x16x16x16_tf32_f32_64x64_epilogue::@qat_contraction_mma_sync {{.*}} args({{.*}}, {{.*}}, %{{.*}} : memref<16x16xf32>, %[[OUT:.*]] : memref<4x16x16xf32>)
// CHECK:         %[[T:.*]] = bufferization.to_tensor %[[OUT]]
// CHECK:         linalg.reduce ins(%[[T]]
// CHECK:         return %{{.*}}, %[[T]]
#id3c = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @generic_chain(%a: tensor<4x16x16xf32>, %b: tensor<4x16x16xf32>)
    -> (tensor<4x16xf32>, tensor<4x16x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %low = arith.constant -1.0e30 : f32
  %quarter = arith.constant 2.500000e-01 : f32
  %mask = arith.constant dense<1.0> : tensor<16x16xf32>
  %e = tensor.empty() : tensor<4x16x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16x16xf32>) -> tensor<4x16x16xf32>
  %p = linalg.batch_matmul ins(%a, %b : tensor<4x16x16xf32>, tensor<4x16x16xf32>)
      outs(%z : tensor<4x16x16xf32>) -> tensor<4x16x16xf32>
  %scaled = linalg.generic {indexing_maps = [#id3c, #id3c], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%p : tensor<4x16x16xf32>) outs(%e : tensor<4x16x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %quarter : f32
    linalg.yield %m : f32
  } -> tensor<4x16x16xf32>
  %bc = linalg.broadcast ins(%mask : tensor<16x16xf32>) outs(%e : tensor<4x16x16xf32>) dimensions = [0]
  %masked = linalg.generic {indexing_maps = [#id3c, #id3c, #id3c], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%scaled, %bc : tensor<4x16x16xf32>, tensor<4x16x16xf32>) outs(%e : tensor<4x16x16xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %s = arith.addf %in, %in2 : f32
    linalg.yield %s : f32
  } -> tensor<4x16x16xf32>
  %e2 = tensor.empty() : tensor<4x16xf32>
  %init = linalg.fill ins(%low : f32) outs(%e2 : tensor<4x16xf32>) -> tensor<4x16xf32>
  %max = linalg.reduce ins(%masked : tensor<4x16x16xf32>) outs(%init : tensor<4x16xf32>) dimensions = [2]
    (%in: f32, %acc: f32) {
      %x = arith.maximumf %in, %acc : f32
      linalg.yield %x : f32
    }
  return %max, %masked : tensor<4x16xf32>, tensor<4x16x16xf32>
}
