"""CPU time from ``/proc``: of process trees, of the whole machine, of whatever else ran.

Standard library only; imported by the driver as ``benchmarks.cpu`` and by a side's process
as ``cpu`` (see ``common``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Proc:
    """One process as /proc shows it."""

    ppid: int
    cpu: float
    comm: str


def process_table() -> dict[int, Proc]:
    """Every live process: parent, user+system CPU seconds (all its threads), name."""
    table: dict[int, Proc] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: split after the last ")".
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
        table[int(entry)] = Proc(int(fields[1]), cpu, comm)
    return table


def descendants(table: dict[int, Proc], root_pid: int) -> set[int]:
    """A process and all its live descendants."""
    children: dict[int, list[int]] = {}
    for pid, proc in table.items():
        children.setdefault(proc.ppid, []).append(pid)
    found, pending = set(), [root_pid]
    while pending:
        pid = pending.pop()
        if pid in table and pid not in found:
            found.add(pid)
            pending.extend(children.get(pid, []))
    return found


def service_pid(comm: str) -> int | None:
    """The root process of a running service (``postgres``, ``redis-server``), if any."""
    table = process_table()
    for pid, proc in sorted(table.items()):
        parent = table.get(proc.ppid)
        if proc.comm == comm and (parent is None or parent.comm != comm):
            return pid
    return None


def machine_cpu_seconds() -> dict[str, float]:
    """Busy and stolen CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    busy = user + nice + system + irq + softirq
    return {"machine_busy": busy / _CLOCK_TICKS, "machine_steal": steal / _CLOCK_TICKS}


@dataclass
class CpuMeter:
    """CPU seconds used by named process trees between ``start`` and ``stop``.

    A tree is a process and its live descendants: Celery's prefork children live as long as
    the worker, so their CPU is counted (a child's time moves to its parent only once it has
    exited and been reaped). Also the machine's busy and stolen time, this (measuring)
    process's own CPU as ``observer``, the busy time no tracked process explains as
    ``others``, and the other processes that used the most, so that a disturbed measurement
    shows as one.
    """

    pids: dict[str, int]
    before: dict[str, float] = field(default_factory=dict)
    before_table: dict[int, Proc] = field(default_factory=dict)

    def read(self) -> tuple[dict[str, float], dict[int, Proc]]:
        table = process_table()
        values = {
            name: sum(table[pid].cpu for pid in descendants(table, root))
            for name, root in self.pids.items()
        }
        values["observer"] = time.process_time()
        values.update(machine_cpu_seconds())
        return values, table

    def start(self) -> CpuMeter:
        self.before, self.before_table = self.read()
        return self

    def stop(self) -> dict[str, Any]:
        after, table = self.read()
        used: dict[str, Any] = {name: round(v - self.before[name], 3) for name, v in after.items()}
        tracked = {os.getpid()}
        for pid in self.pids.values():
            tracked |= descendants(table, pid)
        tracked_cpu = sum(v for k, v in used.items() if not k.startswith("machine_"))
        used["others"] = round(used["machine_busy"] - tracked_cpu, 3)
        other_use = {
            pid: proc.cpu - (self.before_table[pid].cpu if pid in self.before_table else 0.0)
            for pid, proc in table.items()
            if pid not in tracked
        }
        used["others_top"] = [
            f"{table[pid].comm}[{pid}] {seconds:.1f}s"
            for pid, seconds in sorted(other_use.items(), key=lambda item: -item[1])[:3]
            if seconds >= 0.1
        ]
        return used
