func.func @f(%x: tensor<4x8xf32>, %s: tensor<4x1xf32>) -> tensor<4x8xf32> {
  %0 = qat.fake_quant %x, %s as <signed, 4 bits, learned, per_row> with fourier<[0.1, nan]> : tensor<4x8xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}
