"""qat-compiled QuEST and StableQAT linear layers for PyTorch.

`QATLinear(in_features, out_features, method="quest" | "stableqat", bits=4)`
is a drop-in replacement for a bias-free `torch.nn.Linear` whose forward and
backward are each one function that qat compiled ahead of time, the float
GEMMs included (python-bindings/qat/torch_mlir.py says what each computes).
Activations are bf16, the weight (and StableQAT's step) are f32 parameters,
the output is bf16.

A layer has one compiled artifact per (in, out, method, bits, rows, device),
its kernels specialized to the number of rows. With `dynamic_rows=True` one
artifact serves every number of rows (tokens, M), the float GEMMs on the
same tensor-core kernels reading M at run time. An artifact lives in
`<artifacts>/<name>/` with `module.o` and `manifest.json`
(scripts/gpu/compile.py). Where `build/bin/qat-opt` exists a missing
artifact is compiled on first use (for sm_90a on Hopper, see
torch_mlir.chip_for_capability); on the GPU machine (no LLVM) the artifacts
must have been compiled beforehand (examples/torch/build.py) and carried
there; they are linked with the qat CUDA runtime on first use
(scripts/gpu/link.sh).

GPU calls are zero-copy and asynchronous: arguments are the tensors' device
pointers, compiled code runs on PyTorch's current stream
(qat_cuda_set_stream), and its results, allocated stream-ordered by the
runtime (its cache of freed blocks, then its memory pool), become torch
tensors through DLPack (qat_dlpack_results: views recycled by the runtime,
whose deleter gives the memory back without Python) and go back to the
runtime when torch frees them. CPU tensors use functions compiled with
--qat-to-cpu (for tests on machines without a GPU); their results, from
malloc, are taken over the same way. QAT_TORCH_WRAP=copy (CPU) or cai (GPU,
`__cuda_array_interface__`) selects the older ways, which runtimes and
artifacts built before qat_dlpack_results take anyway.
"""

import ctypes
import ctypes.util
import math
import os
import pathlib
import warnings

import torch
from torch import nn

try:
    from . import compiled, torch_mlir
except ImportError:  # python-bindings/qat itself on sys.path
    import compiled
    import torch_mlir

ROOT = torch_mlir.ROOT
artifacts_dir = torch_mlir.artifacts_dir
compile_artifact = torch_mlir.compile_artifact
_run = torch_mlir.run


def runtime_build_dir():
    """Where scripts/gpu/link.sh builds the CUDA runtime."""
    return pathlib.Path(os.environ.get("QAT_RUNTIME_BUILD", "/tmp/qat-runtime"))


_DTYPE = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16,
          "i8": torch.int8}
# bf16 has no numpy type string: it travels as int16 and is viewed back.
_TYPESTR = {"f32": ("<f4", None), "f16": ("<f2", None),
            "bf16": ("<i2", torch.bfloat16), "i8": ("|i1", None)}


#===----------------------------------------------------------------------===#
# Runtimes: where results live and how they come back as tensors
#===----------------------------------------------------------------------===#


class _DeviceBuffer:
    """A result of compiled GPU code, seen by torch through the CUDA array
    interface; freed (stream-ordered) when the last tensor on it dies."""

    def __init__(self, free, allocated, aligned, shape, typestr):
        self._free, self._ptr = free, allocated
        self.__cuda_array_interface__ = {
            "shape": shape, "typestr": typestr, "data": (aligned, False),
            "version": 2}

    def __del__(self):
        try:
            self._free(self._ptr)
        except Exception:  # interpreter shutdown: the process frees it
            pass


def _raw_stream(device_index):
    """The CUstream of torch's current stream on a device, as an int."""
    return torch.cuda.current_stream(device_index).cuda_stream


if hasattr(torch._C, "_cuda_getCurrentRawStream"):  # the same, without a Stream object
    _raw_stream = torch._C._cuda_getCurrentRawStream  # noqa: F811


#===----------------------------------------------------------------------===#
# DLPack: results handed to torch without a copy or a Python object each
#===----------------------------------------------------------------------===#

