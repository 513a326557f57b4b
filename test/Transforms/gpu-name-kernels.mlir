// RUN: qat-opt %s --qat-gpu-name-kernels | FileCheck %s

// Each outlined kernel takes the name of its module, and its launches
// follow; a module whose kernel already has its name, or that holds several
// kernels, is left alone.

// CHECK-LABEL: func.func @host
//       CHECK:   gpu.launch_func @f_kernel::@f_kernel
//       CHECK:   gpu.launch_func @f_kernel_0::@f_kernel_0
//       CHECK:   gpu.launch_func @two::@a
//       CHECK:   gpu.launch_func @two::@b
// CHECK: gpu.module @f_kernel
// CHECK:   gpu.func @f_kernel() kernel
// CHECK: gpu.module @f_kernel_0
// CHECK:   gpu.func @f_kernel_0() kernel
// CHECK: gpu.module @two
// CHECK:   gpu.func @a() kernel
// CHECK:   gpu.func @b() kernel
module attributes {gpu.container_module} {
  func.func @host() {
    %c1 = arith.constant 1 : index
    gpu.launch_func @f_kernel::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @f_kernel_0::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @two::@a blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @two::@b blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
  gpu.module @f_kernel {
    gpu.func @f_kernel() kernel {
      gpu.return
    }
  }
  gpu.module @f_kernel_0 {
    gpu.func @f_kernel() kernel {
      gpu.return
    }
  }
  gpu.module @two {
    gpu.func @a() kernel {
      gpu.return
    }
    gpu.func @b() kernel {
      gpu.return
    }
  }
}
