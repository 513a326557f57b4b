// RUN: qat-opt %s --split-input-file --qat-gpu-fuse-reduction-siblings | FileCheck %s

// A loss split into slices and its gradient: one op reads y and t once,
// accumulates the slices and stores the gradient, indexed like y and t in
// the split view and collapsed back for its users.
// CHECK-LABEL: func.func @loss_and_gradient(
//  CHECK-SAME:     %[[Y:[^:]*]]: tensor<64x128xf32>, %[[T:[^:]*]]: tensor<64x128xf32>
//   CHECK-DAG:   %[[YS:.*]] = tensor.expand_shape %[[Y]] {{\[}}[0, 1], [2]] output_shape [4, 16, 128]
//   CHECK-DAG:   %[[TS:.*]] = tensor.expand_shape %[[T]] {{\[}}[0, 1], [2]] output_shape [4, 16, 128]
//       CHECK:   %[[ES:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] output_shape [4, 16, 128] : tensor<64x128xbf16> into tensor<4x16x128xbf16>
//       CHECK:   %[[F:.*]]:2 = linalg.generic {indexing_maps = [#[[IN:.*]], #[[IN]], #[[P:.*]], #[[IN]]], iterator_types = ["parallel", "parallel", "reduction"]}
//  CHECK-SAME:       ins(%[[YS]], %[[TS]] : {{.*}}) outs(%{{.*}}, %[[ES]] : tensor<4x128xf32>, tensor<4x16x128xbf16>)
//       CHECK:   ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %[[ACC:.*]]: f32, %{{.*}}: bf16):
//       CHECK:     %[[D:.*]] = arith.subf %[[A]], %[[B]]
//       CHECK:     %[[S:.*]] = arith.addf %[[ACC]]
//       CHECK:     %[[D2:.*]] = arith.subf %[[A]], %[[B]]
//       CHECK:     %[[G:.*]] = arith.truncf %[[D2]] : f32 to bf16
//       CHECK:     linalg.yield %[[S]], %[[G]] : f32, bf16
//       CHECK:   %[[DY:.*]] = tensor.collapse_shape %[[F]]#1 {{\[}}[0, 1], [2]] : tensor<4x16x128xbf16> into tensor<64x128xbf16>
//       CHECK:   return %[[F]]#0, %[[DY]]
#id = affine_map<(m, n) -> (m, n)>
#in = affine_map<(s, n, r) -> (s, r, n)>
#part = affine_map<(s, n, r) -> (s, n)>
func.func @loss_and_gradient(%y: tensor<64x128xf32>, %t: tensor<64x128xf32>)
    -> (tensor<4x128xf32>, tensor<64x128xbf16>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x128xbf16>
  %dy = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %t : tensor<64x128xf32>, tensor<64x128xf32>) outs(%e : tensor<64x128xbf16>) {
  ^bb0(%a: f32, %b: f32, %o: bf16):
    %d = arith.subf %a, %b : f32
    %g = arith.truncf %d : f32 to bf16
    linalg.yield %g : bf16
  } -> tensor<64x128xbf16>
  %ys = tensor.expand_shape %y [[0, 1], [2]] output_shape [4, 16, 128] : tensor<64x128xf32> into tensor<4x16x128xf32>
  %ts = tensor.expand_shape %t [[0, 1], [2]] output_shape [4, 16, 128] : tensor<64x128xf32> into tensor<4x16x128xf32>
  %pe = tensor.empty() : tensor<4x128xf32>
  %p0 = linalg.fill ins(%zero : f32) outs(%pe : tensor<4x128xf32>) -> tensor<4x128xf32>
  %p = linalg.generic {indexing_maps = [#in, #in, #part], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ys, %ts : tensor<4x16x128xf32>, tensor<4x16x128xf32>) outs(%p0 : tensor<4x128xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %d = arith.subf %a, %b : f32
    %q = arith.mulf %d, %d : f32
    %s = arith.addf %acc, %q : f32
    linalg.yield %s : f32
  } -> tensor<4x128xf32>
  return %p, %dy : tensor<4x128xf32>, tensor<64x128xbf16>
}

// -----

