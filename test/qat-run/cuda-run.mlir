// qat-run --target=cuda JIT-runs a function on the GPU: inputs uploaded,
// kernels launched through the qat CUDA runtime, results downloaded. Values
// are checked against numbers computed by hand, the numpy reference of the
// qat ops, and the same function on the CPU (qat-to-cpu, an independent
// lowering).

// REQUIRES: cuda-gpu
// RUN: rm -rf %t && mkdir -p %t

// Linalg ops: elementwise, a column reduction, a full reduction (one thread).
// RUN: qat-run %s --target=cuda --entry=affine --arg=iota --arg=const:0.5 | FileCheck %s --check-prefix=AFFINE
// AFFINE:      result 0: shape=(2, 3) dtype=float32
// AFFINE-NEXT: {{\[\[}} 0.0, 0.462117, 0.761594],
// AFFINE-NEXT: {{^}} [0.905148, 0.964028, 0.986614]]
// AFFINE-NEXT: result 1: shape=(3,) dtype=float32
// AFFINE-NEXT: [3.0, 5.0, 7.0]
// AFFINE-NEXT: result 2: shape=() dtype=float32
// AFFINE-NEXT: 5.0

// qat ops (the fused row kernel) against the numpy reference.
// RUN: qat-run %s --target=cuda --entry=quantizer --arg=normal:0,1 --seed=5 --save-inputs=%t/q --out=%t/s.npy --out=%t/y.npy
// RUN: %python %S/Inputs/npytool.py compare %t/s.npy "ref.scale(x, ref.Quantizer('signed', 4, 'absmax', 'per_row'))" x=%t/q/arg0.npy --rtol=1e-6 --import=%qat_src_root/test/Integration/reference.py | FileCheck %s --check-prefix=OK
// RUN: %python %S/Inputs/npytool.py compare %t/y.npy "ref.fake_quant(x, s, ref.Quantizer('signed', 4, 'absmax', 'per_row'))" x=%t/q/arg0.npy s=%t/s.npy --rtol=1e-6 --import=%qat_src_root/test/Integration/reference.py | FileCheck %s --check-prefix=OK

// Dynamic shapes and a float matmul, against the CPU.
// RUN: qat-run %s --target=cuda --entry=matmul --arg=normal@33x70 --arg=normal@70x45 --seed=2 --out=%t/gpu.npy
// RUN: qat-run %s --entry=matmul --arg=normal@33x70 --arg=normal@70x45 --seed=2 --out=%t/cpu.npy
// RUN: %python %S/Inputs/npytool.py compare %t/gpu.npy "c" c=%t/cpu.npy --rtol=1e-5 --atol=1e-5 | FileCheck %s --check-prefix=OK

// A whole QuEST training step (examples/quest_linear.mlir) against the CPU.
// RUN: qat-run %qat_src_root/examples/quest_linear.mlir --target=cuda --arg=normal --arg=normal:0,0.1 --arg=normal --arg=const:0.1 --seed=7 --out-dir=%t/quest-gpu
// RUN: qat-run %qat_src_root/examples/quest_linear.mlir --arg=normal --arg=normal:0,0.1 --arg=normal --arg=const:0.1 --seed=7 --out-dir=%t/quest-cpu
// RUN: %python %S/Inputs/npytool.py compare %t/quest-gpu/result0.npy "c" c=%t/quest-cpu/result0.npy --rtol=1e-4 --atol=1e-5 | FileCheck %s --check-prefix=OK
// RUN: %python %S/Inputs/npytool.py compare %t/quest-gpu/result1.npy "c" c=%t/quest-cpu/result1.npy --rtol=1e-4 --atol=1e-5 | FileCheck %s --check-prefix=OK
// RUN: %python %S/Inputs/npytool.py compare %t/quest-gpu/result2.npy "c" c=%t/quest-cpu/result2.npy --rtol=1e-4 | FileCheck %s --check-prefix=OK
// OK: OK

// Timing with CUDA events; every timed run starts from the original inputs
// (the function updates its argument in place).
// RUN: qat-run %s --target=cuda --entry=inplace --arg=const:1@1000 --out=%t/once.npy
// RUN: qat-run %s --target=cuda --entry=inplace --arg=const:1@1000 --time --repeat=5 --warmup=2 --out=%t/timed.npy | FileCheck %s --check-prefix=TIME
// RUN: cmp %t/once.npy %t/timed.npy
// TIME: time: median {{[0-9.]+}} {{ns|us|ms|s}}, min {{.*}}, max {{.*}} over 5 runs (2 warm-up) on {{.*}} (sm_{{[0-9]+}}), CUDA events

// PTX instead of a cubin: the driver compiles it when the module loads.
// RUN: qat-run %s --target=cuda --entry=affine --arg=iota --arg=const:0.5 --pipeline-options=format=isa | FileCheck %s --check-prefix=AFFINE

// A CUDA error names the call and the CUDA error: kernels built for a chip
// the device is not (sm_75: no Hopper or Ampere GPU loads its cubin).
// RUN: not qat-run %s --target=cuda --entry=inplace --arg=const:1@8 --gpu-chip=sm_75 2>&1 | FileCheck %s --check-prefix=CHIP
// CHIP: qat-run: error: cannot load the kernels of 'inplace' on {{.*}}: cuModuleLoadData for the embedded GPU binary (built for another chip or toolkit?) failed: CUDA_ERROR_NO_BINARY_FOR_GPU

#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @affine(%x: tensor<2x3xf32>, %scale: f32)
    -> (tensor<2x3xf32>, tensor<3xf32>, tensor<f32>) {
  %e = tensor.empty() : tensor<2x3xf32>
  %t = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.mulf %v, %scale : f32
    %th = math.tanh %m : f32
    linalg.yield %th : f32
  } -> tensor<2x3xf32>
  %zero = arith.constant 0.0 : f32
  %ec = tensor.empty() : tensor<3xf32>
  %zc = linalg.fill ins(%zero : f32) outs(%ec : tensor<3xf32>) -> tensor<3xf32>
  %sums = linalg.reduce ins(%x : tensor<2x3xf32>) outs(%zc : tensor<3xf32>) dimensions = [0]
    (%in: f32, %acc: f32) {
      %a = arith.addf %in, %acc : f32
      linalg.yield %a : f32
    }
  %ninf = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<f32>
  %z0 = linalg.fill ins(%ninf : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %mx = linalg.reduce ins(%x : tensor<2x3xf32>) outs(%z0 : tensor<f32>) dimensions = [0, 1]
    (%in: f32, %acc: f32) {
      %a = arith.maximumf %in, %acc : f32
      linalg.yield %a : f32
    }
  return %t, %sums, %mx : tensor<2x3xf32>, tensor<3xf32>, tensor<f32>
}

func.func @quantizer(%x: tensor<8x64xf32>) -> (tensor<8x1xf32>, tensor<8x64xf32>) {
  %s = qat.scale %x as <signed, 4 bits, absmax, per_row> : tensor<8x64xf32> -> tensor<8x1xf32>
  %y = qat.fake_quant %x, %s as <signed, 4 bits, absmax, per_row> with ste : tensor<8x64xf32>, tensor<8x1xf32>
  return %s, %y : tensor<8x1xf32>, tensor<8x64xf32>
}

func.func @matmul(%a: tensor<?x?xf32>, %b: tensor<?x?xf32>) -> tensor<?x?xf32> {
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
