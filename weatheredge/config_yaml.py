"""Strict YAML reading for the config and ``secrets.yaml``.

PyYAML on its own lets the last of two duplicate keys win silently, recurses without bound on
deep nesting and, in its errors, quotes the offending line (which in ``secrets.yaml`` is a
secret). Here a duplicate key is a problem named by its key path and lines, nesting is bounded,
the bytes must be UTF-8, and every error names the file, line and column but never the content.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from weatheredge.errors import ConfigError

# The deepest legitimate key is 4 levels down ($.weather.stations.<CODE>.latitude).
MAX_DEPTH = 16
_MERGE_TAG = "tag:yaml.org,2002:merge"
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def decode(data: bytes, source: str) -> str:
    """The file's text; ConfigError (with the line) unless it is UTF-8."""
    for bom, name in _WIDE_BOMS:  # UTF-32 first: its LE mark starts with UTF-16's
        if data.startswith(bom):
            raise ConfigError([f"{source}: the file is {name}; save it as UTF-8"])
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]  # still UTF-8 (Windows editors add the mark)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise ConfigError(
            [
                f"{source}: line {line}, column {column}: not UTF-8 "
                f"(byte 0x{data[err.start]:02x}); save the file as UTF-8"
            ]
        ) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ConfigError(
            [f"{source}: line {line}: NUL byte (UTF-16 without a byte-order mark?); save as UTF-8"]
        )
    return text


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that bounds nesting and records duplicate keys by key path."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.source = "config"
        self.duplicates: list[str] = []
        self._path: list[str] = []

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # type: ignore[override]
        if isinstance(index, ScalarNode):
            segment = f".{index.value}"
        elif isinstance(index, int) and not isinstance(index, bool):
            segment = f"[{index}]"
        else:
            segment = "" if parent is None else ".?"  # the root, or a mapping key being read
        self._path.append(segment)
        try:
            if len(self._path) > MAX_DEPTH + 1:
                line = self.peek_event().start_mark.line + 1
                raise ConfigError(
                    [
                        f"{self.source}: line {line}: {self._key_path()}: nested deeper than "
                        f"{MAX_DEPTH} levels"
                    ]
                )
            node = super().compose_node(parent, index)  # type: ignore[arg-type]
            if isinstance(node, MappingNode):
                self._check_duplicates(node)
            return node
        finally:
            self._path.pop()

    def _key_path(self) -> str:
        text = "$" + "".join(self._path)
        return text if len(text) <= 80 else text[:60] + "…" + text[-16:]

    def _check_duplicates(self, node: MappingNode) -> None:
        first: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode) or key.tag == _MERGE_TAG:
                continue
            line = key.start_mark.line + 1
            seen = first.get((key.tag, key.value))
            if seen is None:
                first[(key.tag, key.value)] = line
            else:
                self.duplicates.append(
                    f"{self.source}: {self._key_path()}.{key.value}: duplicate key "
                    f"(line {seen}, again at line {line}); keep one"
                )


def load(text: str, loader_cls: type[StrictLoader], source: str) -> tuple[Any, list[str]]:
    """(data, duplicate-key problems). Raises ConfigError naming the line, never its content."""
    loader = loader_cls(text)
    loader.source = source
    try:
        return loader.get_single_data(), loader.duplicates
    except yaml.YAMLError as err:
        raise ConfigError([yaml_error(source, err)]) from None
    except RecursionError:  # belt and braces: the depth bound above should come first
        raise ConfigError([f"{source}: nested too deeply"]) from None
    finally:
        loader.dispose()


# PyYAML quotes the offending text in some problems ("could not determine a constructor for the
# tag '!s3cret'", "found undefined alias 's3cret'"): a secret starting with ! or * lands there.
# A quoted single character ("found character '%'") says what is wrong and gives nothing away.
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def _withhold(match: re.Match[str]) -> str:
    quoted = match.group(0)
    return quoted if len(quoted) <= 4 else "(text withheld)"


def yaml_error(source: str, err: yaml.YAMLError) -> str:
    """File, line and what is wrong, never the offending text: PyYAML's own message quotes the
    line, and in secrets.yaml (or next to a resolved !secret) that line is a secret."""
    where = source
    mark = getattr(err, "problem_mark", None)
    context, context_mark = getattr(err, "context", None), getattr(err, "context_mark", None)
    if mark is not None:
        where += f", line {mark.line + 1}, column {mark.column + 1}"
    problem = _QUOTED.sub(_withhold, getattr(err, "problem", None) or "not valid")
    text = f"{where}: invalid YAML: {problem}"
    if context and context_mark is not None and (mark is None or context_mark.line != mark.line):
        # An unclosed quote or bracket: say where it opened.
        text += f" ({_QUOTED.sub(_withhold, context)} at line {context_mark.line + 1})"
    return text
