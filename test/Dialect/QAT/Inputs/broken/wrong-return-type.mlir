func.func @f(%a: tensor<4x8xi8>, %b: tensor<4x8xi8>, %s: tensor<4x1xf32>) -> tensor<4x4xf32> {
  %0 = qat.matmul %a, %b, %s, %s as <signed, 8 bits, absmax, per_row>, <signed, 8 bits, absmax, per_row> : tensor<4x8xi8>, tensor<4x8xi8>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<4x4xf32>
  %1 = qat.hadamard %0 block 4 : tensor<4x4xf32>
  return %0 : tensor<4x8xf32>
}
