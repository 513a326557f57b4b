// Every user error is reported on stderr, names the problem (and the file
// or argument), and exits non-zero without a crash (`not` fails on one).

// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/npytool.py save %t/x.npy "np.zeros((2, 3), np.float32)"
// RUN: %python %S/Inputs/npytool.py save %t/n.npy "np.arange(4, dtype=np.int32)"

// Functions.
// RUN: not qat-run %s --entry=nope 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// UNKNOWN: qat-run: error: no function named 'nope' in the module; public functions: main, dyn, half, idx, unranked
// RUN: not qat-run %s --entry=decl 2>&1 | FileCheck %s --check-prefix=DECL
// DECL: qat-run: error: function 'decl' is only declared, it has no body; public functions: main, dyn, half, idx, unranked
// RUN: not qat-run %s --entry=idx --arg=iota 2>&1 | FileCheck %s --check-prefix=INDEX
// INDEX: qat-run: error: argument 0 of 'idx' has type 'tensor<2xindex>': qat-run passes tensors, memrefs and scalars of f32, f64, f16, bf16, i1, i8, i16, i32 and i64
// RUN: not qat-run %s --entry=unranked 2>&1 | FileCheck %s --check-prefix=UNRANKED
// UNRANKED: qat-run: error: argument 0 of 'unranked' has type 'tensor<*xf32>': unranked types are not supported; give the rank
// RUN: not qat-run %t/missing.mlir 2>&1 | FileCheck %s --check-prefix=NOFILE
// NOFILE: qat-run: error: cannot open '{{.*}}missing.mlir': {{[Nn]}}o such file or directory

// Argument count.
// RUN: not qat-run %s --arg=%t/x.npy 2>&1 | FileCheck %s --check-prefix=COUNT
// COUNT:      qat-run: error: 'main' takes 2 arguments but 1 --arg was given:
// COUNT-NEXT:   argument 0 (tensor<2x3xf32>)
// COUNT-NEXT:   argument 1 (tensor<4xi32>)
// RUN: not qat-run %s --arg=%t/x.npy --arg=%t/n.npy --arg=iota 2>&1 | FileCheck %s --check-prefix=COUNT3
// COUNT3: qat-run: error: 'main' takes 2 arguments but 3 --arg were given:

// Shapes.
// RUN: %python %S/Inputs/npytool.py save %t/x32.npy "np.zeros((3, 2), np.float32)"
// RUN: not qat-run %s --arg=%t/x32.npy --arg=%t/n.npy 2>&1 | FileCheck %s --check-prefix=SHAPE
// SHAPE: qat-run: error: shape mismatch: argument 0 (tensor<2x3xf32>) has shape (2, 3), but '{{.*}}x32.npy' holds shape (3, 2)
// RUN: %python %S/Inputs/npytool.py save %t/x6.npy "np.zeros(6, np.float32)"
// RUN: not qat-run %s --arg=%t/x6.npy --arg=%t/n.npy 2>&1 | FileCheck %s --check-prefix=RANK
// RANK: qat-run: error: shape mismatch: argument 0 (tensor<2x3xf32>) has shape (2, 3), but '{{.*}}x6.npy' holds shape (6,)
// RUN: not qat-run %s --entry=dyn --arg=%t/x32.npy 2>&1 | FileCheck %s --check-prefix=DYNSHAPE
// DYNSHAPE: qat-run: error: shape mismatch: argument 0 (tensor<?x3xf32>) has shape (-1, 3) (-1: any size), but '{{.*}}x32.npy' holds shape (3, 2)
// RUN: not qat-run %s --arg=normal@3x3 --arg=iota 2>&1 | FileCheck %s --check-prefix=SPECSHAPE
// SPECSHAPE: qat-run: error: shape mismatch: --arg 'normal@3x3' gives shape (3, 3) to argument 0 (tensor<2x3xf32>)
// RUN: not qat-run %s --entry=dyn --arg=normal@100000000000000000x3 2>&1 | FileCheck %s --check-prefix=TOOLARGE
// TOOLARGE: qat-run: error: argument 0 (tensor<?x3xf32>): an array of shape (100000000000000000, 3) of float32 is too large
// RUN: not qat-run %s --entry=dyn --arg=normal 2>&1 | FileCheck %s --check-prefix=NEEDSHAPE
// NEEDSHAPE: qat-run: error: argument 0 (tensor<?x3xf32>) has dynamic sizes; give the shape of the generated data, e.g. --arg='normal@8x3', or pass a .npy file

