"""MLIR modules of the qat linear layers that python-bindings/qat/torch_layers.py
calls from PyTorch, one module per layer shape (the rows static, or dynamic
for one module serving every number of rows).

Pure Python (no numpy, no torch), so that it runs where qat-opt is (to
compile) as well as on the GPU machine (to name the artifacts).

A layer's module computes everything but the bias: the float GEMMs are
linalg.matmul (bf16 operands, f32 accumulation), which qat-to-nvptx puts on
its tensor-core contraction kernels, with M rows or M dynamic (None).

QuEST (W{b}A{b}, Hadamard 128, rms_gaussian scale, centered grid, trust):
  forward     x_h = x H, w_h = w H; per-row steps; codes (two per byte if
              `packed`); y = qat.matmul(codes) on the integer tensor cores
              with the dequantizing epilogue; also the dequantized operands
              x^ = Q(x_h), w^ = Q(w_h) in bf16 for the backward GEMMs.
  backward    g_x = dy w^ (bf16), g_w = dy^T x^ (f32); dx = (g_x * mask_x) H,
              dw = (g_w * mask_w) H, the trust masks recomputed from x and w.
  backward_w  g_w and dw only.
StableQAT (W{b}, learned per-row step, signed grid, Fourier estimator):
  forward     w^ = s * clamp(round(w / s), qn, qp) in bf16; y = x w^T.
  backward    dx = dy w^, g_w = dy^T x (f32); dw = g_w * [qn <= w/s <= qp]
              (1 - S)/(1 + S) and the LSQ step gradient ds, one fused kernel.
  backward_w  g_w, dw and ds only.

compile_artifact() compiles a module where qat-opt and LLVM are: for the
GPU into module.o + manifest.json (scripts/gpu/compile.py), to be linked on
the GPU machine; for the CPU (tests without a GPU) into module.so +
manifest.json.
"""

import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys

_PACKAGE = pathlib.Path(__file__).resolve().parent
ROOT = _PACKAGE.parents[1]
LLVM = pathlib.Path("/usr/lib/llvm-22/bin")
if (ROOT / "scripts" / "gpu" / "compile.py").exists():
    # python-bindings/qat of a checkout (the build's package links here).
    SCRIPTS = ROOT / "scripts"
    _DEFAULT_QAT_OPT = ROOT / "build" / "bin" / "qat-opt"
else:
    # Installed by `cmake --install` into <prefix>/lib/pythonX.Y/site-packages,
    # next to <prefix>/bin/qat-opt and <prefix>/share/qat/scripts; or by pip,
    # without them: qat-opt from PATH.
    _prefix = _PACKAGE.parents[min(3, len(_PACKAGE.parents) - 1)]
    SCRIPTS = _prefix / "share" / "qat" / "scripts"
    _DEFAULT_QAT_OPT = _prefix / "bin" / "qat-opt"
    if not _DEFAULT_QAT_OPT.exists() and shutil.which("qat-opt"):
        _DEFAULT_QAT_OPT = pathlib.Path(shutil.which("qat-opt"))
QAT_OPT = pathlib.Path(os.environ.get("QAT_OPT", _DEFAULT_QAT_OPT))
DLPACK_SOURCE = SCRIPTS.parent / "lib" / "Runtime" / "CUDA" / "DLPack.cpp"

QUEST_ALPHA = [0.7978845587140913, 1.4935346200015913, 2.051068354131873,
               2.513930578568423, 2.9160938834961225, 3.276597282593217,
               3.6010497188221655, 3.884938678807525]
DEFAULT_FOURIER = (0.21,)


def _t(*shape_and_type):
    *shape, dtype = shape_and_type
    return "tensor<" + "x".join("?" if d is None else str(d) for d in shape) + "x" + dtype + ">"


def chip_for_capability(major, minor):
    """The chip to compile for a device of this compute capability, for code
    that runs on the device it is compiled for: sm_90a on Hopper (9.0), whose
    architecture-specific instructions (wgmma, TMA, setmaxnreg) qat's Hopper
    kernels need and plain sm_90 does not select (docs/gpu.md, "Which chip
    string selects what"); sm_<major><minor> elsewhere."""
    return f"sm_{major}{minor}" + ("a" if (major, minor) == (9, 0) else "")


