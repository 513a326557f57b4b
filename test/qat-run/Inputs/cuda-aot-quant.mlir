// A qat quantizer for the GPU ahead-of-time test (cuda-aot.mlir): the step
// of a signed 4-bit absmax per-row quantizer and the fake-quantized rows,
// computed by the fused row kernel of convert-qat-to-gpu.

#q4 = #qat.quantizer<signed, 4 bits, absmax, per_row>
func.func @gpu_fake_quant(%x: tensor<4x32xf32>)
    -> (tensor<4x32xf32>, tensor<4x1xf32>) {
  %s = qat.scale %x as #q4 : tensor<4x32xf32> -> tensor<4x1xf32>
  %y = qat.fake_quant %x, %s as #q4 with ste : tensor<4x32xf32>, tensor<4x1xf32>
  return %y, %s : tensor<4x32xf32>, tensor<4x1xf32>
}
