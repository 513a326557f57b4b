"""docs/python.md stays true: its example runs, and qat.compiled loads where
the extension does not."""

import pathlib
import re
import subprocess
import sys

import qat


def test_quickstart_example(examples):
    text = (examples.parent / "docs" / "python.md").read_text()
    section = text[text.index("## Parse, compile, call"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len(code.splitlines()) <= 15
    exec(compile(code, "docs/python.md", "exec"), {})


def test_readme_python_quickstart(examples, monkeypatch, capsys):
    readme = (examples.parent / "README.md").read_text()
    section = readme[readme.index("## Python\n"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(examples.parent)  # its paths are relative to the root
    exec(compile(code, "README.md", "exec"), {})
    losses = [float(line.split()[1]) for line in
              capsys.readouterr().out.splitlines() if re.match(r"\d \d", line)]
    assert len(losses) == 3 and losses[2] < losses[0], losses


def test_package_without_extension():
    # The sources of the package (the build links to them), without _qat.
    sources = pathlib.Path(qat.__file__).resolve().parents[1]
    code = ("import qat, qat.compiled\n"
            "try:\n"
            "    qat.Module\n"
            "except ImportError as error:\n"
            "    print(error)\n"
            # Probes answer no instead of raising (torch.compile makes such
            # probes of every imported module).
            "print(hasattr(qat, 'torch'), getattr(qat, 'no_such', 'default'))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, env={"PYTHONPATH": str(sources)}, check=True)
    assert "qat.Module needs the qat extension (qat._qat)" in result.stdout
    assert "False default" in result.stdout, result.stdout
