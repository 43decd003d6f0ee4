"""Checks of a valid config against this machine: can ``run`` actually use it?

The schema (``weatheredge.config``) knows what a value may be; only the file system and the
network stack know whether the database and log file can be written and the web port bound.
``check-config`` runs every check here; ``run`` runs the file checks before its first side
effect (the port it binds itself, first).
"""

from __future__ import annotations

import errno
import os
import socket
import tempfile
from pathlib import Path

from weatheredge.config import Settings

SQLITE_HEADER = b"SQLite format 3\x00"


def runtime_problems(settings: Settings, *, check_port: bool = True) -> list[str]:
    """Every reason ``run`` would fail on this machine, each named by its key path."""
    problems = []
    if settings.database != ":memory:":
        problems += _writable_file("$.database", Path(settings.database), sqlite=True)
    if settings.logging.file:
        # The daemon creates missing directories for its log file (not for the database).
        problems += _writable_file(
            "$.logging.file", Path(settings.logging.file), create_parents=True
        )
    if check_port:
        problems += _port_free(settings.web.host, settings.web.port)
    return problems


def _writable_file(
    key: str, path: Path, *, sqlite: bool = False, create_parents: bool = False
) -> list[str]:
    if path.is_dir():
        return [f"{key}: {path} is a directory; name a file inside it"]
    parent = path.parent
    if create_parents:
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
    if not parent.is_dir():
        return [f"{key}: directory {path.parent} does not exist"]
    # Probe, do not trust os.access: root passes it on read-only mounts. SQLite also needs to
    # create its -wal and -shm files beside the database.
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".weatheredge-probe-"):
            pass
    except OSError as err:
        return [f"{key}: cannot create files in {parent} ({os.strerror(err.errno or 0)})"]
    if path.exists():
        try:
            with path.open("rb+") as f:
                header = f.read(len(SQLITE_HEADER))
        except OSError as err:
            return [f"{key}: cannot write {path} ({os.strerror(err.errno or 0)})"]
        if sqlite and header and header != SQLITE_HEADER:
            return [f"{key}: {path} exists and is not an SQLite database"]
    return []


def _port_free(host: str, port: int) -> list[str]:
    """Bind (and release) what the daemon will listen on; 0 means any free port."""
    if port == 0:
        return []
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        return [f"$.web.host: cannot resolve {host!r} ({err.strerror})"]
    for family, kind, proto, _, addr in infos:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp does
            try:
                sock.bind(addr)
            except OSError as err:
                if err.errno == errno.EADDRINUSE:
                    return [
                        f"$.web.port: {port} is already in use on {addr[0]} "
                        "(another weatheredge? choose another web.port)"
                    ]
                return [f"$.web.host/port: cannot listen on {addr[0]}:{port} ({err.strerror})"]
    return []
