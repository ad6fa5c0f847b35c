"""What an operator should do for each cause the rule engine recognises.

Kept apart from the rules so the advice can be read and reviewed as one list.
"""

from __future__ import annotations

CAUSES: tuple[str, ...] = ("memory", "disk", "cpu", "process", "network")

TITLES: dict[str, tuple[str, str]] = {
    # cause: (title when measured, title when only the alert suggests it)
    "memory": ("High memory usage", "Memory pressure suspected"),
    "disk": ("Disk space running low", "Disk or filesystem problem suspected"),
    "cpu": ("High CPU usage", "CPU saturation suspected"),
    "process": ("Process or service unhealthy", "Process or service failure suspected"),
    "network": ("Network check failing", "Network or connectivity problem suspected"),
}

ACTIONS: dict[str, list[str]] = {
    "memory": [
        "Identify the processes using the most memory (see top_processes in details).",
        "Check the kernel log for OOM kills: dmesg -T | grep -i -E 'oom|killed process'.",
        "Watch swap activity with vmstat 1; sustained si/so means the host is thrashing.",
        "Look for a leak: compare the RSS of long-running processes over time.",
        "Restart or scale out the offending service; raise its memory limit only if the usage "
        "is legitimate.",
    ],
    "disk": [
        "Find what grew: du -xh --max-depth=2 <mount> | sort -h | tail -20.",
        "Check for deleted files still held open by processes: lsof +L1.",
        "Check inode usage as well as space: df -i.",
        "Free space safely: rotate and compress logs, journalctl --vacuum-size=500M, clear "
        "package and build caches.",
        "Extend the volume or add log rotation/retention so it does not recur.",
    ],
    "cpu": [
        "Identify the processes using the most CPU (see top_processes in details).",
        "Compare the load average with the CPU count, and check I/O wait (vmstat 1, iostat -x).",
        "Look for runaway loops, recent deploys, cron or batch jobs started at the same time.",
        "Scale out, or throttle/reschedule batch work to off-peak hours.",
    ],
    "process": [
        "Check the service state and its last logs: systemctl status / journalctl -u <unit> "
        "(or kubectl describe pod / kubectl logs --previous).",
        "Look at exit codes and restart counts for a crash loop; correlate with recent deploys "
        "or configuration changes.",
        "Check file descriptor and process limits: ulimit -n, cat /proc/<pid>/limits.",
        "Restart the service once the cause is understood; roll back a bad release.",
    ],
    "network": [
        "Test reachability and latency to the affected endpoint from this host: ping, mtr, "
        "curl -v.",
        "Check DNS resolution: dig <name>, and /etc/resolv.conf.",
        "Check interface errors and drops (ip -s link) and socket states (ss -s).",
        "Check firewall rules, security groups and the status of upstream dependencies.",
    ],
}

GENERIC_INCIDENT_ACTIONS: list[str] = [
    "Review the incident's alerts and their labels to find the affected service and host.",
    "Check what changed recently: deploys, configuration, infrastructure.",
    "Correlate with dashboards and logs around the alert's start time.",
]

UNKNOWN_CHECK_ACTIONS: list[str] = [
    "Run the check by hand (manage.py run_check <name>) to see its error.",
    "Fix the check's configuration or permissions so it can measure again.",
]