# The chip of the lent GPU machines (H100, H200), what artifacts compiled
# here for them name by default.
DEFAULT_CHIP = "sm_90a"


def default_packed(bits, chip=DEFAULT_CHIP):
    """Whether QuEST stores its codes two per byte by default. Hopper (sm_90)
    has no int4 tensor cores: its s4 mma.sync runs an order of magnitude
    below s8 (measured: docs/pytorch.md), so codes of at most 4 bits are
    packed only on chips with int4 tensor cores (sm_80 to sm_89)."""
    return bits <= 4 and chip in ("sm_80", "sm_86", "sm_87", "sm_89")


def quest_name(m, n, k, bits, packed):
    """m None: the rows (tokens) are dynamic, one artifact for every m."""
    rows = "dyn" if m is None else m
    return f"quest_b{bits}_m{rows}_n{n}_k{k}" + ("_s4" if packed else "")


def stableqat_name(m, n, k, bits, fourier=DEFAULT_FOURIER):
    """m None: the rows (tokens) are dynamic, one artifact for every m."""
    rows = "_mdyn" if m is None else f"_m{m}"
    name = f"stableqat_b{bits}{rows}_n{n}_k{k}"
    if tuple(fourier) != DEFAULT_FOURIER:
        name += "_a" + "_".join(f"{a:g}".replace(".", "p").replace("-", "m")
                                 for a in fourier)
    return name


def check_quest_shape(m, n, k, bits, block=128):
    if k % block:
        raise ValueError(f"QuEST rotates blocks of {block} along K: "
                         f"in_features = {k} is not a multiple of {block}")
    if not 1 <= bits <= 8:
        raise ValueError(f"QuEST bit width {bits} is not in [1, 8]")


# affine maps of linalg.matmul (d0, d1, d2) = (rows, columns, reduction) for
# the three products of a linear layer.
_MATMUL_MAPS = {
    # y = x w^T: the weight's rows are the columns of y.
    "nt": "[affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, "
          "affine_map<(m, n, k) -> (m, n)>]",
    # g_w = dy^T x: the reduction runs over the tokens, the first dimension of both.
    "tn": "[affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>, "
          "affine_map<(m, n, k) -> (m, n)>]",
}


def _matmul(result, a, b, at, bt, rows, cols, form=None, out="f32"):
    """MLIR lines of result = a b (bf16 operands, f32 accumulation; `form`
    "nt" or "tn" for the transposed products), rounded to bf16 by an
    elementwise op when `out` is bf16 (qat-to-nvptx fuses that rounding
    into the contraction kernel's epilogue, so the f32 product never reaches
    memory). `rows` None: dynamic, a's first dimension (forms None, "nt")."""
    acc = _t(rows, cols, "f32")
    maps = f"indexing_maps = {_MATMUL_MAPS[form]}\n      " if form else ""
    name = result if out == "f32" else result + "_f32"
    sizes, lines = "", ""
    if rows is None:
        lines = (f"  %{result}_c0 = arith.constant 0 : index\n"
                 f"  %{result}_rows = tensor.dim %{a}, %{result}_c0 : {at}\n")
        sizes = f"%{result}_rows"
    lines += f"""  %{result}_init = tensor.empty({sizes}) : {acc}
  %{result}_zero = linalg.fill ins(%zero : f32) outs(%{result}_init : {acc}) -> {acc}
  %{name} = linalg.matmul {maps}ins(%{a}, %{b} : {at}, {bt}) outs(%{result}_zero : {acc}) -> {acc}
"""
    if out == "bf16":
        o = _t(rows, cols, "bf16")
        lines += f"""  %{result}_empty = tensor.empty({sizes}) : {o}
  %{result} = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]}} ins(%{name} : {acc}) outs(%{result}_empty : {o}) {{
  ^bb0(%v: f32, %unused: bf16):
    %r = arith.truncf %v : f32 to bf16
    linalg.yield %r : bf16
  }} -> {o}
"""
    return lines


