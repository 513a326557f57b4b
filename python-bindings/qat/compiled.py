"""Calls functions that qat compiled ahead of time, through ctypes.

A compiled artifact is a shared library built from the object file that
`qat-opt --qat-to-nvptx` (or `--qat-to-cpu`) + LLVM produced, linked with
the qat runtime, and a manifest (JSON) giving each function's argument and
result types. This module needs only numpy (and, for GPU buffers, the qat
CUDA runtime), so it runs on machines without LLVM/MLIR.

Functions are called through their C interface `_mlir_ciface_<name>`: every
tensor argument is passed as a pointer to a memref descriptor
{allocated, aligned, offset, sizes[rank], strides[rank]}, and results come
back through a pointer to a struct of such descriptors (or one descriptor).

A dimension that is dynamic in the function's type (`?`, -1 in the
manifest) takes its size from the argument at each call (the descriptor
carries it); results report theirs in their descriptors (`result_shape`).
"""

import ctypes
import json
import pathlib

import numpy as np

# Element types of tensors: numpy storage dtype of one element. bf16 has no
# numpy type: it travels as uint16 bit patterns (see to_bf16/from_bf16).
STORAGE = {"f32": np.float32, "f64": np.float64, "f16": np.float16,
           "bf16": np.uint16, "i8": np.int8, "i16": np.int16, "i32": np.int32,
           "i64": np.int64, "i1": np.bool_}


def to_bf16(a):
    """float32 -> bf16 bit patterns, round to nearest even."""
    b = np.ascontiguousarray(a, np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) >> 16
    return b.astype(np.uint16)


def from_bf16(bits):
    return (np.asarray(bits, np.uint16).astype(np.uint32) << 16).view(np.float32)


def descriptor_type(rank):
    fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
              ("offset", ctypes.c_int64)]
    if rank:
        fields += [("sizes", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]
    return type(f"MemRef{rank}D", (ctypes.Structure,), {"_fields_": fields})


class TensorType:
    def __init__(self, shape, dtype):
        self.shape, self.dtype = list(shape), dtype
        self.dynamic = any(d < 0 for d in self.shape)
        self.itemsize = np.dtype(STORAGE[dtype]).itemsize
        self.descriptor = descriptor_type(len(self.shape))

    @property
    def nbytes(self):
        return self.nbytes_of(self.shape)

    def nbytes_of(self, shape):
        return int(np.prod(shape, dtype=np.int64)) * self.itemsize

    def accepts(self, shape):
        """Whether an array of `shape` matches (dynamic dimensions: any size)."""
        return len(shape) == len(self.shape) and all(
            d < 0 or d == s for d, s in zip(self.shape, shape))

    def check(self, shape, what="argument"):
        if not self.accepts(shape):
            raise ValueError(f"{what} of shape {list(shape)} given for {self}")

    def describe(self, pointer, shape=None):
        """A descriptor of a contiguous buffer of `shape` (the type's own
        shape when it is static)."""
        d = self.descriptor()
        d.allocated = d.aligned = pointer
        self.set_shape(d, self.shape if shape is None else shape)
        return d

    @staticmethod
    def set_shape(d, shape):
        d.offset = 0
        stride = 1
        for i in reversed(range(len(shape))):
            d.sizes[i] = shape[i]
            d.strides[i] = stride
            stride *= shape[i]

    def result_shape(self, d):
        """The shape of a result from its descriptor."""
        if not self.dynamic:
            return self.shape
        return [int(d.sizes[i]) for i in range(len(self.shape))]

    def __repr__(self):
        dims = ["?" if d < 0 else str(d) for d in self.shape]
        return "tensor<" + "x".join(dims + [self.dtype]) + ">"


class CUDARuntime:
    """The qat CUDA runtime (lib/Runtime/CUDA): device buffers and errors."""

    def __init__(self, path):
        lib = ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
        lib.qat_cuda_alloc.restype = ctypes.c_void_p
        lib.qat_cuda_alloc.argtypes = [ctypes.c_size_t]
        lib.qat_cuda_free.argtypes = [ctypes.c_void_p]
        for name in ("qat_cuda_copy_to_device", "qat_cuda_copy_to_host"):
            getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        lib.qat_cuda_last_error.restype = ctypes.c_char_p
        lib.qat_cuda_timer_start.restype = ctypes.c_void_p
        lib.qat_cuda_timer_stop.restype = ctypes.c_float
        lib.qat_cuda_timer_stop.argtypes = [ctypes.c_void_p]
        lib.qat_cuda_set_error_mode(1)  # record errors, raise them here
        self.lib = lib

    def check(self):
        error = self.lib.qat_cuda_last_error()
        if error:
            self.lib.qat_cuda_clear_error()
            raise RuntimeError("qat CUDA runtime: " + error.decode())

    def upload(self, array, ttype):
        host = np.ascontiguousarray(array, STORAGE[ttype.dtype])
        ttype.check(host.shape)
        ptr = self.lib.qat_cuda_alloc(max(host.nbytes, 1))
        self.check()
        self.lib.qat_cuda_copy_to_device(ptr, host.ctypes.data, host.nbytes)
        self.check()
        return ptr

    def download(self, ptr, ttype, shape=None):
        host = np.empty(ttype.shape if shape is None else shape, STORAGE[ttype.dtype])
        self.lib.qat_cuda_copy_to_host(host.ctypes.data, ptr, host.nbytes)
        self.check()
        return host

    def free(self, ptr):
        self.lib.qat_cuda_free(ptr)

    def time_ms(self, fn, warmup=3, repeat=20):
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeat):
            timer = self.lib.qat_cuda_timer_start()
            fn()
            times.append(self.lib.qat_cuda_timer_stop(timer))
        self.check()
        return float(np.median(times)), times


