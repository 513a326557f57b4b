// A small row kernel and a small packed int4 matmul: enough for the NVPTX
// backend to select warp shuffles and tensor-core instructions.
func.func @f(%x: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %y = qat.hadamard %x block 32 : tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

func.func @g(%a: tensor<16x32xi8>, %b: tensor<16x32xi8>, %sa: tensor<16x1xf32>,
             %sb: tensor<16x1xf32>) -> tensor<16x16xf32> {
  %y = qat.matmul %a, %b, %sa, %sb
      as <centered, 4 bits, rms_gaussian, per_row>,
         <centered, 4 bits, rms_gaussian, per_row> packed
      : tensor<16x32xi8>, tensor<16x32xi8>, tensor<16x1xf32>, tensor<16x1xf32>
      -> tensor<16x16xf32>
  return %y : tensor<16x16xf32>
}