def quest_module(m, n, k, bits=4, packed=False, block=128):
    """Functions <name>_forward, <name>_backward, <name>_backward_w.

    The backward computes the two float GEMMs itself (as linalg.matmul:
    qat-to-nvptx puts them on its tensor-core contraction kernels). m None:
    dynamic rows (`?`), one artifact for every number of rows."""
    check_quest_shape(m, n, k, bits, block)
    if packed and bits > 4:
        raise ValueError(f"{bits}-bit codes do not pack two per byte")
    name = quest_name(m, n, k, bits, packed)
    kc = k // 2 if packed else k
    pk = " packed" if packed else ""
    q = f"#qat.quantizer<centered, {bits} bits, rms_gaussian, per_row>"
    x, w = _t(m, k, "bf16"), _t(n, k, "f32")
    xb, wb, y = _t(m, k, "bf16"), _t(n, k, "bf16"), _t(m, n, "bf16")
    sx, sw = _t(m, 1, "f32"), _t(n, 1, "f32")
    cx, cw = _t(m, kc, "i8"), _t(n, kc, "i8")
    forward = f"""// Generated by python-bindings/qat/torch_mlir.py: QuEST linear layer
// y = x w^T with x: {"?" if m is None else m}x{k} (bf16), w: {n}x{k} (f32), W{bits}A{bits}.
#quest = {q}

// y = Q(x H) Q(w H)^T on the integer codes; also the dequantized operands
// and the steps, which the backward needs.
func.func @{name}_forward(%x: {x}, %w: {w})
    -> ({y}, {xb}, {sx}, {wb}, {sw})
    attributes {{llvm.emit_c_interface}} {{
  %xh = qat.hadamard %x block {block} : {x}
  %sx = qat.scale %xh as #quest : {x} -> {sx}
  %cx = qat.quantize %xh, %sx as #quest{pk} : {x}, {sx} -> {cx}
  %xq = qat.dequantize %cx, %sx as #quest{pk} : {cx}, {sx} -> {xb}
  %wh = qat.hadamard %w block {block} : {w}
  %sw = qat.scale %wh as #quest : {w} -> {sw}
  %cw = qat.quantize %wh, %sw as #quest{pk} : {w}, {sw} -> {cw}
  %wq = qat.dequantize %cw, %sw as #quest{pk} : {cw}, {sw} -> {wb}
  %y = qat.matmul %cx, %cw, %sx, %sw as #quest, #quest{pk}
      : {cx}, {cw}, {sx}, {sw} -> {y}
  return %y, %xq, %sx, %wq, %sw : {y}, {xb}, {sx}, {wb}, {sw}
}}
"""
    masks_x = f"""  %xh = qat.hadamard %x block {block} : {x}
  %mx = qat.fake_quant_grad %gx, %xh, %sx as #quest with trust : {x}, {sx}
  %dx = qat.hadamard %mx block {block} : {x}
"""
    masks_w = f"""  %wh = qat.hadamard %w block {block} : {w}
  %mw = qat.fake_quant_grad %gw, %wh, %sw as #quest with trust : {w}, {sw}
  %dw = qat.hadamard %mw block {block} : {w}
"""
    gw = _matmul("gw", "dy", "xq", y, xb, n, k, "tn")
    return forward + f"""
// dx = (g_x * mask_x) H and dw = (g_w * mask_w) H, where g_x = dy Q(w H)
// (rounded to bf16) and g_w = dy^T Q(x H) (f32) are the gradients in the
// rotated space, bf16 GEMMs accumulating in f32.
func.func @{name}_backward(%dy: {y}, %x: {x}, %xq: {xb}, %sx: {sx},
                           %wq: {wb}, %w: {w}, %sw: {sw})
    -> ({x}, {w})
    attributes {{llvm.emit_c_interface}} {{
  %zero = arith.constant 0.0 : f32
{_matmul("gx", "dy", "wq", y, wb, m, k, out="bf16")}{masks_x}{gw}{masks_w}  return %dx, %dw : {x}, {w}
}}

// The weight gradient alone (the input needs none, e.g. the first layer).
func.func @{name}_backward_w(%dy: {y}, %xq: {xb}, %w: {w}, %sw: {sw})
    -> {w}
    attributes {{llvm.emit_c_interface}} {{
  %zero = arith.constant 0.0 : f32
{gw}{masks_w}  return %dw : {w}
}}
"""