// Dtypes.
// RUN: %python %S/Inputs/npytool.py save %t/x64.npy "np.zeros((2, 3), np.float64)"
// RUN: not qat-run %s --arg=%t/x64.npy --arg=%t/n.npy 2>&1 | FileCheck %s --check-prefix=DTYPE
// DTYPE: qat-run: error: dtype mismatch: argument 0 (tensor<2x3xf32>) expects float32 data, but '{{.*}}x64.npy' holds float64; convert it with a.astype(np.float32)
// RUN: %python %S/Inputs/npytool.py save %t/n64.npy "np.arange(4)"
// RUN: not qat-run %s --arg=%t/x.npy --arg=%t/n64.npy 2>&1 | FileCheck %s --check-prefix=INTDTYPE
// INTDTYPE: qat-run: error: dtype mismatch: argument 1 (tensor<4xi32>) expects int32 data, but '{{.*}}n64.npy' holds int64; convert it with a.astype(np.int32)
// RUN: %python %S/Inputs/npytool.py save %t/h64.npy "np.zeros(2)"
// RUN: not qat-run %s --entry=half --arg=%t/h64.npy --arg=const:1 2>&1 | FileCheck %s --check-prefix=BF16DTYPE
// BF16DTYPE: qat-run: error: dtype mismatch: argument 0 (tensor<2xbf16>) expects float32 data (rounded to bfloat16, nearest even), but '{{.*}}h64.npy' holds float64; convert it with a.astype(np.float32)
// RUN: %python %S/Inputs/npytool.py save %t/u8.npy "np.zeros((2, 3), np.uint8)"
// RUN: not qat-run %s --arg=%t/u8.npy --arg=%t/n.npy 2>&1 | FileCheck %s --check-prefix=UINT
// UINT: qat-run: error: argument 0 (tensor<2x3xf32>): '{{.*}}u8.npy': unsupported dtype uint8 (descr '|u1'); qat-run reads bool, int8, int16, int32, int64, float16, float32 and float64
// RUN: %python %S/Inputs/npytool.py save %t/c64.npy "np.zeros((2, 3), np.complex64)"
// RUN: not qat-run %s --arg=%t/c64.npy --arg=%t/n.npy 2>&1 | FileCheck %s --check-prefix=COMPLEX
// COMPLEX: qat-run: error: argument 0 (tensor<2x3xf32>): '{{.*}}c64.npy': unsupported dtype complex64 (descr '<c8')
// RUN: %python %S/Inputs/npytool.py save %t/rec.npy "np.zeros(2, dtype=[('a', np.float32), ('b', np.int8)])"
// RUN: not qat-run %s --arg=%t/rec.npy --arg=%t/n.npy 2>&1 | FileCheck %s --check-prefix=RECORD
// RECORD: qat-run: error: argument 0 (tensor<2x3xf32>): '{{.*}}rec.npy': structured (record) dtypes are not supported

