"""Reading the bundle (databricks.yml, its includes, one target) offline, as the Databricks CLI
would deploy it: :func:`load_bundle` merges databricks.yml, its ``include`` files and one
target's overrides the way ``databricks bundle validate`` does for the keys this project uses,
applies ``--var`` values, adds the resources of the ``python.resources`` loaders and substitutes
``${var.*}`` / ``${bundle.*}`` references (:func:`resolve_references`)."""

from __future__ import annotations

import copy
import importlib.util
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

# Lists of mappings that a target override merges item by item on this key (as the CLI does).
_KEYED_LISTS = {
    "tasks": "task_key",
    "job_clusters": "job_cluster_key",
    "environments": "environment_key",
}
# Target keys that land at the root of the selected configuration.
_TARGET_ROOT_KEYS = (
    "artifacts",
    "bundle",
    "permissions",
    "presets",
    "resources",
    "run_as",
    "sync",
    "workspace",
)
_REPLACED_KEYS = ("permissions", "run_as")
_INTERPOLATION = re.compile(r"\$\{([a-zA-Z_][\w.\-\[\]]*)\}")


class BundleError(Exception):
    """The bundle cannot be loaded or checked (a missing file, target or variable)."""


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise BundleError(f"no bundle configuration at {path}") from exc
    except yaml.YAMLError as exc:
        raise BundleError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BundleError(f"{path}: expected a mapping at the top level")
    return data