def stableqat_module(m, n, k, bits=4, fourier=DEFAULT_FOURIER):
    """Functions <name>_forward, <name>_backward and <name>_backward_w.

    The module computes the GEMMs too (linalg.matmul, on qat-to-nvptx's
    tensor-core contraction kernels): forward y = x Q(w)^T, backward
    dx = dy w^ and g = dy^T x, then the Fourier/LSQ kernel. m None: dynamic
    rows (`?`), one artifact for every number of rows."""
    if not 1 <= bits <= 8:
        raise ValueError(f"StableQAT bit width {bits} is not in [1, 8]")
    name = stableqat_name(m, n, k, bits, fourier)
    q = f"#qat.quantizer<signed, {bits} bits, learned, per_row>"
    amps = ", ".join(repr(float(a)) for a in fourier)
    w, wb, s = _t(n, k, "f32"), _t(n, k, "bf16"), _t(n, 1, "f32")
    c = _t(n, k, "i2" if bits == 1 else "i8")
    head = f"""// Generated by python-bindings/qat/torch_mlir.py: StableQAT weight
// quantizer of a linear layer with w: {n}x{k} (f32), {bits} bits, learned
// per-row step, Fourier estimator with amplitudes [{amps}].
#lsq = {q}
"""
    quantize = f"""  %c = qat.quantize %w, %s as #lsq : {w}, {s} -> {c}
  %wq = qat.dequantize %c, %s as #lsq : {c}, {s} -> {wb}
"""
    estimator = f"""  %dw, %ds = qat.fake_quant_grad %g, %w, %s as #lsq with fourier<[{amps}]>
      : {w}, {s} -> {s}
"""
    x, y = _t(m, k, "bf16"), _t(m, n, "bf16")
    g = _matmul("g", "dy", "x", y, x, n, k, "tn")
    return head + f"""
// y = x w^T on w^ = s * clamp(round(w / s), qn, qp) (bf16, kept for the
// backward), a bf16 GEMM accumulating in f32.
func.func @{name}_forward(%x: {x}, %w: {w}, %s: {s}) -> ({y}, {wb})
    attributes {{llvm.emit_c_interface}} {{
  %zero = arith.constant 0.0 : f32
{quantize}{_matmul("y", "x", "wq", x, wb, m, n, "nt", out="bf16")}  return %y, %wq : {y}, {wb}
}}

// dx = dy w^, and dw through the Fourier surrogate with the LSQ step
// gradient ds, from g = dL/dw^ = dy^T x (f32).
func.func @{name}_backward(%dy: {y}, %x: {x}, %wq: {wb}, %w: {w}, %s: {s})
    -> ({x}, {w}, {s})
    attributes {{llvm.emit_c_interface}} {{
  %zero = arith.constant 0.0 : f32
{_matmul("dx", "dy", "wq", y, wb, m, k, out="bf16")}{g}{estimator}  return %dx, %dw, %ds : {x}, {w}, {s}
}}

// dw and ds alone (the input needs no gradient).
func.func @{name}_backward_w(%dy: {y}, %x: {x}, %w: {w}, %s: {s})
    -> ({w}, {s})
    attributes {{llvm.emit_c_interface}} {{
  %zero = arith.constant 0.0 : f32
{g}{estimator}  return %dw, %ds : {w}, {s}
}}
"""


#===----------------------------------------------------------------------===#
# Compilation (where qat-opt and LLVM are)
#===----------------------------------------------------------------------===#