// Without a split the reduction's own map indexes the gradient. The map
// reads only some of the reduction's inputs.
// CHECK-LABEL: func.func @unsplit(
//       CHECK:   %[[F:.*]]:2 = linalg.generic {indexing_maps = [#[[T:.*]], #[[T]], #[[C:.*]], #[[T]]], iterator_types = ["parallel", "reduction"]}
//       CHECK:   return %[[F]]#0, %[[F]]#1
#t = affine_map<(n, m) -> (m, n)>
#col = affine_map<(n, m) -> (n)>
#id = affine_map<(m, n) -> (m, n)>
func.func @unsplit(%y: tensor<16x8xf32>, %w: tensor<16x8xf32>) -> (tensor<8xf32>, tensor<16x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %pe = tensor.empty() : tensor<8xf32>
  %p0 = linalg.fill ins(%zero : f32) outs(%pe : tensor<8xf32>) -> tensor<8xf32>
  %p = linalg.generic {indexing_maps = [#t, #t, #col], iterator_types = ["parallel", "reduction"]}
      ins(%y, %w : tensor<16x8xf32>, tensor<16x8xf32>) outs(%p0 : tensor<8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %q = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %q : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %e = tensor.empty() : tensor<16x8xf32>
  %sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<16x8xf32>) outs(%e : tensor<16x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %q = arith.mulf %a, %a : f32
    linalg.yield %q : f32
  } -> tensor<16x8xf32>
  return %p, %sq : tensor<8xf32>, tensor<16x8xf32>
}

// -----

// Not fused: the map reads a tensor the reduction does not; the map uses
// the reduction's result; the map's result is used before the reduction;
// the map depends on its index.
// CHECK-LABEL: func.func @other_input(
//   CHECK-COUNT-2: linalg.generic
// CHECK-LABEL: func.func @dependent(
//   CHECK-COUNT-2: linalg.generic
// CHECK-LABEL: func.func @used_between(
//   CHECK-COUNT-3: linalg.generic
// CHECK-LABEL: func.func @indexed(
//   CHECK-COUNT-2: linalg.generic
#id = affine_map<(m, n) -> (m, n)>
#row = affine_map<(m, n) -> (m)>
func.func @other_input(%y: tensor<8x8xf32>, %z: tensor<8x8xf32>, %p0: tensor<8xf32>)
    -> (tensor<8xf32>, tensor<8x8xf32>) {
  %p = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%y : tensor<8x8xf32>) outs(%p0 : tensor<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %m = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %z : tensor<8x8xf32>, tensor<8x8xf32>) outs(%z : tensor<8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %q = arith.mulf %a, %b : f32
    linalg.yield %q : f32
  } -> tensor<8x8xf32>
  return %p, %m : tensor<8xf32>, tensor<8x8xf32>
}

func.func @dependent(%y: tensor<8x8xf32>, %p0: tensor<8xf32>) -> (tensor<8xf32>, tensor<8x8xf32>) {
  %m = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<8x8xf32>) outs(%y : tensor<8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %q = arith.mulf %a, %a : f32
    linalg.yield %q : f32
  } -> tensor<8x8xf32>
  %p = linalg.generic {indexing_maps = [#id, #id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%y, %m : tensor<8x8xf32>, tensor<8x8xf32>) outs(%p0 : tensor<8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %s = arith.addf %acc, %b : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  return %p, %m : tensor<8xf32>, tensor<8x8xf32>
}

func.func @used_between(%y: tensor<8x8xf32>, %p0: tensor<8xf32>) -> (tensor<8xf32>, tensor<8x8xf32>) {
  %m = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<8x8xf32>) outs(%y : tensor<8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %q = arith.mulf %a, %a : f32
    linalg.yield %q : f32
  } -> tensor<8x8xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m : tensor<8x8xf32>) outs(%y : tensor<8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %q = arith.addf %a, %a : f32
    linalg.yield %q : f32
  } -> tensor<8x8xf32>
  %p = linalg.generic {indexing_maps = [#id, #id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%y, %n : tensor<8x8xf32>, tensor<8x8xf32>) outs(%p0 : tensor<8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %s = arith.addf %acc, %b : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  return %p, %m : tensor<8xf32>, tensor<8x8xf32>
}

func.func @indexed(%y: tensor<8x8xf32>, %p0: tensor<8xf32>) -> (tensor<8xf32>, tensor<8x8xf32>) {
  %p = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%y : tensor<8x8xf32>) outs(%p0 : tensor<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %m = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<8x8xf32>) outs(%y : tensor<8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %i = linalg.index 0 : index
    %c = arith.index_cast %i : index to i32
    %f = arith.sitofp %c : i32 to f32
    %q = arith.mulf %a, %f : f32
    linalg.yield %q : f32
  } -> tensor<8x8xf32>
  return %p, %m : tensor<8xf32>, tensor<8x8xf32>
}
