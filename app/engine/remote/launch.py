"""`python -P -m app.engine.remote.launch ORDER WORK PROJECT`: start the attempt's runner
as our child, tell the task its pid (`{"runner": PID}`, task.py reads it), and leave.

The runner is then nobody's child on the node: a Ray worker that exits (its driver
died) SIGKILLs its own children, which would leave the agent's tree with no one to end
it; the runner instead sees its stdin end and ends the tree (runner.py). Standard
library only: this hop costs an interpreter's start and nothing more.
"""

from __future__ import annotations

import json
import subprocess
import sys


def main(argv: list[str]) -> int:
    # -P: the checkout (the cwd) may hold an `app` package of its own.
    child = subprocess.Popen([sys.executable, "-P", "-m", "app.engine.remote.runner", *argv])
    print(json.dumps({"runner": child.pid}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
