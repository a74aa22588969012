"""What the machine is, read without torch: the CPU's model name and feature flags (Linux
/proc/cpuinfo; empty elsewhere). sgenlib.speed decides the CPU's fast path from the flags and
sgenlib.provenance names the CPU in every stage record."""
from __future__ import annotations


def _cpuinfo() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _field(name: str, cpuinfo: str | None) -> str | None:
    cpuinfo = _cpuinfo() if cpuinfo is None else cpuinfo
    for line in cpuinfo.splitlines():
        if line.split(":")[0].strip() == name:
            return line.partition(":")[2].strip()
    return None


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The 'flags' of /proc/cpuinfo (or of the given text); empty where there is no such file."""
    return set((_field("flags", cpuinfo) or "").split())


def cpu_model(cpuinfo: str | None = None) -> str | None:
    """The CPU's 'model name' in /proc/cpuinfo (or the given text), None where there is none."""
    return _field("model name", cpuinfo) or None
