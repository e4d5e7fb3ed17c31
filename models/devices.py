"""What this machine can compute on: CUDA GPUs (with free memory), Apple MPS, the CPU.

torch is imported inside :func:`probe_devices` only, so importing this module is free, and a
machine without torch still gets a CPU report.
"""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Device:
    kind: str  # "cuda", "mps" or "cpu"
    name: str
    total_bytes: int | None = None
    free_bytes: int | None = None


@dataclass(frozen=True)
class DeviceReport:
    devices: tuple[Device, ...]
    torch_version: str | None = None
    cuda_version: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def accelerator(self) -> Device | None:
        """The best GPU: the CUDA device with the most free memory, else MPS, else ``None``."""
        cuda = [d for d in self.devices if d.kind == "cuda"]
        if cuda:
            return max(cuda, key=lambda d: d.free_bytes or 0)
        return next((d for d in self.devices if d.kind == "mps"), None)

    def to_dict(self) -> dict:
        return asdict(self)


def memory_bytes() -> tuple[int | None, int | None]:
    """(total, available) RAM in bytes, where the platform tells."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f if line.strip()}
        return info.get("MemTotal"), info.get("MemAvailable")
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), None
    except (ValueError, OSError, AttributeError):
        return None, None


def probe_devices(*, use_torch: bool = True) -> DeviceReport:
    """List the devices torch can use (CUDA with free VRAM, MPS) and the CPU.

    Without torch (or with ``use_torch=False``) only the CPU is reported, with a note.
    """
    total, available = memory_bytes()
    cpu = Device("cpu", f"{platform.processor() or platform.machine()} ({os.cpu_count() or '?'} cores)",
                 total, available)
    if not use_torch:
        return DeviceReport((cpu,), notes=("GPU check skipped",))
    try:
        import torch
    except ImportError:
        return DeviceReport((cpu,), notes=("torch is not installed: no GPU check (pip install 'spa2v-studio[diffusion]')",))
    except OSError as e:  # installed but broken: a CUDA library it was built for is missing
        return DeviceReport((cpu,), notes=(
            f"torch is installed but cannot be loaded ({str(e)[:200]}): no GPU check; "
            "reinstall torch for this machine's CUDA (or the CPU build)",))
    devices, notes = [], []
    try:
        for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):
            free, tot = torch.cuda.mem_get_info(i)
            devices.append(Device("cuda", f"cuda:{i} {torch.cuda.get_device_name(i)}", int(tot), int(free)))
    except RuntimeError as e:  # a broken driver should not break 'spa2v info'
        notes.append(f"CUDA check failed: {e}")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(Device("mps", "mps (Apple GPU, shares system memory)", total, available))
    devices.append(cpu)
    return DeviceReport(tuple(devices), torch.__version__, getattr(torch.version, "cuda", None), tuple(notes))
