"""Running the app with uvicorn: one process, or ``workers`` processes sharing the port; the access
log on stderr.

The app keeps no state between requests (tokens and sessions are read from the database each time),
so several worker processes answer alike; on a machine with several cores they are what raises
throughput, since one Python process runs its requests' Python on one core at a time.

The access log names method, path, query and status, never headers, so a token sent as it should
be (``Authorization: Bearer``) never reaches it. A client that puts one in a URL anyway is covered
too: ``redact_tokens`` blanks anything shaped like a token in every uvicorn log line.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from phonesys.rules.tokens import TOKEN_PREFIX

if TYPE_CHECKING:
    from fastapi import FastAPI

TOKEN_SHAPE = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_\-%]+")
LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error", "phonesys.web")


class RedactTokens(logging.Filter):
    """Replaces token-shaped text in a record's message and arguments before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = TOKEN_SHAPE.sub(TOKEN_PREFIX + "[redacted]", str(record.msg))
        if isinstance(record.args, tuple):
            record.args = tuple(TOKEN_SHAPE.sub(TOKEN_PREFIX + "[redacted]", a) if isinstance(a, str) else a
                                for a in record.args)
        return True


def redact_tokens() -> None:
    for name in LOGGERS:
        logging.getLogger(name).addFilter(RedactTokens())


def app_from_environment() -> FastAPI:
    """The app as each worker process builds it, with its log filter (a worker is a fresh process)."""
    from phonesys.settings import load_settings
    from phonesys.web.app import create_app

    redact_tokens()
    return create_app(load_settings())


def serve(host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    if workers > 1:  # uvicorn starts each worker from an import string; the parent only supervises
        uvicorn.run(f"{__name__}:app_from_environment", factory=True, host=host, port=port, workers=workers,
                    log_level="info", server_header=False)
        return
    from phonesys.settings import load_settings
    from phonesys.web.app import create_app

    config = uvicorn.Config(create_app(load_settings()), host=host, port=port, log_level="info",
                            server_header=False)  # Config sets up uvicorn's loggers; filter them after
    redact_tokens()
    uvicorn.Server(config).run()