# DLPack's DLDataTypeCode and bits of each element type.
_DLPACK_TYPE = {"f32": (2, 32), "f16": (2, 16), "bf16": (4, 16), "i8": (0, 8)}
_DLPACK_CPU, _DLPACK_CUDA = 1, 2
_capsule_new = ctypes.pythonapi.PyCapsule_New
_capsule_new.restype = ctypes.py_object
_capsule_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
_DLTENSOR = b"dltensor"
_from_dlpack = getattr(torch._C, "_from_dlpack", None)


class _DLPackPlan(ctypes.Structure):
    """qat_dlpack_plan of include/qat/Runtime/CUDARuntime.h."""
    _fields_ = [("descriptors", ctypes.c_void_p), ("layout", ctypes.c_void_p),
                ("arguments", ctypes.c_void_p), ("release", ctypes.c_void_p),
                ("tensors", ctypes.c_void_p), ("count", ctypes.c_int32),
                ("argument_count", ctypes.c_int32), ("device_type", ctypes.c_int32),
                ("device_id", ctypes.c_int32)]


def _dlpack_function(library, alloc, release, device_type):
    """qat_dlpack_results of a library (lib/Runtime/CUDA/DLPack.cpp), or
    None where it predates it, QAT_TORCH_WRAP asks for another way, or this
    torch does not take its views (checked once on a buffer of 4 floats from
    `alloc`, given back through `release`)."""
    if _from_dlpack is None or os.environ.get("QAT_TORCH_WRAP", "dlpack") != "dlpack":
        return None
    f = getattr(library, "qat_dlpack_results", None)
    if f is None:
        return None
    f.restype = ctypes.c_int
    f.argtypes = [ctypes.POINTER(_DLPackPlan)]
    descriptor = compiled.descriptor_type(1)()
    descriptor.allocated = descriptor.aligned = alloc(16)
    descriptor.sizes[0], descriptor.strides[0] = 4, 1
    layout = (ctypes.c_int32 * 3)(1, *_DLPACK_TYPE["f32"])
    view = ctypes.c_void_p()
    plan = _DLPackPlan(ctypes.addressof(descriptor), ctypes.addressof(layout), None, release,
                       ctypes.addressof(view), 1, 0,
                       _DLPACK_CUDA if device_type == "cuda" else _DLPACK_CPU, 0)
    try:
        if f(ctypes.byref(plan)) or not view.value:
            raise RuntimeError("qat_dlpack_results failed")
        t = _from_dlpack(_capsule_new(view.value, _DLTENSOR, None))
        if (t.shape != (4,) or t.dtype != torch.float32 or t.device.type != device_type
                or t.data_ptr() != descriptor.aligned):
            raise RuntimeError(f"the view came back as {t.shape}, {t.dtype} on {t.device}")
        del t
    except Exception as e:  # noqa: BLE001 -- any failure: the older way
        warnings.warn(f"qat: this torch does not take the runtime's DLPack results ({e}); "
                      "wrapping them the older way")
        return None
    return f


class _DLPackResults:
    """One function's results as torch tensors through DLPack: the plan
    (the results' ranks and element types, the argument descriptors, the
    array the views come back in) is built once, and each call passes it
    alone."""

    def __init__(self, function, kernel, release, device_type):
        n = len(kernel.results)
        self.function = function
        self.layout = (ctypes.c_int32 * (3 * n))(*[
            v for t in kernel.function.results
            for v in (len(t.shape),) + _DLPACK_TYPE[t.dtype]])
        self.arguments = (ctypes.c_void_p * len(kernel.descs))(
            *[ctypes.addressof(d) for d in kernel.descs])
        self.views = (ctypes.c_void_p * n)()
        self.plan = _DLPackPlan(
            ctypes.addressof(kernel.out), ctypes.addressof(self.layout),
            ctypes.addressof(self.arguments), release, ctypes.addressof(self.views), n,
            len(kernel.descs), _DLPACK_CUDA if device_type == "cuda" else _DLPACK_CPU, 0)
        self.plan_ref = ctypes.byref(self.plan)

    def __call__(self, device_index, tensors, pointers, out_descs):
        if device_index != self.plan.device_id:
            self.plan.device_id = device_index
        if self.function(self.plan_ref):
            raise RuntimeError("qat_dlpack_results: a result's rank is over 8")
        results = []
        for view, d in zip(self.views, out_descs):
            if view:
                results.append(_from_dlpack(_capsule_new(view, _DLTENSOR, None)))
            else:  # an argument returned as is
                results.append(tensors[pointers.index(d.allocated)])
        return results


