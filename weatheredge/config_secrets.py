"""``!secret NAME`` (from ``secrets.yaml`` beside the config, mode 0600) and ``!env VAR``: the
YAML loader that resolves them and remembers each value it resolved, for log redaction."""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from weatheredge import config_yaml
from weatheredge.errors import ConfigError


class SecretLoader(config_yaml.StrictLoader):
    """StrictLoader that resolves !secret and !env, remembering what it resolved."""


def make_loader(
    config_path: Path | None, env: Mapping[str, str], found: set[str], problems: list[str]
) -> type[SecretLoader]:
    secrets_cache: dict[str, Any] = {}

    def secrets() -> dict[str, Any]:
        if not secrets_cache:
            secrets_cache.update(_read_secrets(config_path, problems))
        return secrets_cache

    def secret(loader: SecretLoader, node: yaml.Node) -> str:
        name = loader.construct_scalar(node)  # type: ignore[arg-type]
        value = secrets().get(str(name))
        if value is None:
            problems.append(f"!secret {name}: not found in secrets.yaml")
            return ""
        found.add(str(value))
        return str(value)

    def from_env(loader: SecretLoader, node: yaml.Node) -> str:
        name = str(loader.construct_scalar(node))  # type: ignore[arg-type]
        if name not in env:
            problems.append(f"!env {name}: environment variable is not set")
            return ""
        found.add(env[name])
        return env[name]

    loader = type("ConfigLoader", (SecretLoader,), {})
    loader.add_constructor("!secret", secret)
    loader.add_constructor("!env", from_env)
    return loader


def _read_secrets(config_path: Path | None, problems: list[str]) -> dict[str, Any]:
    if config_path is None:
        problems.append("!secret used but the config has no file to sit beside")
        return {}
    path = config_path.parent / "secrets.yaml"
    if not path.exists():
        problems.append(f"!secret used but {path} does not exist")
        return {}
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        problems.append(f"{path} must be mode 0600 (is {mode:04o}): it holds secrets")
        return {}
    try:
        text = config_yaml.decode(path.read_bytes(), str(path))
        data, duplicates = config_yaml.load(text, config_yaml.StrictLoader, str(path))
    except ConfigError as err:  # names the file and line, never the content: it is secret
        problems.extend(err.problems)
        return {}
    except OSError as err:
        problems.append(f"{path}: cannot read ({err.strerror})")
        return {}
    problems.extend(duplicates)
    data = data or {}
    if not isinstance(data, dict):
        problems.append(f"{path} must be a mapping of NAME: value")
        return {}
    return data
