"""Checks every fenced ```mlir block of the documentation with qat-opt.

usage: check_doc_snippets.py QAT_OPT SOURCE_ROOT

Covers README.md, docs/**/*.md and the descriptions in include/qat/**/*.td
(op, attribute and pass docs). A block without a marker must be a whole
module. Otherwise the line right before its opening fence is one of these
HTML comments (invisible in rendered Markdown, kept by mlir-tblgen):

  <!-- mlir-doc: wrap %x: tensor<4x8xf32>, %s: tensor<4x1xf32> -->
      The block is a list of ops over free values: it becomes the body of a
      func.func whose arguments are the listed values (attribute alias
      definitions in the block stay at the top level).
  <!-- mlir-doc: attributes -->
      Each line (up to a `//` comment) is one attribute; each is checked as
      an attribute of an otherwise empty module.
  <!-- mlir-doc: error MESSAGE -->
      The block (wrapped as above when combined: `wrap ... ; error ...`) must
      be rejected with exit code 1 and a diagnostic containing MESSAGE.
  <!-- mlir-doc: wrap ...; use-aliases -->
      As wrap, after the attribute alias definitions (`#q4 = ...`) of the
      blocks before it in the same file.
  <!-- mlir-doc: skip REASON -->
      Not IR (pseudo-code with elisions); skipped, and counted as such.

A checked block must parse and verify, and round-trip: printing it, parsing
the print and printing again gives the same text. Anything else (an unknown
marker, a block that fails) fails the test. The last line gives the counts.
"""

import pathlib
import re
import subprocess
import sys
import tempfile

MARKER = re.compile(r"<!--\s*mlir-doc:\s*(.*?)\s*-->")
CRASH_MARKERS = ("Assertion", "Stack dump", "PLEASE submit", "LLVM ERROR")


def blocks(path):
    """Yields (line number, marker text or None, code) for each mlir fence."""
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"(\s*)```mlir\s*$", lines[i])
        if not fence:
            i += 1
            continue
        indent = len(fence.group(1))
        start = i
        body = []
        i += 1
        while i < len(lines) and not re.match(r"\s*```\s*$", lines[i]):
            body.append(lines[i][indent:] if lines[i][:indent].isspace()
                        else lines[i].lstrip())
            i += 1
        if i == len(lines):
            raise SystemExit(f"{path}:{start + 1}: unterminated ```mlir block")
        marker = MARKER.search(lines[start - 1]) if start > 0 else None
        yield start + 1, marker.group(1) if marker else None, "\n".join(body)
        i += 1


def parse_marker(marker):
    """{'wrap': args or None, 'error': message or None, ...} for a marker."""
    spec = {"wrap": None, "error": None, "attributes": False, "skip": None,
            "use-aliases": False}
    if marker is None:
        return spec
    for part in (p.strip() for p in marker.split(";")):
        word, _, rest = part.partition(" ")
        if word == "wrap":
            spec["wrap"] = rest.strip()
        elif word == "error" and rest.strip():
            spec["error"] = rest.strip()
        elif word == "use-aliases" and not rest:
            spec["use-aliases"] = True
        elif word == "attributes" and not rest:
            spec["attributes"] = True
        elif word == "skip" and rest.strip():
            spec["skip"] = rest.strip()
        else:
            raise ValueError(f"unknown mlir-doc marker '{part}'")
    return spec


ALIAS = re.compile(r"\s*#[\w.$-]+\s*=")


def wrap(code, arguments):
    aliases, ops = [], []
    for line in code.splitlines():
        (aliases if ALIAS.match(line) else ops).append(line)
    body = "\n".join("  " + line for line in ops)
    return (("\n".join(aliases) + "\n") if aliases else "") + \
        f"func.func @snippet({arguments}) {{\n{body}\n  return\n}}\n"


def run(qat_opt, text):
    with tempfile.NamedTemporaryFile("w", suffix=".mlir") as f:
        f.write(text)
        f.flush()
        try:
            result = subprocess.run([qat_opt, f.name], capture_output=True,
                                    text=True, timeout=60)
        except subprocess.TimeoutExpired:
            return None, "", "hung for 60 s"
    return result.returncode, result.stdout, result.stderr


def check_module(qat_opt, text):
    """None if `text` parses, verifies and round-trips, else the problem."""
    code, first, err = run(qat_opt, text)
    if code != 0:
        return f"rejected (exit {code}):\n{err}\n--- input:\n{text}"
    code, second, err = run(qat_opt, first)
    if code != 0:
        return f"its print does not parse (exit {code}):\n{err}\n--- print:\n{first}"
    if first != second:
        return f"does not round-trip:\n--- first print:\n{first}\n--- second:\n{second}"
    return None


def check_block(qat_opt, spec, code, earlier_aliases):
    """None if the block passes, else the problem."""
    if spec["attributes"]:
        for line in code.splitlines():
            attribute = line.split("//")[0].strip()
            if attribute:
                problem = check_module(
                    qat_opt, f"module attributes {{qat.doc = {attribute}}} {{}}\n")
                if problem:
                    return f"attribute {attribute}: {problem}"
        return None
    if spec["use-aliases"]:
        code = "\n".join(earlier_aliases + [code])
    text = wrap(code, spec["wrap"]) if spec["wrap"] is not None else code + "\n"
    if spec["error"] is None:
        return check_module(qat_opt, text)
    status, _, err = run(qat_opt, text)
    if status != 1 or any(marker in err for marker in CRASH_MARKERS):
        return f"expected a clean rejection, got exit {status}:\n{err}"
    if spec["error"] not in err:
        return f"expected the error '{spec['error']}', got:\n{err}"
    return None


def main():
    qat_opt, root = sys.argv[1], pathlib.Path(sys.argv[2])
    files = [root / "README.md", *sorted((root / "docs").rglob("*.md")),
             *sorted((root / "include" / "qat").rglob("*.td"))]
    counts = {"module": 0, "wrap": 0, "attributes": 0, "error": 0, "skip": 0}
    failures = []
    for path in files:
        aliases = []
        for line, marker, code in blocks(path):
            where = f"{path.relative_to(root)}:{line}"
            try:
                spec = parse_marker(marker)
            except ValueError as error:
                failures.append(f"{where}: {error}")
                continue
            if spec["skip"]:
                counts["skip"] += 1
                print(f"{where}: skipped ({spec['skip']})")
                continue
            kind = ("error" if spec["error"] else "attributes"
                    if spec["attributes"] else "wrap" if spec["wrap"] is not None
                    else "module")
            counts[kind] += 1
            problem = check_block(qat_opt, spec, code, list(aliases))
            aliases += [l.split("//")[0] for l in code.splitlines()
                        if ALIAS.match(l)]
            if problem:
                failures.append(f"{where}: {problem}")
            else:
                print(f"{where}: ok ({kind})")
    for failure in failures:
        print("FAIL", failure)
    total = sum(counts.values())
    print(f"{total} mlir blocks: {counts['module']} modules, {counts['wrap']} "
          f"wrapped fragments, {counts['attributes']} attribute lists, "
          f"{counts['error']} errors, {counts['skip']} skipped; "
          f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
