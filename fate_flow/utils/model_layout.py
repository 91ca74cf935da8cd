"""The on-disk layout of a party's models, FATE's PipelinedModel directory with JSON contents.

``model_local_cache/<role>#<party_id>#<model_id>/<model_version>/``:
- ``define/define_meta.yaml``: component_define {cpn: {module_name}} and model_proto
  {cpn: {alias: {model_name: model_name}}} (written as JSON, which YAML readers accept);
- ``variables/data/<component>/<alias>/<model_name>``: one model message as JSON (never pickle);
- ``pipeline.json``: the job's pipeline (train DSL, predict DSL, train runtime conf).
"""
from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

DEFINE_META = "define/define_meta.yaml"


def version_dir(model_root: Path, party_model_id: str, model_version: str) -> Path:
    """A model version's directory under the model cache."""
    return Path(model_root) / party_model_id / model_version


def save_component_model(root: Path, component: str, module: str, alias: str, model: dict[str, Any]) -> None:
    """Write each model message of ``component`` under ``alias`` and register it in define_meta."""
    data_dir = root / "variables" / "data" / component / alias
    data_dir.mkdir(parents=True, exist_ok=True)
    for name, message in model.items():
        _write_atomic(data_dir / name, json.dumps(message, sort_keys=True))
    define = root / DEFINE_META
    define.parent.mkdir(parents=True, exist_ok=True)
    with open(root / "define" / ".lock", "a") as lock:  # parallel components of one party
        fcntl.flock(lock, fcntl.LOCK_EX)
        meta = json.loads(define.read_text()) if define.exists() else {
            "describe": "This is the model definition meta", "component_define": {}, "model_proto": {}}
        meta["component_define"][component] = {"module_name": module}
        meta["model_proto"].setdefault(component, {})[alias] = {name: name for name in model}
        _write_atomic(define, json.dumps(meta, indent=2, sort_keys=True))


def load_component_model(root: Path, component: str, alias: str | None = None) -> dict[str, Any]:
    """``{model_name: message}`` of a component (its first alias when none is given); {} if none."""
    base = root / "variables" / "data" / component
    if not base.is_dir():
        return {}
    aliases = [alias] if alias else sorted(p.name for p in base.iterdir() if p.is_dir())
    if not aliases or not (base / aliases[0]).is_dir():
        return {}
    folder = base / aliases[0]
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.iterdir()) if p.is_file()}


def component_module(root: Path, component: str) -> str | None:
    """The module a component of the model was (from define_meta.yaml), or ''."""
    define = root / DEFINE_META
    if not define.exists():
        return None
    return json.loads(define.read_text()).get("component_define", {}).get(component, {}).get("module_name")


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
