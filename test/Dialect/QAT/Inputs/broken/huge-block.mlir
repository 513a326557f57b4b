func.func @f(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = qat.hadamard %x block 9223372036854775807 : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}
