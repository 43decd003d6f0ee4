"""Every problem in a raw config at once, each named by its key path (msgspec stops at one)."""

from __future__ import annotations

import enum
import math
from typing import Any, Union, get_args, get_origin

import msgspec


def _struct_type(tp: Any) -> type[msgspec.Struct] | None:
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return tp
    if get_origin(tp) is Union:
        for arg in get_args(tp):
            if isinstance(arg, type) and issubclass(arg, msgspec.Struct):
                return arg
    return None


def validate_struct(data: Any, cls: type[msgspec.Struct], path: str = "$") -> list[str]:
    """Every problem in ``data`` for ``cls``, each named by its key path (msgspec stops at one)."""
    if not isinstance(data, dict):
        return [f"{path}: expected a mapping, got {type(data).__name__}"]
    problems = []
    fields = {f.encode_name: f for f in msgspec.structs.fields(cls)}
    for key in data:
        if key not in fields:
            problems.append(f"{path}.{key}: unknown key (allowed: {', '.join(sorted(fields))})")
    for name, field in fields.items():
        sub = f"{path}.{name}"
        if name not in data:
            if field.required:
                problems.append(f"{sub}: required key is missing")
            continue
        nested = _struct_type(field.type)
        value = data[name]
        if nested is not None and isinstance(value, dict):
            problems.extend(validate_struct(value, nested, sub))
        elif get_origin(field.type) is dict and isinstance(value, dict):
            problems.extend(_validate_mapping(value, field.type, sub))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(f"{sub}: must be a finite number, not {value}")
        else:
            try:
                msgspec.convert(value, field.type)
            except msgspec.ValidationError as err:
                problems.append(f"{sub}: {_describe(err)}{_choices(field.type)}")
    return problems


def _choices(tp: Any) -> str:
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return f" (expected one of: {', '.join(str(m.value) for m in tp)})"
    return ""


def _validate_mapping(value: dict[str, Any], tp: Any, path: str) -> list[str]:
    _, value_type = get_args(tp)
    nested = _struct_type(value_type)
    problems = []
    for key, item in value.items():
        if nested is not None:
            problems.extend(validate_struct(item, nested, f"{path}.{key}"))
        else:
            try:
                msgspec.convert(item, value_type)
            except msgspec.ValidationError as err:
                problems.append(f"{path}.{key}: {_describe(err)}")
    return problems


def _describe(err: msgspec.ValidationError) -> str:
    text = str(err)
    return text.split(" - at `", 1)[0]
