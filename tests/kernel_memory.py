"""The peak memory of the Jupyter kernels this process starts (a notebook's run, in a thread).

Used by ``tests/test_book.py`` (each notebook's kernel peak, limited to what a Binder session
gives) and ``benchmarks/bench_notebooks.py``::

    with KernelPeak() as peak:
        NotebookRun(path, timeout).execute()
    peak.mb  # the kernel's peak resident memory, MB (10**6 bytes)

A thread polls this process's descendants (psutil) every ``interval`` seconds. A kernel is a
descendant started during the block whose command line runs ``ipykernel_launcher``; the
processes it starts itself (dask worker processes, if a notebook made them) count with it.
Each one's peak is the kernel's own high-water mark of resident memory (``VmHWM`` in
``/proc/PID/status``, Linux), not a sampled RSS: a spike between two polls is not missed. What
can be missed is growth in the last ``interval`` before a process exits (a kernel is idle
then) and processes that live less than ``interval``. ``mb`` adds the peaks of all of them: the
kernel's own peak when it is alone, an upper bound when it has children.

``cpu_s`` is the CPU time (user + system) the same processes used, as last seen before they
exited: what the notebook costs whatever else the machine runs, and the least time it can take
on one CPU.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

import psutil

KERNEL_MARK = "ipykernel_launcher"


def high_water_mark(pid: int) -> int | None:
    """Peak resident memory of process ``pid`` so far, bytes (``VmHWM``); None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # kB
    return None


class KernelPeak:
    """Peak memory of the kernels started while the ``with`` block runs (see the module)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peaks: dict[int, int] = {}  # pid -> peak bytes, of kernels and their children
        self.cpu: dict[int, float] = {}  # pid -> CPU seconds (user + system) last seen
        self._me = psutil.Process()
        self._before: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="kernel-peak", daemon=True)

    def __enter__(self) -> KernelPeak:
        self._before = {p.pid for p in self._me.children(recursive=True)}
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mb(self) -> float:
        """The kernels' peak resident memory, MB (10**6 bytes); 0 if no kernel was seen."""
        return sum(self.peaks.values()) / 1e6

    @property
    def cpu_s(self) -> float:
        """CPU seconds (user + system) of the kernels and their children, as last seen."""
        return sum(self.cpu.values())

    def _kernels(self) -> list[psutil.Process]:
        found = []
        for proc in self._me.children(recursive=True):
            if proc.pid in self._before:
                continue
            try:
                if any(KERNEL_MARK in part for part in proc.cmdline()):
                    found.append(proc)
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
        return found

    def _sample(self) -> None:
        for kernel in self._kernels():
            try:
                tree = [kernel, *kernel.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for proc in tree:
                peak = high_water_mark(proc.pid)
                if peak is not None:
                    self.peaks[proc.pid] = max(peak, self.peaks.get(proc.pid, 0))
                try:
                    times = proc.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                self.cpu[proc.pid] = times.user + times.system

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)
        self._sample()
