"""Runs the GPU route's training driver (examples/transformer/artifacts.py's
ArtifactStep, what `run.sh --artifacts` and gpu_run.py train with) on the
CPU: the modules that --compile-only compiles (methods.Method.modules()) are
compiled here by qat-to-cpu into shared objects with the same C interface
and manifest, and a host stand-in takes the qat CUDA runtime's place
(numpy buffers in, the compiled code's malloc'ed results out, freed with
libc's free). The driver's own logic is what is checked: the step's
arguments and results in qat-training-step's order, the state carried from
step to step, aligned result pointers, learned steps, download, pack,
inference.

- float: ArtifactStep against methods.Step (the JIT of the same modules) for
  5 AdamW steps from the same weights and batches: the first loss within
  1e-6 (relative), every loss within 1e-4. The two are one program compiled
  at different LLVM levels; AdamW's first update lr * g / (|g| + eps) turns
  a rounding difference of a gradient that cancels to about eps into up to
  1% of lr in that weight (docs/training.md), far below 1e-4 of the loss
  after 5 steps.
- stableqat_w4: the learned steps come from @transformer_loss_init_steps
  (LSQ's 2 mean|w| / sqrt(7) per row, checked with numpy), 5 steps with finite losses, the
  steps are trained (they move), the packed file records every quantized
  weight's quantizer, and the logits of qat-convert's inference are finite.

usage: check_artifact_step.py MODEL_DIR WORK_DIR [RUNS [QAT_OPT]]
(RUNS fresh seeds, each printed)
"""

import ctypes
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "transformer"))

import artifacts  # noqa: E402
import corpus  # noqa: E402
import methods  # noqa: E402
from qat import compiled, packed_weights  # noqa: E402

LLVM = pathlib.Path("/usr/lib/llvm-22/bin")
_spec = importlib.util.spec_from_file_location(
    "gpu_compile", ROOT / "scripts" / "gpu" / "compile.py")
gpu_compile = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpu_compile)


def compile_cpu(method, out, qat_opt):
    """--compile-only's layout, compiled by qat-to-cpu (module.so and
    manifest.json for each of loss, step, logits)."""
    for kind, module in method.modules().items():
        d = out / method.name / kind
        d.mkdir(parents=True, exist_ok=True)
        text = gpu_compile.with_c_interfaces(str(module))
        (d / "module.mlir").write_text(text)
        lowered = subprocess.run([qat_opt, str(d / "module.mlir"),
                                  "--qat-to-cpu"], check=True,
                                 capture_output=True, text=True).stdout
        (d / "module.llvm.mlir").write_text(lowered)
        subprocess.run([LLVM / "mlir-translate", "--mlir-to-llvmir",
                        d / "module.llvm.mlir", "-o", d / "module.ll"],
                       check=True)
        subprocess.run([LLVM / "llc", "-O2", "-filetype=obj",
                        "-relocation-model=pic", d / "module.ll", "-o",
                        d / "module.o"], check=True)
        subprocess.run([os.environ.get("CC", "cc"), "-shared",
                        d / "module.o", "-o", d / "module.so", "-L/usr/lib/llvm-22/lib",
                        "-lmlir_c_runner_utils", "-lm",
                        "-Wl,-rpath,/usr/lib/llvm-22/lib"], check=True)
        (d / "manifest.json").write_text(json.dumps(
            {"chip": "cpu", "functions": gpu_compile.signatures(text)}))


class HostRuntime:
    """compiled.CUDARuntime's interface on host memory."""

    def __init__(self):
        self.uploaded = {}
        self.libc = ctypes.CDLL(None)
        self.libc.free.argtypes = [ctypes.c_void_p]

    def check(self):
        pass

    def upload(self, array, ttype):
        host = np.array(array, compiled.STORAGE[ttype.dtype], order="C")
        ttype.check(host.shape)
        self.uploaded[host.ctypes.data] = host
        return host.ctypes.data

    def download(self, ptr, ttype, shape=None):
        shape = ttype.shape if shape is None else shape
        n = ttype.nbytes_of(shape)
        data = ctypes.string_at(ptr, n)
        return np.frombuffer(data, compiled.STORAGE[ttype.dtype]).reshape(
            shape).copy()

    def free(self, ptr):
        if self.uploaded.pop(ptr, None) is None:
            self.libc.free(ptr)  # a result: malloc'ed by the compiled code


