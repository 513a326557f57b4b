// RUN: qat-opt %s --qat-to-cpu | FileCheck %s

// Every qat op, forward and backward, lowers through linalg, bufferization
// and loops to the LLVM dialect.
// CHECK-NOT: qat.
// CHECK-NOT: linalg.
// CHECK-NOT: tensor.
// CHECK: llvm.func @every_op
// CHECK-NOT: qat.
// CHECK-NOT: linalg.

#w4 = #qat.quantizer<centered, 4 bits, rms_gaussian, per_row>
#a4 = #qat.quantizer<centered, 4 bits, absmax, per_tensor>
#lsq = #qat.quantizer<signed, 2 bits, learned, per_group<8>>

func.func @every_op(%x: tensor<4x64xf32>, %w: tensor<8x64xbf16>,
                    %dy: tensor<4x64xf32>, %s: tensor<4x8xf32>)
    -> (tensor<8x64xbf16>, tensor<8x4xbf16>, tensor<4x64xf32>, tensor<4x64xf32>,
        tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x8xf32>, tensor<4x64xf32>,
        tensor<4x8xf32>, tensor<4x64xf32>) {
  %xh = qat.hadamard %x block 32 : tensor<4x64xf32>
  %sx = qat.scale %xh as #w4 : tensor<4x64xf32> -> tensor<4x1xf32>
  %qx = qat.quantize %xh, %sx as #w4 packed
      : tensor<4x64xf32>, tensor<4x1xf32> -> tensor<4x32xi8>
  %sw = qat.scale %w as #a4 : tensor<8x64xbf16> -> tensor<1x1xf32>
  %qw = qat.quantize %w, %sw as #a4 packed
      : tensor<8x64xbf16>, tensor<1x1xf32> -> tensor<8x32xi8>
  %wq = qat.dequantize %qw, %sw as #a4 packed
      : tensor<8x32xi8>, tensor<1x1xf32> -> tensor<8x64xbf16>
  %y = qat.matmul %qw, %qx, %sw, %sx as #a4, #w4 packed
      : tensor<8x32xi8>, tensor<4x32xi8>, tensor<1x1xf32>, tensor<4x1xf32>
      -> tensor<8x4xbf16>
  %fx = qat.fake_quant %xh, %sx as #w4 with trust
      : tensor<4x64xf32>, tensor<4x1xf32>
  %dxh = qat.fake_quant_grad %dy, %xh, %sx as #w4 with trust
      : tensor<4x64xf32>, tensor<4x1xf32>
  %dx = qat.hadamard %dxh block 32 : tensor<4x64xf32>
  %fl = qat.fake_quant %x, %s as #lsq with fourier
      : tensor<4x64xf32>, tensor<4x8xf32>
  %dxf, %dsf = qat.fake_quant_grad %dy, %x, %s as #lsq with fourier
      : tensor<4x64xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %dxc, %dsc = qat.fake_quant_grad %dy, %x, %s as #lsq with clip
      : tensor<4x64xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %q = qat.quantize %x, %s as #lsq
      : tensor<4x64xf32>, tensor<4x8xf32> -> tensor<4x64xi8>
  %d = qat.dequantize %q, %s as #lsq
      : tensor<4x64xi8>, tensor<4x8xf32> -> tensor<4x64xf32>
  return %wq, %y, %fx, %dx, %fl, %dxf, %dsf, %dxc, %dsc, %d
      : tensor<8x64xbf16>, tensor<8x4xbf16>, tensor<4x64xf32>, tensor<4x64xf32>,
        tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x8xf32>, tensor<4x64xf32>,
        tensor<4x8xf32>, tensor<4x64xf32>
}
