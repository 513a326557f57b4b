func.func @f(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = qat.fake_quant_grad %x, %x as <signed, 4 bits, absmax, per_row> with clip : tensor<4x8xf32>, tensor<4x1xf32>
  return %0 : tensor<4x8xf32>
}
