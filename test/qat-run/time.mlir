// --time: warm-up runs, then timed runs, reported as median, min and max;
// the results of the last run are still printed (or written).

// RUN: qat-run %s --arg=normal@64x64 --arg=normal@64x64 --time --repeat=5 --warmup=2 | FileCheck %s
// CHECK: result 0: shape=(64, 64) dtype=float32
// CHECK: time: median {{[0-9]+\.[0-9][0-9][0-9]}} {{ns|us|ms|s}}, min {{[0-9]+\.[0-9][0-9][0-9]}} {{ns|us|ms|s}}, max {{[0-9]+\.[0-9][0-9][0-9]}} {{ns|us|ms|s}} over 5 runs (2 warm-up)

// The function updates its argument in place (the generic writes into %a):
// every timed run starts from the original inputs, so all runs agree.
// RUN: rm -rf %t && mkdir -p %t
// RUN: qat-run %s --entry=inplace --arg=const:1@4 --out=%t/once.npy
// RUN: qat-run %s --entry=inplace --arg=const:1@4 --time --repeat=3 --out=%t/timed.npy | FileCheck %s --check-prefix=TIMED
// RUN: cmp %t/once.npy %t/timed.npy
// TIMED-NOT: result
// TIMED: time: median {{.*}} over 3 runs (3 warm-up)

func.func @main(%a: tensor<?x?xf32>, %b: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = tensor.dim %a, %c0 : tensor<?x?xf32>
  %n = tensor.dim %b, %c1 : tensor<?x?xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m, %n) : tensor<?x?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<?x?xf32>) -> tensor<?x?xf32>
  %c = linalg.matmul ins(%a, %b : tensor<?x?xf32>, tensor<?x?xf32>)
                     outs(%acc : tensor<?x?xf32>) -> tensor<?x?xf32>
  return %c : tensor<?x?xf32>
}

func.func @inplace(%a: tensor<?xf32>) -> tensor<?xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]} outs(%a : tensor<?xf32>) {
  ^bb0(%x: f32):
    %y = arith.addf %x, %x : f32
    linalg.yield %y : f32
  } -> tensor<?xf32>
  return %r : tensor<?xf32>
}