// Unreadable and broken files.
// RUN: not qat-run %s --arg=%t/absent.npy --arg=%t/n.npy 2>&1 | FileCheck %s --check-prefix=ABSENT
// ABSENT: qat-run: error: argument 0 (tensor<2x3xf32>): '{{.*}}absent.npy': cannot read the file: {{[Nn]}}o such file or directory
// RUN: not qat-run %s --arg=%t --arg=%t/n.npy 2>&1 | FileCheck %s --check-prefix=DIRECTORY
// DIRECTORY: qat-run: error: argument 0 (tensor<2x3xf32>): '{{.*}}': cannot read the file: {{[Ii]}}s a directory
// RUN: %python %S/Inputs/npytool.py raw %t/text.npy "b'1 2 3\n4 5 6\n'"
// RUN: not qat-run %s --arg=%t/text.npy --arg=%t/n.npy 2>&1 | FileCheck %s --check-prefix=NOTNPY
// NOTNPY: qat-run: error: argument 0 (tensor<2x3xf32>): '{{.*}}.npy': not a .npy file (it does not start with the "\x93NUMPY" magic string of numpy.save)
// RUN: %python %S/Inputs/npytool.py raw %t/empty.npy "b''"
// RUN: not qat-run %s --arg=%t/empty.npy --arg=%t/n.npy 2>&1 | FileCheck %s --check-prefix=NOTNPY
// RUN: %python %S/Inputs/npytool.py raw %t/short.npy "open('%t/x.npy', 'rb').read()[:-5]"
// RUN: not qat-run %s --arg=%t/short.npy --arg=%t/n.npy 2>&1 | FileCheck %s --check-prefix=TRUNCATED
// TRUNCATED: qat-run: error: argument 0 (tensor<2x3xf32>): '{{.*}}short.npy': corrupt or truncated data: shape (2, 3) of float32 needs 24 bytes, the file holds 19
// RUN: %python %S/Inputs/npytool.py raw %t/header.npy "open('%t/x.npy', 'rb').read()[:40]"
// RUN: not qat-run %s --arg=%t/header.npy --arg=%t/n.npy 2>&1 | FileCheck %s --check-prefix=TRUNCHEADER
// TRUNCHEADER: qat-run: error: argument 0 (tensor<2x3xf32>): '{{.*}}header.npy': truncated .npy file (header of 118 bytes, file of 40)
// RUN: %python %S/Inputs/npytool.py raw %t/dict.npy "open('%t/x.npy', 'rb').read().replace(b\"'shape': (2, 3)\", b\"'shape': [2, 3]\")"
// RUN: not qat-run %s --arg=%t/dict.npy --arg=%t/n.npy 2>&1 | FileCheck %s --check-prefix=BADHEADER
// BADHEADER: qat-run: error: argument 0 (tensor<2x3xf32>): '{{.*}}dict.npy': corrupt header: expected a tuple of sizes after 'shape'
// RUN: %python %S/Inputs/npytool.py raw %t/huge.npy "open('%t/x.npy', 'rb').read().replace(b\"'shape': (2, 3), \", b\"'shape': (2**62, 4)\")"
// RUN: not qat-run %s --arg=%t/huge.npy --arg=%t/n.npy 2>&1 | FileCheck %s --check-prefix=HUGE
// HUGE: qat-run: error: argument 0 (tensor<2x3xf32>): '{{.*}}huge.npy': corrupt header: expected a tuple of sizes after 'shape'
// RUN: %python %S/Inputs/npytool.py raw %t/big.npy "open('%t/x.npy', 'rb').read().replace(b\"'shape': (2, 3), \", b\"'shape': (9999999999999, 99999999)\")"
// RUN: not qat-run %s --arg=%t/big.npy --arg=%t/n.npy 2>&1 | FileCheck %s --check-prefix=BIG
// BIG: qat-run: error: argument 0 (tensor<2x3xf32>): '{{.*}}big.npy': corrupt header: shape (9999999999999, 99999999) is too large
// RUN: %python %S/Inputs/npytool.py save %t/fortran.npy "np.asfortranarray(np.zeros((2, 3), np.float32))"
// RUN: not qat-run %s --arg=%t/fortran.npy --arg=%t/n.npy 2>&1 | FileCheck %s --check-prefix=FORTRAN
// FORTRAN: qat-run: error: argument 0 (tensor<2x3xf32>): '{{.*}}fortran.npy': the array is in Fortran order (fortran_order: True); qat-run needs C order: save np.ascontiguousarray(a) instead

