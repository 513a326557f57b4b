"""The transformer's methods compiled ahead of time for a GPU machine that has
no LLVM (scripts/run.sh --target=cuda --compile-only DIR / --artifacts DIR;
docs/training.md, "On the GPU").

Here (qat-opt, LLVM, the qat Python extension), `compile_method` writes what
methods.Method.modules() makes of the float graph, each module compiled whole
by qat-to-nvptx (scripts/gpu/compile.py), into

    DIR/artifacts.json       chip, weight decay, model config, methods
    DIR/model/               transformer.json and the MLIR it was made from
    DIR/<method>/loss/       @transformer_loss (+ _init_steps): validation
    DIR/<method>/step/       @transformer_loss_train_step (AdamW)
    DIR/<method>/logits/     sampling: @transformer_logits, or qat-convert's
                             _pack and _inference (module.mlir kept: its
                             _pack names the quantizers the packed file
                             records)

each a module.o (host code, cubin embedded) and its manifest.json.

There (CUDA, numpy; no LLVM), `link` links every module.o with the qat CUDA
runtime (scripts/gpu/link.sh) and `ArtifactStep` trains with them through
qat.compiled (ctypes): the same interface as methods.Step, the weights and
AdamW's moments staying on the GPU between steps.
"""

import ctypes
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import methods as qat_methods  # noqa: E402

INDEX = "artifacts.json"
MODEL_FILES = ("transformer.json", "transformer.mlir", "transformer_logits.mlir")
KINDS = ("loss", "step", "logits")


class ArtifactError(Exception):
    """What is wrong with an artifact folder, in words for the user."""


def runtime_dir():
    """Where scripts/gpu/link.sh builds the qat CUDA runtime."""
    return pathlib.Path(os.environ.get("QAT_RUNTIME_BUILD", "/tmp/qat-runtime"))


# ---------------------------------------------------------------------------
# Here: compile
# ---------------------------------------------------------------------------

def prepare(out, model_dir, chip, weight_decay):
    """Copies the model into OUT/model; returns the index to update. An
    existing index of another model, chip or weight decay is replaced (its
    methods would not match)."""
    out.mkdir(parents=True, exist_ok=True)
    model = out / "model"
    if model.resolve() != pathlib.Path(model_dir).resolve():
        model.mkdir(exist_ok=True)
        for f in MODEL_FILES:
            shutil.copyfile(pathlib.Path(model_dir) / f, model / f)
    config = json.loads((model / "transformer.json").read_text())["config"]
    digest = hashlib.sha256()
    for f in MODEL_FILES:
        digest.update((model / f).read_bytes())
    index = {"chip": chip, "weight_decay": weight_decay, "config": config,
             "model_sha256": digest.hexdigest(), "methods": []}
    old = out / INDEX
    if old.exists():
        prev = json.loads(old.read_text())
        if all(prev.get(k) == index[k] for k in ("chip", "weight_decay",
                                                 "model_sha256")):
            index["methods"] = prev["methods"]
    return index


# More qat-to-nvptx options for every module (e.g. contraction-precision=f32).
PIPELINE_OPTIONS = ""


def compile_method(name, out, chip, weight_decay, log=print):
    """Compiles one method's three modules into OUT/<name>/; returns the
    seconds it took."""
    method = qat_methods.make(name, out / "model", "cuda")
    start = time.time()
    for kind, module in method.modules(weight_decay).items():
        dest = out / name / kind
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        src = dest / "source.mlir"
        src.write_text(str(module))
        build = pathlib.Path(os.environ.get("QAT_BUILD_DIR", ROOT / "build"))
        proc = subprocess.run(
            [sys.executable, str(ROOT / "scripts/gpu/compile.py"), str(src),
             str(dest), "--chip", chip, "--qat-opt",
             str(build / "bin" / "qat-opt"), "--pipeline-options",
             os.environ.get("QAT_PIPELINE_OPTIONS", PIPELINE_OPTIONS)],
            capture_output=True, text=True)
        if proc.returncode:
            raise ArtifactError(f"{name}: compiling its {kind} module failed:"
                                f"\n{proc.stderr}{proc.stdout}")
        keep = ["module.o", "manifest.json"]
        if kind == "logits" and method.quantize:
            keep.append("module.mlir")
        for f in dest.iterdir():
            if f.name not in keep:
                f.unlink()
        log(f"[{name}] {kind}: {(dest / 'module.o').stat().st_size / 1e6:.1f}"
            f" MB ({time.time() - start:.0f} s so far)")
    return time.time() - start


def write_index(out, index, names):
    index["methods"] = sorted(set(index["methods"]) | set(names))
    (out / INDEX).write_text(json.dumps(index, indent=1))


# ---------------------------------------------------------------------------
# There: link and run
# ---------------------------------------------------------------------------

def read_index(folder):
    path = pathlib.Path(folder) / INDEX
    if not path.exists():
        raise ArtifactError(
            f"{folder} holds no compiled methods (no {INDEX}); write them "
            "with scripts/run.sh --target=cuda --compile-only "
            f"{folder} on a machine with qat's build")
    return json.loads(path.read_text())


def link(folder, names):
    """Links each method's modules with the qat CUDA runtime (builds it
    first if missing; CUDA toolkit and g++, no LLVM)."""
    for name in names:
        for kind in KINDS:
            art = pathlib.Path(folder) / name / kind
            proc = subprocess.run(["bash", str(ROOT / "scripts/gpu/link.sh"),
                                   str(art)], capture_output=True, text=True)
            if proc.returncode:
                raise ArtifactError(f"linking {art}/module.o with the qat "
                                    f"CUDA runtime failed:\n{proc.stderr}")


