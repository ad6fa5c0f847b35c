"""Reachability and latency of hosts: a TCP connect, or one ICMP echo via the ``ping`` binary.

Hosts are ``name``, ``name:port`` or ``[v6]:port``. With ``method=auto`` a host with a port is
probed by TCP connect, a bare host by ``ping`` when the binary exists (raw ICMP sockets need
root, the setuid ``ping`` does not) and otherwise by TCP connect to ``port``.

There are no default hosts: a monitoring host that starts talking to the internet because
nobody configured it otherwise is a surprise (and a firewall alarm). With no hosts the check
is ``unknown``, like the process checker with no names.
"""

from __future__ import annotations

import math
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from apps.checkers.checkers.base import (
    BaseChecker,
    CheckerConfigError,
    CheckStatus,
    Measurement,
    grade,
)
from apps.checkers.checkers.options import Names, Number, WholeNumber, choice, option, thresholds

_PING_TIME = re.compile(r"time[=<]\s*([\d.]+)\s*ms")


@dataclass
class Probe:
    target: str
    method: str
    reachable: bool
    latency_ms: float | None
    error: str | None = None


def parse_host(spec: str) -> tuple[str, int | None]:
    """``("example.org", 443)`` from ``example.org:443``; port ``None`` when not given."""
    if spec.startswith("["):
        host, _, rest = spec[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif spec.count(":") == 1:
        host, port_text = spec.split(":")
    else:  # a plain name, or a bare IPv6 address with no port
        host, port_text = spec, ""
    if not host:
        raise ValueError(f"host {spec!r} has no name")
    if host.startswith("-") or any(c.isspace() or ord(c) < 32 for c in host):
        # The host becomes an argument of the ping binary: "-f" would be read as an option.
        raise ValueError(f"host {spec!r} is not a host name or address")
    if not port_text:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"host {spec!r} has an invalid port")
    return host, int(port_text)


def probe_tcp(host: str, port: int, timeout: float) -> Probe:
    target = f"{host}:{port}"
    started = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            latency = (time.perf_counter() - started) * 1000
    except TimeoutError:
        return Probe(target, "tcp", False, None, f"no answer within {timeout:g}s")
    except OSError as exc:  # refused, unreachable, name not resolved
        return Probe(target, "tcp", False, None, exc.strerror or str(exc))
    return Probe(target, "tcp", True, round(latency, 2))


def probe_icmp(host: str, timeout: float, ping: str) -> Probe:
    wait = max(1, math.ceil(timeout))  # iputils and busybox take whole seconds
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [ping, "-n", "-c", "1", "-W", str(wait), host],
            capture_output=True,
            text=True,
            timeout=wait + 1,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Probe(host, "icmp", False, None, f"no answer within {wait}s")
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        return Probe(host, "icmp", False, None, detail[-1] if detail else "no reply")
    match = _PING_TIME.search(done.stdout)
    latency = float(match.group(1)) if match else (time.perf_counter() - started) * 1000
    return Probe(host, "icmp", True, round(latency, 2))


Method = choice("auto", "tcp", "icmp")


class NetworkChecker(BaseChecker):
    name = "network"
    description = "Hosts reachable (TCP connect or ping) and their latency"

    class Options(thresholds(200.0, 1000.0, "ms, slowest host")):  # type: ignore[misc]
        hosts: Names = option([], "hosts to probe (none by default: nothing is contacted)")
        method: Method = option("auto", "probe method")
        port: WholeNumber = option(
            443, "TCP port for hosts given without one", minimum=1, maximum=65535
        )
        timeout: Number = option(2.0, "seconds to wait per host", minimum=0.1, maximum=30)

    @classmethod
    def validate(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        config = super().validate(options)
        errors = []
        for spec in config["hosts"]:
            try:
                parse_host(spec)
            except ValueError as exc:
                errors.append(f"{cls.name}: {exc}")
        if errors:
            raise CheckerConfigError(errors)
        return config

    def measure(self, config: dict[str, Any]) -> Measurement:
        hosts = config["hosts"]
        if not hosts:
            return Measurement(CheckStatus.UNKNOWN, "No hosts configured (option hosts)")
        with ThreadPoolExecutor(max_workers=min(16, len(hosts))) as pool:
            probes = list(pool.map(lambda spec: self._probe(spec, config), hosts))
        down = [p for p in probes if not p.reachable]
        latencies = [p.latency_ms for p in probes if p.latency_ms is not None]
        slowest = max(latencies) if latencies else None
        if down:
            status = CheckStatus.CRITICAL
            listed = ", ".join(f"{p.target} ({p.error})" for p in down)
            message = f"{len(down)} of {len(probes)} host(s) unreachable: {listed}"
        else:
            status = grade(slowest or 0.0, config["warning"], config["critical"])
            message = f"{len(probes)} host(s) reachable, slowest {slowest} ms"
        return Measurement(
            status,
            message,
            {
                "hosts": {p.target: vars(p) for p in probes},
                "reachable": len(probes) - len(down),
                "unreachable": len(down),
                "max_latency_ms": slowest,
            },
        )

    def _probe(self, spec: str, config: dict[str, Any]) -> Probe:
        host, port = parse_host(spec)
        method = config["method"]
        ping = shutil.which("ping")
        if method == "icmp" or (method == "auto" and port is None and ping):
            if ping is None:
                raise RuntimeError("method 'icmp' needs the ping binary, which is not on PATH")
            return probe_icmp(host, config["timeout"], ping)
        return probe_tcp(host, port or config["port"], config["timeout"])