// Generated-input specs.
// RUN: not qat-run %s --arg=normall:0,1 --arg=iota 2>&1 | FileCheck %s --check-prefix=KIND
// KIND: qat-run: error: bad --arg 'normall:0,1': unknown kind 'normall'; an --arg is a .npy file, or normal[:MEAN,STD], uniform[:LOW,HIGH], const:VALUE or iota, optionally followed by @SHAPE (e.g. @4x8)
// RUN: not qat-run %s --arg=normal:0 --arg=iota 2>&1 | FileCheck %s --check-prefix=ARITY
// ARITY: qat-run: error: bad --arg 'normal:0': normal takes 2 numbers, got 1;
// RUN: not qat-run %s --arg=uniform:a,1 --arg=iota 2>&1 | FileCheck %s --check-prefix=NAN
// NAN: qat-run: error: bad --arg 'uniform:a,1': 'a' is not a number;
// RUN: not qat-run %s --arg=uniform:1,0 --arg=iota 2>&1 | FileCheck %s --check-prefix=ORDER
// ORDER: qat-run: error: bad --arg 'uniform:1,0': uniform needs finite LOW <= HIGH;
// RUN: not qat-run %s --arg=normal:0,-1 --arg=iota 2>&1 | FileCheck %s --check-prefix=STD
// STD: qat-run: error: bad --arg 'normal:0,-1': normal needs a finite MEAN and a finite STD >= 0;
// RUN: not qat-run %s --arg=const --arg=iota 2>&1 | FileCheck %s --check-prefix=CONST
// CONST: qat-run: error: bad --arg 'const': const needs a value, e.g. const:0.5;
// RUN: not qat-run %s --arg=iota:3 --arg=iota 2>&1 | FileCheck %s --check-prefix=IOTA
// IOTA: qat-run: error: bad --arg 'iota:3': iota takes no parameters;
// RUN: not qat-run %s --arg=normal@2xq --arg=iota 2>&1 | FileCheck %s --check-prefix=SHAPESYNTAX
// SHAPESYNTAX: qat-run: error: bad --arg 'normal@2xq': bad size 'q' in shape '2xq' (sizes are integers >= 0 joined by 'x');
// RUN: not qat-run %s --arg=normalx --arg=iota 2>&1 | FileCheck %s --check-prefix=NOTAFILE
// NOTAFILE: qat-run: error: argument 0 (tensor<2x3xf32>): 'normalx': cannot read the file:
// RUN: not qat-run %s --arg=iota --arg=normal 2>&1 | FileCheck %s --check-prefix=NORMALINT
// NORMALINT: qat-run: error: bad --arg 'normal' for argument 1 (tensor<4xi32>): normal draws floats; use uniform:LOW,HIGH for integers in [LOW, HIGH]
// RUN: not qat-run %s --arg=iota --arg=const:1e10 2>&1 | FileCheck %s --check-prefix=INTRANGE
// INTRANGE: qat-run: error: bad --arg 'const:1e10' for argument 1 (tensor<4xi32>): '1e10' is not a int32 value (integers in [-2147483648, 2147483647])
// RUN: not qat-run %s --arg=iota --arg=uniform:0.5,3 2>&1 | FileCheck %s --check-prefix=INTFRAC
// INTFRAC: qat-run: error: bad --arg 'uniform:0.5,3' for argument 1 (tensor<4xi32>): '0.5' is not a int32 value
// RUN: not qat-run %s --arg=iota --arg=uniform 2>&1 | FileCheck %s --check-prefix=INTDEFAULT
// INTDEFAULT: qat-run: error: bad --arg 'uniform' for argument 1 (tensor<4xi32>): give the integer range, e.g. uniform:-8,7

// Outputs and options.
// RUN: not qat-run %s --arg=iota --arg=iota --out=%t/a.npy --out=%t/b.npy 2>&1 | FileCheck %s --check-prefix=OUTS
// OUTS: qat-run: error: 'main' returns 1 result but 2 --out were given; give one per result, or use --out-dir
// RUN: not qat-run %s --arg=iota --arg=iota --out=%t/no/such/dir/y.npy 2>&1 | FileCheck %s --check-prefix=WRITE
// WRITE: qat-run: error: cannot write '{{.*}}y.npy': {{[Nn]}}o such file or directory
// RUN: not qat-run %s --arg=iota --arg=iota --time --repeat=0 2>&1 | FileCheck %s --check-prefix=REPEAT
// REPEAT: qat-run: error: --repeat must be at least 1
// RUN: not qat-run %s --arg=iota --arg=iota --opt-level=4 2>&1 | FileCheck %s --check-prefix=OPT
// OPT: qat-run: error: --opt-level must be 0, 1, 2 or 3, not 4
// RUN: not qat-run %s --emit-object=%t/o.o --object-triple=nonsense-unknown-none 2>&1 | FileCheck %s --check-prefix=TRIPLE
// TRIPLE: qat-run: error: no target for triple 'nonsense-unknown-none':
// RUN: not qat-run %s --entry=half --emit-header=%t/half.h 2>&1 | FileCheck %s --check-prefix=HEADERNAME
// HEADERNAME: qat-run: error: cannot write a C header for 'half': argument 1 is a bf16 scalar, which C cannot pass by value portably; make it a rank-0 tensor (tensor<bf16>)

func.func @main(%x: tensor<2x3xf32>, %n: tensor<4xi32>) -> tensor<2x3xf32> {
  return %x : tensor<2x3xf32>
}

func.func @dyn(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  return %x : tensor<?x3xf32>
}

func.func @half(%x: tensor<2xbf16>, %s: bf16) -> tensor<2xbf16> {
  return %x : tensor<2xbf16>
}

func.func @idx(%x: tensor<2xindex>) -> tensor<2xindex> {
  return %x : tensor<2xindex>
}

func.func @unranked(%x: tensor<*xf32>) -> tensor<*xf32> {
  return %x : tensor<*xf32>
}

func.func private @decl(tensor<2xf32>) -> tensor<2xf32>
