func.func @f(%x: tensor<4x9xf32>, %s: tensor<4x1xf32>) -> tensor<4x9xf32> {
  %0 = qat.fake_quant %x, %s as <signed, 4 bits, absmax, per_group<2>> with clip : tensor<4x9xf32>, tensor<4x1xf32>
  return %0 : tensor<4x9xf32>
}