def train(step, spec, data, seed, n=5):
    cfg = spec["config"]
    B, T, V = cfg["batch"], cfg["context"], cfg["vocab"]
    state = step.initial_state(methods.init_weights(spec, seed))
    batches = data.train_batches(B, T, seed)
    losses = []
    for _ in range(n):
        x, y = next(batches)
        losses.append(step.train(state, corpus.one_hot(x, V),
                                 corpus.one_hot(y, V), 3e-3))
    return state, losses


def check_float(a_step, j_step, spec, data, seed):
    a_state, a_losses = train(a_step, spec, data, seed)
    _, j_losses = train(j_step, spec, data, seed)
    rel = [abs(a - j) / abs(j) for a, j in zip(a_losses, j_losses)]
    print(f"float: losses {[round(v, 5) for v in a_losses]}; relative "
          f"difference from the JIT: first {rel[0]:.1e}, worst {max(rel):.1e}")
    ok = rel[0] <= 1e-6 and max(rel) <= 1e-4
    if not ok:
        print("FAIL: the artifact driver's float run is not the JIT's")
    names = list(a_step.named_weights(a_state))
    if names != [p["name"] for p in spec["params"]]:
        print(f"FAIL: named weights {names[:3]}... not the model's order")
        ok = False
    return ok


def check_stableqat(step, spec, data, seed, work):
    w = methods.init_weights(spec, seed)
    init = step.initial_state(w)
    quantized = [k for k in w if k.split(".")[-1] in methods.QUANTIZED]
    s0 = [v for k, v in step.named_weights(init).items()
          if k.startswith("step")]
    # LSQ's initialization: 2 mean|w| / sqrt(qp) per row, qp = 7. A sum of
    # K positive terms in fp32 is within (K - 1) u of the exact one, and
    # the scaling and the rounding of the constant add 2 u.
    init_ok = len(s0) == len(quantized)
    worst = 0.0
    for got, k in zip(s0, quantized):
        exact = 2 * np.abs(w[k].astype(np.float64)).mean(1, keepdims=True) \
            / np.sqrt(7)
        err = float((np.abs(got - exact) / exact).max())
        worst = max(worst, err)
        init_ok &= err <= (w[k].shape[1] + 2) * 2.0 ** -24
    state, losses = train(step, spec, data, seed)
    s5 = [v for k, v in step.named_weights(state).items()
          if k.startswith("step")]
    moved = sum(not np.array_equal(a, b) for a, b in zip(s0, s5))
    step.save_packed(state, work / "stableqat_w4.packed.npz")
    _, manifest = packed_weights.load(work / "stableqat_w4.packed.npz")
    recorded = sum(wt["quantizer"] is not None for wt in manifest["weights"])
    T, V = spec["config"]["context"], spec["config"]["vocab"]
    logits = step.inference(corpus.one_hot(np.arange(T) % V, V),
                            *step.inference_args(state))
    print(f"stableqat_w4: {len(s0)} learned steps, initial relative error "
          f"{worst:.1e}; losses {[round(v, 5) for v in losses]}; "
          f"{moved} steps moved; {recorded} quantizers recorded; logits "
          f"{list(logits.shape)}")
    ok = (init_ok and all(np.isfinite(losses)) and moved == len(s0)
          and recorded == len(quantized) and list(logits.shape) == [T, V]
          and np.isfinite(logits).all())
    if not ok:
        print("FAIL: stableqat_w4 through the artifact driver")
    return ok


def main():
    model, work = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    qat_opt = sys.argv[4] if len(sys.argv) > 4 else \
        str(ROOT / "build" / "bin" / "qat-opt")
    spec = json.loads((model / "transformer.json").read_text())
    data = corpus.Corpus()
    float_method = methods.make("float", model, "cpu")
    compile_cpu(float_method, work, qat_opt)
    a_float = artifacts.ArtifactStep(float_method, work, HostRuntime())
    j_float = float_method.compile(type("Args", (), {"opt_level": 2})())
    sq = methods.make("stableqat_w4", model, "cpu")
    compile_cpu(sq, work, qat_opt)
    a_sq = artifacts.ArtifactStep(sq, work, HostRuntime())
    ok = True
    for _ in range(runs):
        seed = int(np.random.default_rng().integers(1 << 30))
        print(f"seed {seed}")
        ok &= check_float(a_float, j_float, spec, data, seed)
        ok &= check_stableqat(a_sq, spec, data, seed, work)
    print("OK" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
