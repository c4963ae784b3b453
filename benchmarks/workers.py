"""What the benchmark scripts share: measurements in forked workers, stopped at a time or memory
cap (a C++ call cannot be interrupted from Python, a process can), and the machine's description."""

from __future__ import annotations

import math
import multiprocessing
import os
import platform
import time
from collections.abc import Callable
from typing import Any


def status_kib(field_name: str, pid: str = "self") -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field_name} in /proc/{pid}/status")


def capped(job: Callable[[], Any], cap: float, memory_cap: float = math.inf) -> tuple[str, Any, int]:
    """Run ``job`` in a forked worker: ("ok", its result, 0), ("stopped", None, rss) after ``cap``
    seconds, ("out of memory", None, rss) once its RSS passes ``memory_cap`` bytes, ("failed",
    message, rss) when it raised or died. A C++ call cannot be interrupted; a process can."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def work() -> None:
        try:
            sender.send(("ok", job()))
        except BaseException as error:  # report everything, the parent decides
            sender.send(("failed", f"{type(error).__name__}: {error}"))

    worker = context.Process(target=work, daemon=True)
    worker.start()
    sender.close()  # so that a worker dying without a word reads as end of file
    started, largest = time.perf_counter(), 0
    try:
        while not receiver.poll(0.05):
            try:
                largest = max(largest, status_kib("VmRSS", str(worker.pid)) * 1024)
            except (OSError, ValueError):  # exited meanwhile
                pass
            if largest > memory_cap:
                worker.kill()
                return "out of memory", None, largest
            if time.perf_counter() - started > cap:
                worker.kill()
                return "stopped", None, largest
            if not worker.is_alive() and not receiver.poll(0.05):
                break
        status, value = receiver.recv()
        return status, value, largest
    except EOFError:
        worker.join()
        code = worker.exitcode
        why = "killed by SIGKILL (the kernel's out-of-memory killer?)" if code == -9 else f"exit code {code}"
        return "failed", f"worker died: {why}", largest
    finally:
        worker.join()
        receiver.close()


def cpu_model() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return model


def usable_cores() -> int | None:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def machine_info() -> dict[str, Any]:
    """The machine and the versions, for a results document."""
    import numpy as np

    import funnelkit as fk

    return {"cpu": cpu_model(), "usable_cores": usable_cores(), "cpu_count": os.cpu_count(),
            "python": platform.python_version(), "funnelkit": fk.__version__, "numpy": np.__version__}


def json_ready(value: Any) -> Any:
    """NaN and infinities as null, NumPy numbers as Python numbers, in nested dicts and lists."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