class _GPURuntime:
    def __init__(self):
        path = pathlib.Path(os.environ.get(
            "QAT_CUDA_RUNTIME",
            runtime_build_dir() / "lib" / "libqat_cuda_runtime.so"))
        if not path.exists():
            raise FileNotFoundError(
                f"qat CUDA runtime {path} not built (scripts/gpu/link.sh builds it)")
        self.cuda = compiled.CUDARuntime(path)
        lib = self.cuda.lib
        if not hasattr(lib, "qat_cuda_set_stream"):
            raise RuntimeError(f"the qat CUDA runtime {path} predates "
                               "qat_cuda_set_stream; rebuild it")
        lib.qat_cuda_set_stream.argtypes = [ctypes.c_void_p]
        self.lib, self.stream = lib, None
        self.free_address = ctypes.cast(lib.qat_cuda_free, ctypes.c_void_p).value
        torch.cuda.init()
        self.dlpack = _dlpack_function(lib, lib.qat_cuda_alloc, self.free_address, "cuda")

    def enter(self, device_index):
        stream = _raw_stream(device_index)
        if stream != self.stream:
            # 0 is the legacy default stream, which the runtime takes as NULL.
            self.lib.qat_cuda_set_stream(stream or None)
            self.cuda.check()
            self.stream = stream

    def check(self):
        self.cuda.check()

    def wrap(self, desc, result):
        buffer = _DeviceBuffer(self.lib.qat_cuda_free, desc.allocated,
                               desc.aligned, result.shape_of(desc), result.typestr)
        tensor = torch.as_tensor(buffer, device="cuda")
        return tensor.view(result.view) if result.view is not None else tensor


class _CPURuntime:
    def __init__(self):
        self.libc = ctypes.CDLL(ctypes.util.find_library("c"))
        self.libc.free.argtypes = [ctypes.c_void_p]
        self.libc.malloc.restype = ctypes.c_void_p
        self.libc.malloc.argtypes = [ctypes.c_size_t]
        self.free_address = ctypes.cast(self.libc.free, ctypes.c_void_p).value

    def enter(self, device_index):
        pass

    def check(self):
        pass

    def wrap(self, desc, result):
        # One copy, into the tensor returned: compiled CPU code allocates its
        # results with malloc, which torch cannot take over.
        tensor = torch.empty(result.shape_of(desc), dtype=result.dtype)
        ctypes.memmove(tensor.data_ptr(), desc.aligned, result.nbytes_of(desc))
        self.libc.free(desc.allocated)
        return tensor


_runtimes = {}


def device_chip(device=None):
    """The chip to compile for the current (or given) CUDA device: sm_90a on
    Hopper (torch_mlir.chip_for_capability)."""
    return torch_mlir.chip_for_capability(*torch.cuda.get_device_capability(device))


def _runtime(kind):
    if kind not in _runtimes:
        _runtimes[kind] = _GPURuntime() if kind == "cuda" else _CPURuntime()
    return _runtimes[kind]


class _Result:
    """What wrapping a result needs, computed once per function. A dynamic
    first dimension (the rows) is read from the result's descriptor at each
    call; its other dimensions and the bytes of one row are fixed."""

    def __init__(self, ttype):
        self.shape = tuple(ttype.shape)
        self.dynamic = ttype.dynamic
        if self.dynamic and any(d < 0 for d in ttype.shape[1:]):
            raise ValueError(f"{ttype}: only the first dimension may be dynamic")
        self.tail = tuple(ttype.shape[1:])
        self.typestr, self.view = _TYPESTR[ttype.dtype]
        self.dtype = _DTYPE[ttype.dtype]
        self.row_bytes = ttype.nbytes_of([1] + list(ttype.shape[1:]))
        self.nbytes = None if self.dynamic else ttype.nbytes

    def shape_of(self, desc):
        return (desc.sizes[0],) + self.tail if self.dynamic else self.shape

    def nbytes_of(self, desc):
        return desc.sizes[0] * self.row_bytes if self.dynamic else self.nbytes


