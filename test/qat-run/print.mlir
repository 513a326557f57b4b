// How results are printed: a header line with shape and dtype, then numpy's
// repr layout (aligned columns, blank lines between blocks, '...' for large
// arrays, wrapping at --linewidth), precision options, every dtype.

// RUN: qat-run %s --entry=id_f32 --arg=iota@2x3 | FileCheck %s --strict-whitespace --check-prefix=MATRIX
// MATRIX: result 0: shape=(2, 3) dtype=float32{{$}}
// MATRIX-NEXT: {{\[\[}}0.0, 1.0, 2.0],{{$}}
// MATRIX-NEXT: {{^}} [3.0, 4.0, 5.0]]{{$}}
// MATRIX-EMPTY:

// RUN: qat-run %s --entry=id_i32 --arg=iota@2x2x3 | FileCheck %s --strict-whitespace --check-prefix=BLOCKS
// BLOCKS: result 0: shape=(2, 2, 3) dtype=int32{{$}}
// BLOCKS-NEXT: {{\[\[\[}} 0,  1,  2],{{$}}
// BLOCKS-NEXT: {{^}}  [ 3,  4,  5]],{{$}}
// BLOCKS-EMPTY:
// BLOCKS-NEXT: {{^}} {{\[\[}} 6,  7,  8],{{$}}
// BLOCKS-NEXT: {{^}}  [ 9, 10, 11]]]{{$}}

// RUN: qat-run %s --entry=id_f32 --arg=iota@40x40 --threshold=100 | FileCheck %s --strict-whitespace --check-prefix=SUMMARY
// SUMMARY: result 0: shape=(40, 40) dtype=float32{{$}}
// SUMMARY-NEXT: {{\[\[}}   0.0,    1.0,    2.0, ...,   37.0,   38.0,   39.0],{{$}}
// SUMMARY-NEXT: {{^}} [  40.0,   41.0,   42.0, ...,   77.0,   78.0,   79.0],{{$}}
// SUMMARY-NEXT: {{^}} [  80.0,   81.0,   82.0, ...,  117.0,  118.0,  119.0],{{$}}
// SUMMARY-NEXT: {{^}} ...,{{$}}
// SUMMARY-NEXT: {{^}} [1480.0, 1481.0, 1482.0, ..., 1517.0, 1518.0, 1519.0],{{$}}
// SUMMARY-NEXT: {{^}} [1520.0, 1521.0, 1522.0, ..., 1557.0, 1558.0, 1559.0],{{$}}
// SUMMARY-NEXT: {{^}} [1560.0, 1561.0, 1562.0, ..., 1597.0, 1598.0, 1599.0]]{{$}}

// Long rows wrap under their first element.
// RUN: qat-run %s --entry=id_f32 --arg=iota@1x12 --linewidth=40 | FileCheck %s --strict-whitespace --check-prefix=WRAP
// WRAP: {{\[\[}} 0.0,  1.0,  2.0,  3.0,  4.0,  5.0,{{$}}
// WRAP-NEXT: {{^}}   6.0,  7.0,  8.0,  9.0, 10.0, 11.0]]{{$}}

// RUN: qat-run %s --entry=id_f32 --arg=iota@0x3 | FileCheck %s --strict-whitespace --check-prefix=EMPTY
// EMPTY: result 0: shape=(0, 3) dtype=float32{{$}}
// EMPTY-NEXT: []{{$}}

// Scalars and rank-0 tensors print their value; bools as numpy does.
// RUN: qat-run %s --entry=scalars --arg=const:3.14159265358979 --arg=const:true --arg=const:-7 | FileCheck %s --strict-whitespace --check-prefix=SCALARS
// SCALARS: result 0: shape=() dtype=float64{{$}}
// SCALARS-NEXT: 3.14159{{$}}
// SCALARS-NEXT: result 1: shape=() dtype=bool{{$}}
// SCALARS-NEXT: True{{$}}
// SCALARS-NEXT: result 2: shape=() dtype=int64{{$}}
// SCALARS-NEXT: -7{{$}}
// SCALARS-NEXT: result 3: shape=(3,) dtype=bool{{$}}
// SCALARS-NEXT: [ True, False,  True]{{$}}

// --precision sets significant digits; --full-precision prints the fewest
// digits that read back to the same value of the element type.
// RUN: qat-run %s --entry=scalars --arg=const:3.14159265358979 --arg=const:0 --arg=const:0 --precision=3 | FileCheck %s --strict-whitespace --check-prefix=PREC3
// PREC3: result 0: shape=() dtype=float64{{$}}
// PREC3-NEXT: 3.14{{$}}
// RUN: qat-run %s --entry=scalars --arg=const:3.14159265358979 --arg=const:0 --arg=const:0 --full-precision | FileCheck %s --strict-whitespace --check-prefix=FULL64
// FULL64: result 0: shape=() dtype=float64{{$}}
// FULL64-NEXT: 3.14159265358979{{$}}
// RUN: qat-run %s --entry=id_f32 --arg=const:0.1@1x2 --full-precision | FileCheck %s --strict-whitespace --check-prefix=FULL32
// FULL32: {{\[\[}}0.1, 0.1]]{{$}}
// RUN: qat-run %s --entry=id_f32 --arg=const:0.1@1x2 --precision=17 | FileCheck %s --strict-whitespace --check-prefix=DIGITS17
// DIGITS17: {{\[\[}}0.10000000149011612, 0.10000000149011612]]{{$}}

// Non-finite values print as numpy prints them.
// RUN: qat-run %s --entry=specials | FileCheck %s --strict-whitespace --check-prefix=SPECIALS
// SPECIALS: [  nan,   inf,  -inf,  -0.0, 1e+30]{{$}}

// --print-inputs shows the data a run used, generated inputs included.
// RUN: qat-run %s --entry=id_f32 --arg=iota@1x2 --print-inputs | FileCheck %s --strict-whitespace --check-prefix=INPUTS
// INPUTS: arg 0: shape=(1, 2) dtype=float32{{$}}
// INPUTS-NEXT: {{\[\[}}0.0, 1.0]]{{$}}
// INPUTS-NEXT: result 0: shape=(1, 2) dtype=float32{{$}}

func.func @id_f32(%a: tensor<?x?xf32>) -> tensor<?x?xf32> {
  return %a : tensor<?x?xf32>
}

func.func @id_i32(%a: tensor<?x?x?xi32>) -> tensor<?x?x?xi32> {
  return %a : tensor<?x?x?xi32>
}

func.func @scalars(%x: f64, %b: i1, %i: tensor<i64>)
    -> (f64, i1, tensor<i64>, tensor<3xi1>) {
  %mask = arith.constant dense<[true, false, true]> : tensor<3xi1>
  return %x, %b, %i, %mask : f64, i1, tensor<i64>, tensor<3xi1>
}

func.func @specials() -> tensor<5xf32> {
  %c = arith.constant dense<[0x7FC00000, 0x7F800000, 0xFF800000, -0.0, 1.0e30]> : tensor<5xf32>
  return %c : tensor<5xf32>
}
