"""Before any side effect: bind the web port, open the database, take its one-daemon lock."""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import sqlite3

from weatheredge.config import Settings
from weatheredge.errors import StartupError


def preflight(settings: Settings) -> socket.socket:
    """Bind the web port and open the database file before any side effect (migration, fetch,
    trading), so a second daemon on a busy port fails at once in one line. Raises StartupError."""
    host, port = settings.web.host, settings.web.port
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(addr)
            sock.listen(128)
        except BaseException:
            sock.close()
            raise
    except OSError as err:
        why = err.strerror or str(err)
        hint = " (another weatheredge running?)" if err.errno == errno.EADDRINUSE else ""
        raise StartupError(
            f"cannot listen on {host}:{port}: {why.lower()}{hint}; "
            "stop it or change web.port in the config"
        ) from None
    try:
        sqlite3.connect(settings.database).close()
    except sqlite3.Error as err:
        sock.close()
        raise StartupError(
            f"cannot open the database {settings.database}: {err}; check `database:` in the config"
        ) from None
    try:
        lock_database(settings.database, sock.getsockname()[:2])
    except StartupError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


# database path -> the descriptor holding its lock, for as long as a daemon serves it
_DB_LOCKS: dict[str, int] = {}


def lock_database(path: str, address: tuple[str, int] | None = None) -> None:
    """One daemon per database: two (say, two configs on different ports) would each take the
    same offer, since what was taken is read from the ledger at start. The kernel drops the lock
    when the process dies, so a ``kill -9`` never leaves it behind. The lock file also says where
    the daemon listens: after an edit of ``web.port`` the file no longer does, and ``weatheredge
    reload`` must still reach the daemon to be told that change needs a restart."""
    if path == ":memory:" or path.startswith("file:"):
        return
    lock = f"{path}.lock"
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as err:
        raise StartupError(f"cannot create the lock file {lock}: {err.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise StartupError(
            f"the database {path} is in use by another weatheredge; stop it or change `database:`"
        ) from None
    _DB_LOCKS[path] = fd
    if address:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {address[0]} {address[1]}\n".encode(), 0)


def unlock_database(path: str) -> None:
    fd = _DB_LOCKS.pop(path, None)
    if fd is not None:
        os.close(fd)