class Kernel:
    """One compiled function called on torch tensors. Arguments must match
    the signature (shape, where only a dynamic first dimension may take any
    size; dtype; contiguous, 16-byte aligned); results come back as new
    tensors.

    A call's host time matters (it adds to every layer's forward and
    backward): the signature's checks are prepared once, each argument costs
    a few attribute reads, and the ctypes descriptors are reused (a dynamic
    first dimension only sets the size in its descriptor: the strides of a
    contiguous tensor do not depend on it)."""

    def __init__(self, function, runtime, device_type):
        self.name = function.name
        self.function, self.runtime, self.device_type = function, runtime, device_type
        self.is_cuda = device_type == "cuda"
        for t in function.args:
            if any(d < 0 for d in t.shape[1:]):
                raise ValueError(f"{self.name}: argument {t}: only the first "
                                 "dimension may be dynamic")
        # (shape, dtype): the shape is a torch.Size to compare with, or the
        # dimensions after a dynamic first one.
        self.args = [(torch.Size(t.shape[1:]) if t.dynamic else torch.Size(t.shape),
                      _DTYPE[t.dtype]) for t in function.args]
        self.dynamic = [t.dynamic for t in function.args]
        self.results = [_Result(t) for t in function.results]
        self.descs = [t.describe(0, [1 if d < 0 else d for d in t.shape])
                      for t in function.args]
        self.refs = [ctypes.byref(d) for d in self.descs]
        self.checks = list(zip(self.args, self.descs, self.dynamic))
        self.out = function.result_type()
        self.out_ref = ctypes.byref(self.out)
        # Views of the result struct's descriptors (it is reused by every call).
        self.out_descs = ([self.out] if len(self.results) == 1 else
                          [getattr(self.out, f"r{i}") for i in range(len(self.results))])
        self.outputs = list(zip(self.out_descs, self.results))
        # Results through DLPack where the library that allocates them can
        # (the CUDA runtime; a CPU artifact linked with DLPack.cpp).
        dlpack = (runtime.dlpack if self.is_cuda else
                  _dlpack_function(function.library, runtime.libc.malloc,
                                   runtime.free_address, "cpu"))
        self.dlpack = dlpack and _DLPackResults(dlpack, self, runtime.free_address,
                                                device_type)

    def _argument_error(self, i, t):
        shape, dtype = self.args[i]
        shape = (["?"] if self.dynamic[i] else []) + list(shape)
        p = t.data_ptr()
        return TypeError(
            f"{self.name}: argument {i} must be a contiguous, 16-byte aligned "
            f"{self.device_type} tensor of shape {shape} and {dtype}; got "
            f"{list(t.shape)}, {t.dtype} on {t.device}"
            f"{'' if t.is_contiguous() else ', not contiguous'}"
            f"{', misaligned' if p % 16 else ''}")

    def __call__(self, *tensors):
        if len(tensors) != len(self.checks):
            raise TypeError(f"{self.name} takes {len(self.checks)} tensors, "
                            f"got {len(tensors)}")
        pointers = []
        is_cuda = self.is_cuda
        for t, ((shape, dtype), d, dynamic) in zip(tensors, self.checks):
            p = t.data_ptr()
            if dynamic:
                size = t.shape
                if (t.dtype is not dtype or size[1:] != shape or not size
                        or t.is_cuda is not is_cuda or p & 15 or not t.is_contiguous()):
                    raise self._argument_error(len(pointers), t)
                d.sizes[0] = size[0]
            elif (t.dtype is not dtype or t.shape != shape or t.is_cuda is not is_cuda
                    or p & 15 or not t.is_contiguous()):
                raise self._argument_error(len(pointers), t)
            d.allocated = d.aligned = p
            pointers.append(p)
        device = tensors[0].get_device()
        self.runtime.enter(device)
        self.function.entry(self.out_ref, *self.refs)
        self.runtime.check()
        if self.dlpack:
            return self.dlpack(max(device, 0), tensors, pointers, self.out_descs)
        wrap = self.runtime.wrap
        results = []
        for d, result in self.outputs:
            allocated = d.allocated
            if allocated in pointers:  # an argument returned as is
                results.append(tensors[pointers.index(allocated)])
            else:
                results.append(wrap(d, result))
        return results


