"""``phonesys web``: serve the HTTP API and the web console (``phonesys.web``) until Ctrl-C."""

from __future__ import annotations

from typing import Annotated

import typer

from phonesys.rules.limits import WEB_WORKERS_MAX


def web(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (127.0.0.1: this machine only).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option("--workers", min=1, max=WEB_WORKERS_MAX, help="Processes answering on "
                                         "the port; about one per core raises throughput.")] = 1,
) -> None:
    """Serve the HTTP API: /api/v1 (callers send 'Authorization: Bearer <token>', see `phonesys token
    create`) and its description at /openapi.json, and the web console at /console (sign in with a
    token; set PHONESYS_WEB_SECRET alike on every host behind one load balancer).

    Example: phonesys web --port 8080 --workers 2
    """
    from phonesys.web.server import serve

    serve(host, port, workers)
