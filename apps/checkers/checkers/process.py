"""Named processes are running (matched by process name or the program in its command line)."""

from __future__ import annotations

import os
from typing import Any

import psutil

from apps.checkers.checkers.base import BaseChecker, CheckStatus, Measurement
from apps.checkers.checkers.options import CheckerOptions, Names, option


def _names_of(proc: psutil.Process) -> set[str]:
    info = proc.info
    names = {info.get("name") or ""}
    cmdline = info.get("cmdline") or []
    if cmdline:
        # Interpreted services ("gunicorn", "celery") show up as "python" in name().
        names.add(os.path.basename(cmdline[0]))
    return names


class ProcessChecker(BaseChecker):
    name = "process"
    description = "Named processes are running"

    class Options(CheckerOptions):
        names: Names = option([], "process names that must be running")

    def measure(self, config: dict[str, Any]) -> Measurement:
        wanted: list[str] = config["names"]
        if not wanted:
            return Measurement(CheckStatus.UNKNOWN, "No process names configured (option names)")
        pids: dict[str, list[int]] = {name: [] for name in wanted}
        for proc in psutil.process_iter(["pid", "name", "cmdline"]):
            # Processes that vanish or hide mid-iteration come back with info None.
            names = _names_of(proc)
            for name in wanted:
                if name in names:
                    pids[name].append(proc.info["pid"])
        missing = [name for name, found in pids.items() if not found]
        metrics = {
            "processes": {
                name: {"count": len(found), "pids": found[:20]} for name, found in pids.items()
            },
            "missing": missing,
        }
        if missing:
            return Measurement(CheckStatus.CRITICAL, f"Not running: {', '.join(missing)}", metrics)
        counts = ", ".join(f"{name} ({len(found)})" for name, found in pids.items())
        return Measurement(CheckStatus.OK, f"Running: {counts}", metrics)
