// Modules already in the LLVM dialect: the tensor-level signature comes from
// the qat.signature attribute that --emit-lowered writes, or from
// --signature for a module lowered by qat-opt --qat-to-cpu.

// RUN: rm -rf %t && mkdir -p %t
// RUN: qat-run %s --arg=iota --arg=const:2 > %t/direct.txt
// RUN: qat-run %s --emit-lowered=%t/lowered.mlir
// RUN: FileCheck %s --check-prefix=LOWERED < %t/lowered.mlir
// RUN: qat-run %t/lowered.mlir --arg=iota --arg=const:2 > %t/relowered.txt
// RUN: diff %t/direct.txt %t/relowered.txt
// RUN: FileCheck %s --check-prefix=RESULT < %t/direct.txt

// LOWERED: llvm.func @main({{.*}}) -> !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)> attributes {
// LOWERED-SAME: llvm.emit_c_interface
// LOWERED-SAME: qat.signature = (tensor<2x3xf32>, f32) -> tensor<2x3xf32>
// LOWERED: llvm.func @_mlir_ciface_main

// RESULT:      result 0: shape=(2, 3) dtype=float32
// RESULT-NEXT: {{\[\[}} 0.0,  2.0,  4.0],
// RESULT-NEXT: {{^}} [ 6.0,  8.0, 10.0]]

// RUN: qat-opt --qat-to-cpu %s -o %t/qat-opt.mlir
// RUN: qat-run %t/qat-opt.mlir --signature='(tensor<2x3xf32>, f32) -> tensor<2x3xf32>' --arg=iota --arg=const:2 > %t/signature.txt
// RUN: diff %t/direct.txt %t/signature.txt

// An object needs the C wrapper, which qat-opt --qat-to-cpu does not make
// unless the function asks for it.
// RUN: not qat-run %t/qat-opt.mlir --signature='(tensor<2x3xf32>, f32) -> tensor<2x3xf32>' --emit-object=%t/o.o 2>&1 | FileCheck %s --check-prefix=NOWRAPPER
// NOWRAPPER: qat-run: error: the module has no C entry point _mlir_ciface_main; lower 'main' with the llvm.emit_c_interface attribute, or give qat-run the module before lowering
// RUN: qat-run %t/lowered.mlir --emit-object=%t/o.o --emit-header=%t/o.h

// Without a signature, and with one whose ranks do not fit the function.
// RUN: not qat-run %t/qat-opt.mlir --arg=iota --arg=const:2 2>&1 | FileCheck %s --check-prefix=NOSIG
// NOSIG: qat-run: error: function 'main' is in the LLVM dialect, where element types and shapes are lost, and has no qat.signature attribute; pass the signature it was lowered from, e.g. --signature='(tensor<4xf32>) -> tensor<4xf32>', or let qat-run lower the tensor-level module itself
// RUN: not qat-run %t/qat-opt.mlir --signature='(tensor<6xf32>, f32) -> tensor<6xf32>' --arg=iota --arg=const:2 2>&1 | FileCheck %s --check-prefix=BADSIG
// BADSIG: qat-run: error: function 'main' has the LLVM type '!llvm.func<struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)> (ptr, ptr, i64, i64, i64, i64, i64, f32)>', but its signature '(tensor<6xf32>, f32) -> tensor<6xf32>' lowers to '!llvm.func<struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)> (ptr, ptr, i64, i64, i64, f32)>'; the signature does not describe this function
// RUN: not qat-run %t/qat-opt.mlir --signature='tensor<6xf32>' 2>&1 | FileCheck %s --check-prefix=NOTFUNC
// NOTFUNC: qat-run: error: invalid --signature 'tensor<6xf32>': expected a function type such as '(tensor<4xf32>, f32) -> tensor<4xf32>'
// RUN: not qat-run %t/qat-opt.mlir --signature='(tensor<6xf32>' 2>&1 | FileCheck %s --check-prefix=UNPARSABLE
// UNPARSABLE: qat-run: error: invalid --signature '(tensor<6xf32>':
// RUN: not qat-run %s --signature='(tensor<2x3xf32>, f32) -> tensor<2x3xf32>' --arg=iota --arg=const:2 2>&1 | FileCheck %s --check-prefix=NOTLLVM
// NOTLLVM: qat-run: error: --signature is only for functions already lowered to the LLVM dialect; 'main' is a func.func

#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @main(%x: tensor<2x3xf32>, %s: f32) -> tensor<2x3xf32> {
  %e = tensor.empty() : tensor<2x3xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.mulf %v, %s : f32
    linalg.yield %m : f32
  } -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}