_modules = {}


def load_kernels(name, source, device_type):
    """The functions of artifact `name` (compiled from `source` if needed
    and possible) for "cuda" or "cpu" tensors, as {suffix: Kernel}."""
    key = (name, device_type)
    if key in _modules:
        return _modules[key]
    target = "gpu" if device_type == "cuda" else "cpu"
    directory = artifacts_dir() / (name if target == "gpu" else name + "-cpu")
    if not (directory / "manifest.json").exists():
        if not torch_mlir.QAT_OPT.exists():
            raise FileNotFoundError(
                f"no compiled qat artifact {directory} and no {torch_mlir.QAT_OPT} to compile "
                f"it: run examples/torch/build.py where qat is built and carry "
                f"{artifacts_dir()} here")
        compile_artifact(directory, source, target,
                         **({"chip": device_chip()} if target == "gpu" else {}))
    library = directory / "module.so"
    if target == "gpu" and (not library.exists() or
                            library.stat().st_mtime < (directory / "module.o").stat().st_mtime):
        _run([torch_mlir.SCRIPTS / "gpu" / "link.sh", directory])
    runtime = _runtime(device_type)
    module = compiled.CompiledModule(library, directory / "manifest.json",
                                     getattr(runtime, "cuda", None))
    if target == "gpu":
        runtime.check()  # module loading happens as the library is opened
    kernels = {f.name[len(name) + 1:]: Kernel(f, runtime, device_type)
               for f in module.functions.values()}
    kernels["_module"] = module  # keeps the library loaded
    _modules[key] = kernels
    return kernels


#===----------------------------------------------------------------------===#
# Autograd functions
#===----------------------------------------------------------------------===#

class QuESTLinearFunction(torch.autograd.Function):
    """y = Q(x H) Q(w H)^T and its trust-masked backward, each one compiled
    function (the backward's GEMMs g_x = dy w^ and g_w = dy^T x^ included)."""

    @staticmethod
    def forward(ctx, x, weight, kernels):
        y, xq, sx, wq, sw = kernels["forward"](x, weight)
        ctx.save_for_backward(x, weight, xq, sx, wq, sw)
        ctx.kernels = kernels
        return y

    @staticmethod
    def backward(ctx, dy):
        x, weight, xq, sx, wq, sw = ctx.saved_tensors
        dy = _ready(dy)
        if ctx.needs_input_grad[0]:
            dx, dw = ctx.kernels["backward"](dy, x, xq, sx, wq, weight, sw)
        else:
            dx, (dw,) = None, ctx.kernels["backward_w"](dy, xq, weight, sw)
        return dx, dw, None


class StableQATLinearFunction(torch.autograd.Function):
    """y = x Q(w; s)^T and its Fourier/LSQ backward, each one compiled
    function (the GEMMs y = x w^T, dx = dy w^ and g = dy^T x included)."""

    @staticmethod
    def forward(ctx, x, weight, step, kernels):
        y, wq = kernels["forward"](x, weight, step)
        ctx.save_for_backward(x, weight, step, wq)
        ctx.kernels = kernels
        return y

    @staticmethod
    def backward(ctx, dy):
        x, weight, step, wq = ctx.saved_tensors
        dy = _ready(dy)
        if ctx.needs_input_grad[0]:
            dx, dw, ds = ctx.kernels["backward"](dy, x, wq, weight, step)
        else:
            dx, (dw, ds) = None, ctx.kernels["backward_w"](dy, x, weight, step)
        return dx, dw, ds, None


def _ready(t):
    t = t.contiguous()
    return t.clone() if t.data_ptr() % 16 else t


