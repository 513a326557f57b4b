// REQUIRES: mlir-runner
// DEFINE: %{lower} = --convert-scf-to-cf --convert-vector-to-llvm --convert-math-to-llvm --expand-strided-metadata --lower-affine --arith-expand --convert-arith-to-llvm --finalize-memref-to-llvm --convert-func-to-llvm --convert-cf-to-llvm --reconcile-unrealized-casts
// RUN: qat-opt %s --qat-gpu-promote-accumulators --qat-gpu-vectorize-parallel-loops --qat-gpu-batch-loop-loads -o %t.vec.mlir
// RUN: FileCheck %s --check-prefix=IR < %t.vec.mlir
// RUN: qat-opt %s %{lower} | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils > %t.ref
// RUN: qat-opt %t.vec.mlir %{lower} | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils > %t.vec
// RUN: diff %t.ref %t.vec
// RUN: FileCheck %s --check-prefix=OUT < %t.vec

// The glue kernels' loop rewrites against the loops they start from, run on
// the CPU (scf.parallel as nested loops) on the same data: a loss-gradient
// style map (per-row scale broadcast, math.exp, a bf16 result) and column
// sums accumulated in an allocation, and a loss-style loop that sums squares
// over rows and stores each row's scaled difference. Promoted, vectorized
// and batched (the loads of four rows before their stores), both print
// the same 864 values (diff), which are not all alike (OUT).

// IR: vector.load {{.*}} : memref<8x48xf32>, vector<4xf32>
// IR: math.exp {{.*}} : vector<4xf32>
// IR: vector.store {{.*}} : memref<8x48xbf16>, vector<4xbf16>
// IR: scf.for {{.*}} iter_args({{.*}}) -> (vector<4xf32>)
// IR: scf.for {{.*}} step %c4{{.*}} iter_args({{.*}}) -> (vector<4xf32>)
// IR-NOT: vector.store
// IR: vector.load {{.*}} : memref<8x48xf32>, vector<4xf32>
// IR-NOT: vector.store
// IR: vector.load {{.*}} : memref<8x48xf32>, vector<4xf32>
// IR-NOT: vector.store
// IR: vector.load {{.*}} : memref<8x48xf32>, vector<4xf32>
// IR-NOT: vector.store
// IR: vector.load {{.*}} : memref<8x48xf32>, vector<4xf32>
// IR-NOT: vector.store
// IR: vector.load {{.*}} : memref<8x48xf32>, vector<4xf32>
// IR-NOT: vector.store
// IR: vector.load {{.*}} : memref<8x48xf32>, vector<4xf32>
// IR-NOT: vector.store
// IR: vector.load {{.*}} : memref<8x48xf32>, vector<4xf32>
// IR-NOT: vector.store
// IR: vector.load {{.*}} : memref<8x48xf32>, vector<4xf32>
// IR-NOT: vector.load
// IR-COUNT-4: vector.store {{.*}} : memref<8x48xf32>, vector<4xf32>
// IR-NOT: vector.load
// IR: scf.yield