class Function:
    def __init__(self, library, name, args, results):
        self.name, self.library = name, library
        self.args = [TensorType(*a) for a in args]
        self.results = [TensorType(*r) for r in results]
        self.entry = getattr(library, "_mlir_ciface_" + name)
        self.entry.restype = None
        if len(self.results) == 1:
            self.result_type = self.results[0].descriptor
        else:
            self.result_type = type(f"{name}_results", (ctypes.Structure,), {
                "_fields_": [(f"r{i}", r.descriptor) for i, r in enumerate(self.results)]})

    def call_on_pointers(self, pointers, shapes=None):
        """Calls with device (or host, for CPU code) pointers of contiguous
        buffers of `shapes` (needed where the signature has dynamic
        dimensions); returns the result descriptors."""
        if len(pointers) != len(self.args):
            raise TypeError(f"{self.name} takes {len(self.args)} arguments, "
                            f"got {len(pointers)}")
        if shapes is None:
            if any(t.dynamic for t in self.args):
                raise TypeError(f"{self.name} has dynamic dimensions: give the "
                                "arguments' shapes")
            shapes = [None] * len(pointers)
        else:
            for t, shape in zip(self.args, shapes):
                t.check(shape)
        descs = [t.describe(p, s) for t, p, s in zip(self.args, pointers, shapes)]
        out = self.result_type()
        self.entry(ctypes.byref(out), *[ctypes.byref(d) for d in descs])
        if len(self.results) == 1:
            return [out]
        return [getattr(out, f"r{i}") for i in range(len(self.results))]


class CompiledModule:
    """A shared library of compiled qat functions plus its manifest."""

    def __init__(self, library, manifest, runtime=None):
        self.runtime = runtime
        self.library = ctypes.CDLL(str(library))
        spec = json.loads(pathlib.Path(manifest).read_text())
        self.functions = {f["name"]: Function(self.library, f["name"], f["args"], f["results"])
                          for f in spec["functions"]}

    def __getitem__(self, name):
        if name not in self.functions:
            raise KeyError(f"no function '{name}' in the module; it has: "
                           + ", ".join(sorted(self.functions)))
        return self.functions[name]

    def call_gpu(self, name, *arrays):
        """Uploads numpy inputs, runs, downloads and frees the results."""
        fn, rt = self[name], self.runtime
        arrays = [np.asarray(a) for a in arrays]
        ptrs = [rt.upload(a, t) for a, t in zip(arrays, fn.args)]
        try:
            descs = fn.call_on_pointers(ptrs, [a.shape for a in arrays])
            rt.check()
            outs = []
            for d, t in zip(descs, fn.results):
                outs.append(rt.download(d.aligned + d.offset * t.itemsize, t,
                                        t.result_shape(d)))
            for d in descs:
                # A result may be an argument returned as is (a folded op).
                if d.allocated not in ptrs:
                    rt.free(d.allocated)
                    ptrs.append(d.allocated)
            return outs
        finally:
            for p in ptrs[:len(fn.args)]:
                rt.free(p)
