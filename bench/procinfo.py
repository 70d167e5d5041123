"""Process and machine readings from /proc (Linux only): memory, threads and CPU time."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcStatus:
    """Resident memory and thread count of a process, from /proc/PID/status."""

    rss_mb: float
    threads: int


def proc_status(pid: int) -> ProcStatus:
    """Read VmRSS and Threads of one process (Linux only)."""
    values: dict[str, str] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            values[key] = rest.strip()
    rss_kb = int(values["VmRSS"].split()[0])
    return ProcStatus(rss_mb=round(rss_kb / 1024, 1), threads=int(values["Threads"]))


def cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU time a process has used so far (Linux only)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class MachineCpu:
    """Share of all CPUs busy since the object was made, from /proc/stat.

    It includes every process on the machine, so a high value with a low
    server and client CPU time means other work competed for the CPUs.
    """

    def __init__(self) -> None:
        self._start = self._read()

    @staticmethod
    def _read() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        total = sum(values[:8])  # user .. steal; guest time is already in user
        return total - idle, total

    def busy_pct(self) -> float:
        busy, total = self._read()
        spent = total - self._start[1]
        return round(100 * (busy - self._start[0]) / spent, 1) if spent else 0.0
