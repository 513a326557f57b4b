"""Feeds every file of a folder to a tool and checks that each is rejected
cleanly: exit code 1, a diagnostic that names the file and a position, no
crash, assertion or hang.

usage: check_rejects.py TOOL FOLDER [TOOL ARGS...]
"""

import pathlib
import re
import subprocess
import sys

CRASH_MARKERS = ("Assertion", "Stack dump", "PLEASE submit", "Segmentation",
                 "terminate called", "UNREACHABLE")


def main() -> int:
    tool, folder, extra = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3:]
    failures = []
    files = sorted(p for p in folder.iterdir() if p.is_file())
    for path in files:
        try:
            run = subprocess.run([tool, str(path), *extra], capture_output=True,
                                 timeout=30)
        except subprocess.TimeoutExpired:
            failures.append(f"{path.name}: hung for 30 s")
            continue
        err = run.stderr.decode(errors="replace")
        position = re.compile(re.escape(path.name) + r":\d+:\d+: error: ")
        if run.returncode != 1:
            failures.append(f"{path.name}: exit code {run.returncode}, want 1")
        elif any(marker in err for marker in CRASH_MARKERS):
            failures.append(f"{path.name}: crashed:\n{err}")
        elif not position.search(err):
            failures.append(f"{path.name}: no positioned diagnostic:\n{err}")
        else:
            print(f"{path.name}: {err.splitlines()[0]}")
    for failure in failures:
        print("FAIL", failure)
    print(f"{len(files) - len(failures)} rejected cleanly, {len(failures)} not")
    return 1 if failures or not files else 0


if __name__ == "__main__":
    sys.exit(main())
