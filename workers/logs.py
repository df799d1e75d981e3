"""Process logging: text for people (the default) or one JSON object per line.

``VIGIL_LOG_FORMAT=json`` gives lines a log shipper can parse without rules: time,
level, logger, message, the ids bound in context (``store.logcontext``) or passed
as ``extra``, and, for an exception, its traceback as one string. Text lines stay as
they were (the ids people need are in the messages).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from store.logcontext import FIELDS, current

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that log at INFO per request or per tick: thousands of lines a second,
# and every request URL (Slack webhook paths, tokens in query strings).
_QUIET = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "urllib3": logging.WARNING,
    "apscheduler": logging.WARNING,
}
# A claim tick that overruns the next is skipped by design (the next one claims);
# while the store is down the pool's reconnect attempts are summarised by store.outage.
_QUIETER = {"apscheduler.scheduler": logging.ERROR, "psycopg.pool": logging.ERROR}


class JSONFormatter(logging.Formatter):
    """One JSON object per record; keys never depend on the message text."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(current())
        # ``log.info(..., extra={"incidentId": ...})`` names an id for one line.
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter_for(log_format: str) -> logging.Formatter:
    """The formatter ``VIGIL_LOG_FORMAT`` names: ``json`` or ``text``."""
    if log_format == "json":
        return JSONFormatter()
    return logging.Formatter(TEXT_FORMAT)


def configure_logging(level: str, log_format: str = "text") -> None:
    """Set the root handler once per process (stderr) and quiet chatty libraries."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(formatter_for(log_format))
        root.addHandler(handler)
    root.setLevel(level.upper())
    for name, lib_level in (_QUIET | _QUIETER).items():
        logging.getLogger(name).setLevel(lib_level)