// OUT: 1
// OUT: 3.32171
func.func @glue(%x: memref<8x48xf32>, %y: memref<8x48xf32>, %s: memref<8xf32>,
                %out: memref<8x48xbf16>, %sums: memref<48xf32>,
                %grads: memref<8x48xf32>, %squares: memref<48xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c48 = arith.constant 48 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c48) step (%c1, %c1) {
    %a = memref.load %x[%i, %j] : memref<8x48xf32>
    %b = memref.load %y[%i, %j] : memref<8x48xf32>
    %r = memref.load %s[%i] : memref<8xf32>
    %d = arith.subf %a, %b : f32
    %m = arith.mulf %d, %r : f32
    %e = math.exp %m : f32
    %t = arith.truncf %e : f32 to bf16
    memref.store %t, %out[%i, %j] : memref<8x48xbf16>
    scf.reduce
  }
  %acc = memref.alloc() : memref<48xf32>
  scf.parallel (%j) = (%c0) to (%c48) step (%c1) {
    memref.store %zero, %acc[%j] : memref<48xf32>
    scf.for %k = %c0 to %c8 step %c1 {
      %v = memref.load %x[%k, %j] : memref<8x48xf32>
      %w = memref.load %y[%k, %j] : memref<8x48xf32>
      %p = arith.mulf %v, %w : f32
      %o = memref.load %acc[%j] : memref<48xf32>
      %q = arith.addf %o, %p : f32
      memref.store %q, %acc[%j] : memref<48xf32>
    }
    scf.reduce
  }
  memref.copy %acc, %sums : memref<48xf32> to memref<48xf32>
  memref.dealloc %acc : memref<48xf32>
  %half = arith.constant 0.5 : f32
  %grad = memref.alloc() : memref<8x48xf32>
  %sq = memref.alloc() : memref<48xf32>
  scf.parallel (%j) = (%c0) to (%c48) step (%c1) {
    memref.store %zero, %sq[%j] : memref<48xf32>
    scf.for %k = %c0 to %c8 step %c1 {
      %v = memref.load %x[%k, %j] : memref<8x48xf32>
      %w = memref.load %y[%k, %j] : memref<8x48xf32>
      %d = arith.subf %v, %w : f32
      %g = arith.mulf %d, %half : f32
      memref.store %g, %grad[%k, %j] : memref<8x48xf32>
      %p = arith.mulf %d, %d : f32
      %o = memref.load %sq[%j] : memref<48xf32>
      %q = arith.addf %o, %p : f32
      memref.store %q, %sq[%j] : memref<48xf32>
    }
    scf.reduce
  }
  memref.copy %grad, %grads : memref<8x48xf32> to memref<8x48xf32>
  memref.copy %sq, %squares : memref<48xf32> to memref<48xf32>
  memref.dealloc %grad : memref<8x48xf32>
  memref.dealloc %sq : memref<48xf32>
  return
}

func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c48 = arith.constant 48 : index
  %x = memref.alloc() : memref<8x48xf32>
  %y = memref.alloc() : memref<8x48xf32>
  %s = memref.alloc() : memref<8xf32>
  %out = memref.alloc() : memref<8x48xbf16>
  %sums = memref.alloc() : memref<48xf32>
  %grads = memref.alloc() : memref<8x48xf32>
  %squares = memref.alloc() : memref<48xf32>
  scf.for %i = %c0 to %c8 step %c1 {
    %ii = arith.index_cast %i : index to i32
    %fi = arith.sitofp %ii : i32 to f32
    %q = arith.constant 0.125 : f32
    %si = arith.mulf %fi, %q : f32
    memref.store %si, %s[%i] : memref<8xf32>
    scf.for %j = %c0 to %c48 step %c1 {
      %jj = arith.index_cast %j : index to i32
      %fj = arith.sitofp %jj : i32 to f32
      %a = math.sin %fj : f32
      %b = math.cos %fi : f32
      %c = arith.mulf %a, %b : f32
      %d = arith.addf %fi, %fj : f32
      %e = math.sin %d : f32
      memref.store %c, %x[%i, %j] : memref<8x48xf32>
      memref.store %e, %y[%i, %j] : memref<8x48xf32>
    }
  }
  func.call @glue(%x, %y, %s, %out, %sums, %grads, %squares)
      : (memref<8x48xf32>, memref<8x48xf32>, memref<8xf32>, memref<8x48xbf16>,
         memref<48xf32>, memref<8x48xf32>, memref<48xf32>) -> ()
  scf.for %i = %c0 to %c8 step %c1 {
    scf.for %j = %c0 to %c48 step %c1 {
      %v = memref.load %out[%i, %j] : memref<8x48xbf16>
      %f = arith.extf %v : bf16 to f32
      vector.print %f : f32
    }
  }
  scf.for %j = %c0 to %c48 step %c1 {
    %v = memref.load %sums[%j] : memref<48xf32>
    vector.print %v : f32
  }
  scf.for %i = %c0 to %c8 step %c1 {
    scf.for %j = %c0 to %c48 step %c1 {
      %v = memref.load %grads[%i, %j] : memref<8x48xf32>
      vector.print %v : f32
    }
  }
  scf.for %j = %c0 to %c48 step %c1 {
    %v = memref.load %squares[%j] : memref<48xf32>
    vector.print %v : f32
  }
  return
}
