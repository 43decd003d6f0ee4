"""Datasette plugin: the saved queries in db/queries/ as canned queries of every database,
whatever its file is called (metadata.yml could only key them by database name).

    datasette weatheredge.db -m db/metadata.yml --plugins-dir db/datasette
"""

from __future__ import annotations

from typing import Any

from datasette import hookimpl

from weatheredge.webui import queries


@hookimpl
def canned_queries(datasette: Any, database: str) -> dict[str, dict[str, str]]:
    if database.startswith("_"):  # Datasette's own _internal / _memory
        return {}
    return {
        q.name: {"sql": q.sql, "title": q.title, "description": q.description}
        for q in queries.all_queries()
    }
