"""The one read-only opener: never creates a file, never writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from db.readonly import connect_read_only


def test_a_missing_file_is_an_error_not_a_new_database(tmp_path: Path) -> None:
    with pytest.raises(sqlite3.OperationalError):
        connect_read_only(tmp_path / "typo.db")
    assert not (tmp_path / "typo.db").exists()


def test_rows_by_name_and_no_writes(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE t (a INTEGER)")
        setup.execute("INSERT INTO t VALUES (7)")
    setup.close()
    conn = connect_read_only(path)
    try:
        assert conn.execute("SELECT a FROM t").fetchone()["a"] == 7
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("INSERT INTO t VALUES (8)")
    finally:
        conn.close()
    plain = connect_read_only(path, named_rows=False)
    try:
        assert plain.execute("SELECT a FROM t").fetchone() == (7,)
    finally:
        plain.close()
