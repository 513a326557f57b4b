// REQUIRES: mlir-runner
// DEFINE: %{lower} = --one-shot-bufferize=bufferize-function-boundaries --convert-linalg-to-loops --convert-scf-to-cf --convert-vector-to-llvm --convert-math-to-llvm --expand-strided-metadata --lower-affine --arith-expand --convert-arith-to-llvm --finalize-memref-to-llvm --convert-func-to-llvm --convert-cf-to-llvm --reconcile-unrealized-casts
// RUN: qat-opt %s --pass-pipeline="builtin.module(func.func(qat-gpu-parallelize-reductions,qat-gpu-fuse-reduction-siblings))" -o %t.fused.mlir
// RUN: FileCheck %s --check-prefix=IR < %t.fused.mlir
// RUN: qat-opt %s %{lower} | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils > %t.ref
// RUN: qat-opt %t.fused.mlir %{lower} | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils > %t.fused
// RUN: tail -n +2 %t.ref > %t.ref.dy
// RUN: tail -n +2 %t.fused > %t.fused.dy
// RUN: diff %t.ref.dy %t.fused.dy
// RUN: FileCheck %s --check-prefix=LOSS < %t.ref
// RUN: FileCheck %s --check-prefix=LOSS < %t.fused

// The loss and its gradient, as written and after the reduction is split
// into column partials that also store the gradient (IR), run on the CPU
// on the same data: the 3840 gradient values are the same (diff); the sum
// of squares, added in another order, agrees to the 6 digits printed.

// IR: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%arg0, %arg1 : tensor<96x40xf32>, tensor<96x40xf32>) outs(%{{.*}}, %{{.*}} : tensor<40xf32>, tensor<96x40xbf16>)
// LOSS: 962.818
#id = affine_map<(m, n) -> (m, n)>
#all = affine_map<(m, n) -> ()>
func.func @loss(%y: tensor<96x40xf32>, %t: tensor<96x40xf32>) -> (tensor<96x40xbf16>, tensor<f32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<96x40xbf16>
  %dy = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %t : tensor<96x40xf32>, tensor<96x40xf32>) outs(%e : tensor<96x40xbf16>) {
  ^bb0(%a: f32, %b: f32, %o: bf16):
    %d = arith.subf %a, %b : f32
    %g = arith.truncf %d : f32 to bf16
    linalg.yield %g : bf16
  } -> tensor<96x40xbf16>
  %s = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%zero : f32) outs(%s : tensor<f32>) -> tensor<f32>
  %sse = linalg.generic {indexing_maps = [#id, #id, #all], iterator_types = ["reduction", "reduction"]}
      ins(%y, %t : tensor<96x40xf32>, tensor<96x40xf32>) outs(%init : tensor<f32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %d = arith.subf %a, %b : f32
    %q = arith.mulf %d, %d : f32
    %r = arith.addf %acc, %q : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  return %dy, %sse : tensor<96x40xbf16>, tensor<f32>
}

func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c96 = arith.constant 96 : index
  %c40 = arith.constant 40 : index
  %ey = tensor.empty() : tensor<96x40xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>], iterator_types = ["parallel", "parallel"]} outs(%ey : tensor<96x40xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %ii = arith.index_cast %i : index to i32
    %jj = arith.index_cast %j : index to i32
    %fi = arith.sitofp %ii : i32 to f32
    %fj = arith.sitofp %jj : i32 to f32
    %a = math.sin %fi : f32
    %b = math.cos %fj : f32
    %c = arith.mulf %a, %b : f32
    linalg.yield %c : f32
  } -> tensor<96x40xf32>
  %t = linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>], iterator_types = ["parallel", "parallel"]} outs(%ey : tensor<96x40xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %ii = arith.index_cast %i : index to i32
    %jj = arith.index_cast %j : index to i32
    %fi = arith.sitofp %ii : i32 to f32
    %fj = arith.sitofp %jj : i32 to f32
    %d = arith.addf %fi, %fj : f32
    %e = math.sin %d : f32
    linalg.yield %e : f32
  } -> tensor<96x40xf32>
  %dy, %sse = func.call @loss(%y, %t) : (tensor<96x40xf32>, tensor<96x40xf32>) -> (tensor<96x40xbf16>, tensor<f32>)
  %v = tensor.extract %sse[] : tensor<f32>
  vector.print %v : f32
  scf.for %i = %c0 to %c96 step %c1 {
    scf.for %j = %c0 to %c40 step %c1 {
      %g = tensor.extract %dy[%i, %j] : tensor<96x40xbf16>
      %f = arith.extf %g : bf16 to f32
      vector.print %f : f32
    }
  }
  return
}
