// Second module of aot.mlir: a dynamic size and integers, and a descriptor
// type (rank-1 f32) that the first header declares too.
#id = affine_map<(d0) -> (d0)>
func.func @square(%x: tensor<?xi8>, %w: tensor<3xf32>) -> (tensor<?xi32>, tensor<3xf32>) {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?xi8>
  %e = tensor.empty(%n) : tensor<?xi32>
  %sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<?xi8>) outs(%e : tensor<?xi32>) {
  ^bb0(%v: i8, %o: i32):
    %w32 = arith.extsi %v : i8 to i32
    %m = arith.muli %w32, %w32 : i32
    linalg.yield %m : i32
  } -> tensor<?xi32>
  %ew = tensor.empty() : tensor<3xf32>
  %inc = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%w : tensor<3xf32>) outs(%ew : tensor<3xf32>) {
  ^bb0(%v: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %a = arith.addf %v, %one : f32
    linalg.yield %a : f32
  } -> tensor<3xf32>
  return %sq, %inc : tensor<?xi32>, tensor<3xf32>
}
