#!/usr/bin/env python3
"""Compiles a qat module for the GPU into artifacts that run on a machine
without LLVM/MLIR: an object file (host code with the cubin embedded) and a
manifest of the functions' signatures for python-bindings/qat/compiled.py.

usage: compile.py MODULE.mlir OUT_DIR [--chip sm_90] [--qat-opt PATH]

Every public function gets a C interface (_mlir_ciface_<name>). On the GPU
machine: link OUT_DIR/module.o with the qat CUDA runtime into a shared
library (scripts/gpu/link.sh does it).
"""

import argparse
import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
LLVM = pathlib.Path("/usr/lib/llvm-22/bin")


def signatures(text):
    """(name, [(shape, dtype)] args, [(shape, dtype)] results) per public func;
    a dynamic dimension (?) is -1."""
    def tensor(ty):
        m = re.fullmatch(r"tensor<((?:(?:\d+|\?)x)*)(\w+)>", ty.strip())
        if not m:
            raise SystemExit(f"compile.py: unsupported type at the function boundary: {ty}")
        dims = [-1 if d == "?" else int(d) for d in m.group(1).split("x") if d]
        return dims, m.group(2)

    funcs = []
    for m in re.finditer(r"func\.func @(\w+)\((.*?)\)\s*->\s*(\(.*?\)|tensor<[^>]*>)", text, re.S):
        name, args, results = m.groups()
        arg_types = re.findall(r"%\w+\s*:\s*(tensor<[^>]*>)", args)
        results = results.strip()
        if results.startswith("("):
            results = results[1:-1]
        result_types = re.findall(r"tensor<[^>]*>", results)
        funcs.append({"name": name, "args": [tensor(t) for t in arg_types],
                      "results": [tensor(t) for t in result_types]})
    return funcs


def with_c_interfaces(text):
    """The module's text with llvm.emit_c_interface on every function that
    returns tensors (_mlir_ciface_<name>, what compiled.py calls)."""
    text = re.sub(r"(func\.func @\w+\(.*?\)\s*->\s*(?:\(.*?\)|tensor<[^>]*>))\s*(attributes\s*\{)?",
                  lambda m: m.group(1) + (" attributes {llvm.emit_c_interface, " if m.group(2)
                                          else " attributes {llvm.emit_c_interface} "),
                  text, flags=re.S)
    text = text.replace("llvm.emit_c_interface, llvm.emit_c_interface}", "llvm.emit_c_interface}")
    return text.replace("llvm.emit_c_interface, llvm.emit_c_interface,", "llvm.emit_c_interface,")


def run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"compile.py: {' '.join(map(str, cmd[:2]))} failed")
    return proc.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("module")
    ap.add_argument("out")
    ap.add_argument("--chip", default="sm_90")
    ap.add_argument("--features", default="+ptx80")
    ap.add_argument("--pipeline-options", default="",
                    help="more qat-to-nvptx options, e.g. 'hadamard-exchange=0'")
    ap.add_argument("--qat-opt", default=str(ROOT / "build/bin/qat-opt"))
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = with_c_interfaces(pathlib.Path(args.module).read_text())
    src = out / "module.mlir"
    src.write_text(text)
    llvm_dialect = run([args.qat_opt, str(src),
                        f"--qat-to-nvptx=chip={args.chip} features={args.features} "
                        + args.pipeline_options])
    (out / "module.llvm.mlir").write_text(llvm_dialect)
    run([str(LLVM / "mlir-translate"), "--mlir-to-llvmir", str(out / "module.llvm.mlir"),
         "-o", str(out / "module.ll")])
    run([str(LLVM / "llc"), "-O2", "-filetype=obj", "-relocation-model=pic",
         str(out / "module.ll"), "-o", str(out / "module.o")])
    (out / "manifest.json").write_text(json.dumps(
        {"chip": args.chip, "functions": signatures(text)}, indent=1))
    print(f"compile.py: {out / 'module.o'} ({len(signatures(text))} functions)")


if __name__ == "__main__":
    main()