def open_runtime():
    """The qat CUDA runtime that `link` built, checked to reach a GPU."""
    from qat import compiled
    path = runtime_dir() / "lib" / "libqat_cuda_runtime.so"
    try:
        rt = compiled.CUDARuntime(path)
        probe = compiled.TensorType([1], "f32")
        rt.free(rt.upload(np.zeros(1, np.float32), probe))
    except (OSError, RuntimeError) as e:
        raise ArtifactError(f"the qat CUDA runtime cannot use a GPU here: {e}")
    return rt


def call_step(fn, buffers, t, lr):
    """@transformer_loss_train_step through its C interface: the tensors
    (device buffers, (allocated, data) pointer pairs) as memref
    descriptors, then AdamW's step count and learning rate as f32 scalars
    by value (compile.py's manifest lists the tensors only; the order is
    qat-training-step's ABI, docs/training-graphs.md)."""
    descs = []
    for ty, (allocated, data) in zip(fn.args, buffers):
        d = ty.describe(data)
        d.allocated = allocated
        descs.append(d)
    out = fn.result_type()
    fn.entry(ctypes.byref(out), *[ctypes.byref(d) for d in descs],
             ctypes.c_float(t), ctypes.c_float(lr))
    return [getattr(out, f"r{i}") for i in range(len(fn.results))]


class ArtifactStep:
    """methods.Step's interface over linked artifacts. The state keeps the
    trained tensors (weights, learned steps, AdamW's m and v) as device
    pointers; what reads them (validation, saving, sampling) downloads
    them."""

    def __init__(self, method, folder, runtime):
        from qat import compiled
        self.method, self.rt = method, runtime
        folder = pathlib.Path(folder)

        def load(kind):
            art = folder / method.name / kind
            return compiled.CompiledModule(art / "module.so",
                                           art / "manifest.json", runtime)

        self._loss_mod, self._step_mod = load("loss"), load("step")
        self._logits_mod = load("logits")
        self.step_fn = self._step_mod["transformer_loss_train_step"]
        self.loss = self._caller(self._loss_mod, "transformer_loss", single=True)
        self.init_steps = None
        if method.learns_steps:
            self.init_steps = self._caller(self._loss_mod,
                                           "transformer_loss_init_steps")
        if method.quantize:
            self.pack = self._caller(self._logits_mod, "transformer_logits_pack")
            self.inference = self._caller(
                self._logits_mod, "transformer_logits_inference", single=True)
            self._converted = (folder / method.name / "logits" /
                               "module.mlir").read_text()
            self.sample_source = "qat-convert's inference on packed codes, GPU"
        else:
            self.inference = self._caller(self._logits_mod,
                                          "transformer_logits", single=True)
            self.sample_source = "float forward, GPU"

    @staticmethod
    def _caller(module, name, single=False):
        def call(*arrays):
            outs = module.call_gpu(name, *arrays)
            return outs[0] if single else tuple(outs)
        return call

    def initial_state(self, weights):
        params = {k: np.asarray(v, np.float32) for k, v in weights.items()}
        steps = {}
        if self.init_steps is not None:
            out = self.init_steps(*params.values())
            steps = {f"step{i}": v for i, v in enumerate(out)}
        trained = list(params.values()) + list(steps.values())
        host = trained + [np.zeros_like(p) for p in trained] * 2
        fn = self.step_fn
        if len(fn.args) != 2 + len(host):
            raise ArtifactError(
                f"{self.method.name}: the compiled step takes "
                f"{len(fn.args) - 2} trained tensors, the model has "
                f"{len(host)} (weights, steps, m, v): the artifact is not "
                "of this model")
        return {"names": list(params), "steps": list(steps), "t": 0,
                "device": [self._upload(a, ty)
                           for a, ty in zip(host, fn.args[2:])]}

    def _upload(self, array, ttype):
        p = self.rt.upload(array, ttype)
        return (p, p)

    def train(self, state, tokens, targets, lr):
        state["t"] += 1
        fn, rt = self.step_fn, self.rt
        ins = [self._upload(tokens, fn.args[0]),
               self._upload(targets, fn.args[1])]
        outs = call_step(fn, ins + state["device"], state["t"], lr)
        rt.check()
        loss = float(rt.download(self._data(outs[0], fn.results[0]),
                                 fn.results[0]))
        # A result may be an argument returned as is; free only the rest.
        keep = {o.allocated for o in outs[1:]}
        for allocated, _ in ins + state["device"]:
            if allocated not in keep:
                rt.free(allocated)
        rt.free(outs[0].allocated)
        state["device"] = [(o.allocated, self._data(o, ty))
                           for o, ty in zip(outs[1:], fn.results[1:])]
        return loss

    @staticmethod
    def _data(desc, ttype):
        """Where a result's elements start (its buffer may be aligned past
        the allocation and offset)."""
        return desc.aligned + desc.offset * ttype.itemsize

    def _download(self, state):
        n = len(state["names"]) + len(state["steps"])
        return [self.rt.download(data, ty) for (_, data), ty in
                zip(state["device"][:n], self.step_fn.args[2:])]

    def forward_params(self, state):
        return self._download(state)

    def named_weights(self, state):
        return dict(zip(state["names"] + state["steps"],
                        self._download(state)))

    def packed(self, state):
        return self.pack(*self.forward_params(state))

    def inference_args(self, state):
        if not self.method.quantize:
            return self.forward_params(state)
        floats = [v for k, v in self.named_weights(state).items()
                  if k in state["names"]
                  and k.split(".")[-1] not in qat_methods.QUANTIZED]
        return floats + list(self.packed(state))

    def save_packed(self, state, path):
        if not self.method.quantize:
            return False
        from qat import packed_weights
        packed_weights.save(str(path), self.packed(state),
                            function="transformer_logits",
                            module=self._converted)
        return True
