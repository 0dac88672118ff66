"""Attempts on a Ray cluster (`[executor] kind = "ray"`): docs/ray.md.

The driver (executor.py) sends an attempt as a git bundle of its lane's branch and an
order (the prompt, the agent's command and env); a Ray task on a worker node (task.py)
clones it into a temp folder and starts the runner (runner.py), which runs the agent
under the same fences as a local attempt and ends its whole tree when the task goes away;
the task streams the agent's lines back and returns the new commits as a bundle with the
result file, which the driver brings into the lane (bundles.py). Ray is imported only
here, and only when a run uses it.
"""
