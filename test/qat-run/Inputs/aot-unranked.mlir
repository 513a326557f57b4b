// For aot.mlir: a copy of an unranked memref calls memrefCopy from MLIR's
// runner utilities, which a C program must link.
func.func @main(%x: tensor<*xf32>) -> tensor<*xf32> {
  return %x : tensor<*xf32>
}
func.func @other(%x: tensor<2xf32>) -> tensor<2xf32> {
  return %x : tensor<2xf32>
}
