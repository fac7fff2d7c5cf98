"""What a benchmark ran on, printed at the top of every figure."""

from __future__ import annotations

import os
import platform


def describe_machine() -> str:
    import torch

    cpu = platform.processor() or "unknown cpu"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{cpu}; {os.cpu_count()} cores; {device}; torch {torch.__version__} "
            f"({torch.get_num_threads()} threads); python {platform.python_version()}")
