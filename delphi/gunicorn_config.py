"""gunicorn's settings for this app: ``gunicorn -c python:delphi.gunicorn_config wsgi:app``.

Arguments on the command line still win (``--workers``, ``--bind``). What this adds:
- ``timeout``: a margin over the longest request left, closing a round of a national study (about 6-9 s; downloads
  are built by the worker and kept, docs/performance.md).
- A logger that never writes a link token: personal-link (``/p/<token>``) and password-reset
  (``/staff/reset/<token>``) paths are written with ``[redacted]`` for the token in every access-log field (the
  request line, the path, the referrer, any header or environment value a custom ``--access-logformat`` names) and
  in the error log.
- A warning at start when rate limits are kept in each worker's memory while several workers serve: each worker then
  counts on its own, so two workers double every limit (and each further instance adds one more). Production keeps
  the counts in Redis (``DELPHI_RATELIMIT_STORAGE_URI=redis://...``), where every worker and instance shares them.
"""
from __future__ import annotations

from gunicorn.glogging import Logger

from delphi.security import RedactLinkTokens, redact_tokens


class TokenRedactingLogger(Logger):
    """gunicorn's logger, with link tokens cut out of every access-log atom and every error-log record."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactLinkTokens) for f in log.filters):
                log.addFilter(RedactLinkTokens())

    def atoms(self, resp, req, environ, request_time) -> dict:
        return {name: redact_tokens(value) if isinstance(value, str) else value
                for name, value in super().atoms(resp, req, environ, request_time).items()}


logger_class = TokenRedactingLogger
timeout = 120
graceful_timeout = 30


def post_worker_init(worker) -> None:
    storage = str(worker.wsgi.config.get("RATELIMIT_STORAGE_URI", "memory://"))
    if worker.cfg.workers > 1 and storage.startswith("memory://"):
        worker.log.warning(
            "Rate limits are kept in each worker's memory (RATELIMIT_STORAGE_URI=%s) and %d workers serve: every "
            "limit counts %d times over, and once more for each further instance. Set "
            "DELPHI_RATELIMIT_STORAGE_URI=redis://HOST:6379 so that all of them share one count.",
            storage, worker.cfg.workers, worker.cfg.workers)