def _merge(base: Any, override: Any, key: str | None = None) -> Any:
    """Override ``base`` with ``override``: mappings recursively, the lists of
    :data:`_KEYED_LISTS` item by item on their key, anything else replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for name, value in override.items():
            merged[name] = _merge(base[name], value, name) if name in base else value
        return merged
    list_key = _KEYED_LISTS.get(key or "")
    if list_key and isinstance(base, list) and isinstance(override, list):
        merged_list = list(base)
        positions = {
            item.get(list_key): i for i, item in enumerate(merged_list) if isinstance(item, dict)
        }
        for item in override:
            name = item.get(list_key) if isinstance(item, dict) else None
            if name is not None and name in positions:
                merged_list[positions[name]] = _merge(merged_list[positions[name]], item)
            else:
                merged_list.append(item)
        return merged_list
    return copy.deepcopy(override)


def load_document(root: Path | str) -> dict[str, Any]:
    """databricks.yml with every file of its ``include`` globs merged in (targets kept)."""
    root = Path(root)
    document = _read_yaml(root / "databricks.yml")
    for pattern in document.get("include") or []:
        matches = sorted(root.glob(pattern))
        if not matches:
            raise BundleError(f"include {pattern!r} matches no file under {root}")
        for path in matches:
            document = _merge(document, _read_yaml(path))
    return document


def default_target(document: Mapping[str, Any]) -> str:
    """The target marked ``default: true`` (else the only one)."""
    targets = document.get("targets") or {}
    defaults = [name for name, spec in targets.items() if (spec or {}).get("default")]
    if len(defaults) == 1:
        return defaults[0]
    if len(targets) == 1:
        return next(iter(targets))
    raise BundleError(f"no single default target among {sorted(targets)}")


def load_bundle(
    root: Path | str,
    target: str | None = None,
    *,
    resolve: bool = True,
    variables: Mapping[str, str] | None = None,
) -> dict:
    """The configuration ``databricks bundle validate -t TARGET`` would deploy: databricks.yml,
    its includes, the target's overrides merged in, ``variables`` applied as ``--var`` would,
    the resources of the ``python.resources`` loaders added, ``targets`` removed; with
    ``resolve``, ``${var.*}`` and ``${bundle.name|target}`` substituted (``${resources.*}``
    and ``${workspace.*}`` are left for the CLI)."""
    document = load_document(root)
    targets = document.get("targets") or {}
    target = target or default_target(document)
    if target not in targets:
        raise BundleError(f"no target {target!r} in databricks.yml (targets: {sorted(targets)})")
    spec = targets[target] or {}
    bundle = {name: value for name, value in document.items() if name != "targets"}
    for name in _TARGET_ROOT_KEYS:
        if name not in spec:
            continue
        if name in _REPLACED_KEYS:
            bundle[name] = copy.deepcopy(spec[name])
        else:
            bundle[name] = _merge(bundle.get(name, {}), spec[name], name)
    declared_vars = copy.deepcopy(bundle.get("variables") or {})
    for name, value in (spec.get("variables") or {}).items():
        if name not in declared_vars:
            raise BundleError(f"target {target!r} sets variable {name!r}, which is not declared")
        override = value.get("default") if isinstance(value, dict) else value
        declared_vars[name] = {**(declared_vars[name] or {}), "default": override}
    for name, value in (variables or {}).items():
        if name not in declared_vars:
            raise BundleError(f"--var {name}: no such variable in databricks.yml")
        declared_vars[name] = {**(declared_vars[name] or {}), "default": value}
    if declared_vars:
        bundle["variables"] = declared_vars
    python_resources = load_python_resources(Path(root), bundle, target)
    if python_resources:
        bundle["resources"] = _merge(bundle.get("resources") or {}, python_resources)
    return resolve_references(bundle, target) if resolve else bundle


def load_python_resources(root: Path, bundle: Mapping[str, Any], target: str) -> dict:
    """What the ``python.resources`` loaders (``module:function``, databricks-bundles) add for
    this target and these variable values, as bundle YAML would declare it."""
    loaders = (bundle.get("python") or {}).get("resources") or []
    if not loaders:
        return {}
    try:
        from databricks.bundles.core import Bundle
    except ImportError as exc:
        raise BundleError(
            "databricks.yml has python.resources: run `uv sync` for databricks-bundles"
        ) from exc
    values = {
        name: spec.get("default")
        for name, spec in resolve_references(bundle, target).get("variables", {}).items()
    }
    out: dict[str, dict[str, Any]] = {}
    for loader in loaders:
        module_name, _, function = str(loader).partition(":")
        path = root.joinpath(*module_name.split(".")).with_suffix(".py")
        if not function or not path.is_file():
            raise BundleError(f"python.resources {loader!r}: no file {path} or no :function")
        spec = importlib.util.spec_from_file_location(f"_bundle_{module_name}", path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        try:
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        except Exception as exc:
            raise BundleError(
                f"python.resources {loader!r}: {path} fails to import: {exc}"
            ) from exc
        if not callable(getattr(module, function, None)):
            raise BundleError(f"python.resources {loader!r}: {path} has no function {function}")
        try:
            resources = getattr(module, function)(Bundle(target=target, variables=values))
        except Exception as exc:
            raise BundleError(f"python.resources {loader!r} failed: {exc}") from exc
        for kind, items in resources._resources.items():
            for key, resource in items.items():
                out.setdefault(kind, {})[key] = resource.as_dict()
    return out


def resolve_references(bundle: Mapping[str, Any], target: str) -> dict[str, Any]:
    """Substitute ``${var.X}``, ``${bundle.name}`` and ``${bundle.target}`` everywhere (a string
    that is one reference takes the value's type); other references stay as written."""
    declared = {
        name: (spec or {}).get("default") for name, spec in bundle.get("variables", {}).items()
    }
    known: dict[str, Any] = {
        "bundle.name": (bundle.get("bundle") or {}).get("name"),
        "bundle.target": target,
    }

    def lookup(ref: str, seen: tuple[str, ...]) -> Any:
        if ref in known:
            return known[ref]
        if not ref.startswith("var."):
            return None
        name = ref.removeprefix("var.")
        if name not in declared:
            raise BundleError(f"${{{ref}}} refers to an undeclared variable")
        if name in seen:
            raise BundleError(f"variables refer to each other in a loop: {' -> '.join(seen)}")
        if declared[name] is None:
            raise BundleError(f"variable {name!r} has no value for target {target!r}")
        known[ref] = substitute(declared[name], (*seen, name))
        return known[ref]

    def substitute(value: Any, seen: tuple[str, ...] = ()) -> Any:
        if isinstance(value, dict):
            return {k: substitute(v, seen) for k, v in value.items()}
        if isinstance(value, list):
            return [substitute(v, seen) for v in value]
        if not isinstance(value, str):
            return value
        whole = _INTERPOLATION.fullmatch(value)
        if whole:
            found = lookup(whole.group(1), seen)
            return value if found is None else found

        def one(match: re.Match[str]) -> str:
            found = lookup(match.group(1), seen)
            return match.group(0) if found is None else str(found)

        return _INTERPOLATION.sub(one, value)

    resolved = substitute({k: v for k, v in bundle.items() if k != "variables"})
    if "variables" in bundle:
        resolved["variables"] = {
            name: {**(spec or {}), "default": lookup(f"var.{name}", ())}
            for name, spec in bundle["variables"].items()
        }
    return resolved


def jobs(bundle: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The bundle's jobs by resource key."""
    return dict((bundle.get("resources") or {}).get("jobs") or {})
