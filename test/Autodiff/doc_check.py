"""docs/differentiate.md stays true: its training-loop example runs from the
source root and its loss falls as the comment says.

Usage: doc_check.py SRC_ROOT
"""

import os
import re
import sys

os.chdir(sys.argv[1])
with open("docs/differentiate.md") as f:
    code = re.search(r"```python\n(.*?)```", f.read(), re.S).group(1)
scope = {}
exec(compile(code, "docs/differentiate.md", "exec"), scope)
loss = float(scope["loss"])
print(f"loss after 50 AdamW steps: {loss:.4f}")
assert abs(loss - 0.068) < 0.001, loss
