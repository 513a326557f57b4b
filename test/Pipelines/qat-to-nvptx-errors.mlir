// RUN: not qat-opt %s --qat-to-nvptx 2>&1 | FileCheck %s

// Work that no GPU strategy mapped would run on the host over device
// buffers: the pipeline stops with an error naming the operation.
// CHECK: error: 'linalg.generic' op reads or writes buffer elements on the host, but buffers live in GPU memory: no GPU strategy mapped this operation
func.func @unmapped(%x: tensor<8xf32>) -> tensor<8xf32> {
  %e = tensor.empty() : tensor<8xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %b = arith.addf %a, %a : f32
    linalg.yield %b : f32
  } -> tensor<8xf32>
  return %y : tensor<8xf32>
}
