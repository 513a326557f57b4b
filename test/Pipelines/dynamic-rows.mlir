// RUN: qat-opt %s --qat-to-nvptx="chip=sm_90 format=isa" | FileCheck %s --check-prefix=GPU
// RUN: qat-opt %s --qat-to-cpu | FileCheck %s --check-prefix=CPU

// A QuEST linear step whose tokens M are known only at run time compiles
// once, for every M, on both pipelines: the row kernels, qat.matmul and the
// linalg glue around them (an elementwise loss gradient, a float
// contraction, a full reduction) take their sizes from the arguments.
// (The numbers: test/Integration/cases.py, dynamic_row_cases.)

// GPU-LABEL: llvm.func @quest_step(
//   GPU-NOT:   qat.
//       GPU:   gpu.launch_func
//       GPU:   gpu.launch_func
//       GPU:   gpu.launch_func
//       GPU:   gpu.launch_func
//       GPU:   llvm.return

// CPU-LABEL: llvm.func @quest_step(
//   CPU-NOT:   qat.
//       CPU:   llvm.return

#q4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
#id = affine_map<(m, n) -> (m, n)>
func.func @quest_step(%x: tensor<?x256xbf16>, %qw: tensor<64x256xi8>,
                      %sw: tensor<64x1xf32>, %wq: tensor<64x256xf32>,
                      %target: tensor<?x64xf32>)
    -> (tensor<?x256xbf16>, tensor<?x256xf32>, tensor<f32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %m = tensor.dim %x, %c0 : tensor<?x256xbf16>
  %xh = qat.hadamard %x block 128 : tensor<?x256xbf16>
  %sx = qat.scale %xh as #q4 : tensor<?x256xbf16> -> tensor<?x1xf32>
  %qx = qat.quantize %xh, %sx as #q4 : tensor<?x256xbf16>, tensor<?x1xf32> -> tensor<?x256xi8>
  %y = qat.matmul %qx, %qw, %sx, %sw as #q4, #q4
      : tensor<?x256xi8>, tensor<64x256xi8>, tensor<?x1xf32>, tensor<64x1xf32> -> tensor<?x64xf32>
  %dyInit = tensor.empty(%m) : tensor<?x64xf32>
  %dy = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %target : tensor<?x64xf32>, tensor<?x64xf32>) outs(%dyInit : tensor<?x64xf32>) {
  ^bb0(%yv: f32, %tv: f32, %unused: f32):
    %d = arith.subf %yv, %tv : f32
    linalg.yield %d : f32
  } -> tensor<?x64xf32>
  %gInit = tensor.empty(%m) : tensor<?x256xf32>
  %gZero = linalg.fill ins(%zero : f32) outs(%gInit : tensor<?x256xf32>) -> tensor<?x256xf32>
  %g = linalg.matmul ins(%dy, %wq : tensor<?x64xf32>, tensor<64x256xf32>)
      outs(%gZero : tensor<?x256xf32>) -> tensor<?x256xf32>
  %gbInit = tensor.empty(%m) : tensor<?x256xbf16>
  %gb = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g : tensor<?x256xf32>) outs(%gbInit : tensor<?x256xbf16>) {
  ^bb0(%gv: f32, %unused: bf16):
    %t = arith.truncf %gv : f32 to bf16
    linalg.yield %t : bf16
  } -> tensor<?x256xbf16>
  %mask = qat.fake_quant_grad %gb, %xh, %sx as #q4 with trust : tensor<?x256xbf16>, tensor<?x1xf32>
  %dx = qat.hadamard %mask block 128 : tensor<?x256xbf16>
  %s0 = tensor.empty() : tensor<f32>
  %s1 = linalg.fill ins(%zero : f32) outs(%s0 : tensor<f32>) -> tensor<f32>
  %sse = linalg.reduce ins(%dy : tensor<?x64xf32>) outs(%s1 : tensor<f32>) dimensions = [0, 1]
    (%v: f32, %acc: f32) {
      %sq = arith.mulf %v, %v : f32
      %r = arith.addf %sq, %acc : f32
      linalg.yield %r : f32
    }
  return %dx, %g, %sse : tensor<?x256xbf16>, tensor<?x256xf32>, tensor<f32>
}