def artifacts_dir():
    """Where compiled layers live: $QAT_TORCH_ARTIFACTS, else .device-carry/torch
    of a checkout (git-ignored; carried to the GPU machine), else
    ~/.cache/qat/torch for an installed package."""
    if "QAT_TORCH_ARTIFACTS" in os.environ:
        return pathlib.Path(os.environ["QAT_TORCH_ARTIFACTS"])
    if SCRIPTS == ROOT / "scripts":
        return ROOT / ".device-carry" / "torch"
    return pathlib.Path.home() / ".cache" / "qat" / "torch"


def run(cmd):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n"
                           + proc.stdout[-4000:] + proc.stderr[-4000:])
    return proc.stdout


def _signatures(text):
    spec = importlib.util.spec_from_file_location(
        "qat_gpu_compile", SCRIPTS / "gpu" / "compile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.signatures(text)


def compile_artifact(directory, source, target="gpu", chip=DEFAULT_CHIP):
    """Compiles `source` (MLIR text) into `directory`."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    src = directory / "layer.mlir"
    src.write_text(source)
    if target == "gpu":
        run([sys.executable, SCRIPTS / "gpu" / "compile.py", src,
             directory, "--chip", chip, "--qat-opt", QAT_OPT])
        # Only module.o and the manifest need to travel.
        for name in ("module.ll", "module.llvm.mlir", "module.mlir"):
            (directory / name).unlink(missing_ok=True)
        return
    (directory / "module.llvm.mlir").write_text(run([QAT_OPT, src, "--qat-to-cpu"]))
    run([LLVM / "mlir-translate", "--mlir-to-llvmir",
         directory / "module.llvm.mlir", "-o", directory / "module.ll"])
    run([LLVM / "llc", "-O2", "-filetype=obj", "-relocation-model=pic",
         directory / "module.ll", "-o", directory / "module.o"])
    # With the runtime's DLPack views (qat_dlpack_results), so that torch
    # takes the results over without a copy; where its source is not
    # installed (pip), torch_layers copies them.
    link = ["cc", "-shared", directory / "module.o"]
    if DLPACK_SOURCE.exists():
        link = ["c++", "-std=c++17", "-O2", "-shared", "-fPIC", "-I", SCRIPTS.parent / "include",
                directory / "module.o", DLPACK_SOURCE]
    run(link + ["-o", directory / "module.so", "-lm"])
    (directory / "manifest.json").write_text(json.dumps(
        {"target": "cpu", "functions": _signatures(source)}, indent=1))


def layer_artifact(method, bits, m, n, k, fourier=DEFAULT_FOURIER, packed=False):
    """(name, MLIR source) of a layer's functions for m input rows (None:
    any number of rows, the default of QATLinear)."""
    if method == "quest":
        return quest_name(m, n, k, bits, packed), quest_module(m, n, k, bits, packed)
    if method == "stableqat":
        return (stableqat_name(m, n, k, bits, fourier),
                stableqat_module(m, n, k, bits, fourier))
    raise ValueError(f"method must be 'quest' or 'stableqat', got {method!r}")


def matmul_module(m, n, k, bits=4, packed=False):
    """A lone QuEST qat.matmul (centered x centered, per-row steps, bf16
    result), to time the tensor-core kernel by itself."""
    kc = k // 2 if packed else k
    name = f"matmul_b{bits}_m{m}_n{n}_k{k}" + ("_s4" if packed else "")
    q = f"#qat.quantizer<centered, {bits} bits, rms_gaussian, per_row>"
    a, b = _t(m, kc, "i8"), _t(n, kc, "i8")
    sa, sb, y = _t(m, 1, "f32"), _t(n, 1, "f32"), _t(m, n, "bf16")
    pk = " packed" if packed else ""
    return name, f"""#q = {q}
func.func @{name}_matmul(%a: {a}, %b: {b}, %sa: {sa}, %sb: {sb}) -> {y}
    attributes {{llvm.emit_c_interface}} {{
  %y = qat.matmul %a, %b, %sa, %sb as #q, #q{pk} : {a}, {b}, {sa}, {sb} -> {y}
  return %y : {y}
}}
"""
