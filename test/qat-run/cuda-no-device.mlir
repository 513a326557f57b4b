// Where no GPU is, qat-run --target=cuda stops with why, before compiling,
// and exits 1; --target=cpu needs no CUDA driver at all.

// UNSUPPORTED: cuda-gpu
// REQUIRES: cuda-runtime, cuda-stub
// RUN: rm -rf %t && mkdir -p %t

// No NVIDIA driver (this machine has no libcuda.so.1), or a driver without
// a device.
// RUN: not qat-run %s --target=cuda --arg=iota 2>&1 | FileCheck %s --check-prefix=NODEVICE
// NODEVICE: qat-run: error: {{libcuda.so.1 not found: the qat CUDA runtime needs the NVIDIA driver|no CUDA device: cuInit failed: CUDA_ERROR_NO_DEVICE}}

// The toolkit's stub libcuda: the runtime loads, cuInit fails, and the
// error says so.
// RUN: ln -s %cuda_stubs/libcuda.so %t/libcuda.so.1
// RUN: env LD_LIBRARY_PATH=%t not qat-run %s --target=cuda --arg=iota 2>&1 | FileCheck %s --check-prefix=STUB
// STUB: qat-run: error: no CUDA device: cuInit failed: CUDA_ERROR_STUB_LIBRARY (libcuda is the CUDA toolkit's stub: no NVIDIA driver is installed)

// The CPU needs none of it.
// RUN: qat-run %s --arg=iota | FileCheck %s --check-prefix=CPU
// CPU: [0.0, 2.0, 4.0, 6.0]

func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %y = linalg.add ins(%x, %x : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}