class QATLinear(nn.Module):
    """A linear layer y = x W^T (+ b) trained with QuEST (W{bits}A{bits},
    Hadamard 128, trust estimator) or StableQAT (W{bits}, learned per-row
    LSQ step, Fourier estimator), computed by qat-compiled kernels.

    Input: (..., in_features), any float dtype (computed in bf16); output:
    (..., out_features) in bf16. `in_features` must be a multiple of 128
    for QuEST. The bias, if any, is added by torch. `packed` (QuEST): codes
    two per byte and s4 tensor cores; by default only on chips that have
    int4 tensor cores (not Hopper), see torch_mlir.default_packed.

    Each number of input rows (tokens) M has its own compiled functions,
    GEMMs included, compiled on first use where qat-opt is (or beforehand
    by examples/torch/build.py). `dynamic_rows=True` compiles them once for
    every M instead (the kernels read M at run time), for inputs whose
    number of rows varies."""

    def __init__(self, in_features, out_features, bias=False, method="quest",
                 bits=4, fourier=torch_mlir.DEFAULT_FOURIER, packed=None, device=None,
                 dynamic_rows=False):
        super().__init__()
        if method not in ("quest", "stableqat"):
            raise ValueError(f"method must be 'quest' or 'stableqat', got {method!r}")
        if method == "quest":
            torch_mlir.check_quest_shape(1, out_features, in_features, bits)
        self.in_features, self.out_features = in_features, out_features
        self.method, self.bits, self.fourier = method, bits, tuple(fourier)
        self.packed, self.dynamic_rows = packed, dynamic_rows
        self.weight = nn.Parameter(torch.empty(out_features, in_features, device=device))
        self.bias = nn.Parameter(torch.empty(out_features, device=device)) if bias else None
        self.step = (nn.Parameter(torch.empty(out_features, 1, device=device))
                     if method == "stableqat" else None)
        self._kernels = {}
        self.reset_parameters()

    def reset_parameters(self):
        # As torch.nn.Linear.
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            nn.init.uniform_(self.bias, -bound, bound)
        self.init_step()

    @torch.no_grad()
    def init_step(self):
        """LSQ's initial step, per row: 2 mean|w| / sqrt(qp)."""
        if self.step is not None:
            qp = max(2 ** (self.bits - 1) - 1, 1)
            self.step.copy_(2 * self.weight.abs().mean(1, keepdim=True) / math.sqrt(qp))

    @classmethod
    def from_linear(cls, linear, **kwargs):
        layer = cls(linear.in_features, linear.out_features,
                    bias=linear.bias is not None, device=linear.weight.device, **kwargs)
        with torch.no_grad():
            layer.weight.copy_(linear.weight)
            if linear.bias is not None:
                layer.bias.copy_(linear.bias)
        layer.init_step()
        return layer

    def artifact(self, device_type="cuda", m=None):
        """(name, MLIR source) of the compiled functions for `m` input rows;
        with dynamic_rows, for any number of rows (m is then ignored)."""
        packed = self.packed
        if packed is None:
            packed = torch_mlir.default_packed(
                self.bits, device_chip() if device_type == "cuda" else "cpu")
        return torch_mlir.layer_artifact(self.method, self.bits,
                                         None if self.dynamic_rows else m,
                                         self.out_features, self.in_features,
                                         self.fourier, packed)

    def kernels(self, m, device_type):
        """The layer's functions for `m` input rows on `device_type`, as
        {"forward", "backward", "backward_w"} (the signatures of
        torch_mlir.quest_module / stableqat_module with rows); with
        dynamic_rows every m shares them."""
        key = (device_type, None if self.dynamic_rows else m)
        kernels = self._kernels.get(key)
        if kernels is None:
            kernels = load_kernels(*self.artifact(device_type, m), device_type)
            self._kernels[key] = kernels
        return kernels

    def forward(self, x):
        lead = x.shape[:-1]
        x2 = _ready(x.reshape(-1, self.in_features).to(torch.bfloat16))
        kernels = self.kernels(x2.shape[0], x2.device.type)
        if self.method == "quest":
            y = QuESTLinearFunction.apply(x2, self.weight, kernels)
        else:
            y = StableQATLinearFunction.apply(x2, self.weight, self.step, kernels)
        if self.bias is not None:
            y = y + self.bias.to(y.dtype)
        return y.reshape(*lead, self.out_features)

    def extra_repr(self):
        extra = (f", fourier={list(self.fourier)}" if self.method == "stableqat"
                 else f", packed={self.packed}")
        if self.dynamic_rows:
            extra += ", dynamic_rows=True"
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, method={self.method}, bits={self.bits}{extra}")
