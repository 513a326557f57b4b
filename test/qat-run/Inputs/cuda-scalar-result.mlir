// A scalar result read out of a tensor: on the GPU that is a host read of
// device memory, which qat-to-nvptx rejects (cuda-errors.mlir).
func.func @scalar(%x: tensor<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %v = tensor.extract %x[%c0] : tensor<4xf32>
  return %v : f32
}
