func.func @f(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  %0 = qat.scale %x as <signed, -3 bits, absmax, per_row> : tensor<4x8xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}
