"""Errors of the Racing API producers. One root, each error carrying the data needed to act on it.

RacingApiError
├── AuthError             401/403: credentials missing or wrong (fatal, never retried)
├── RequestError          a request that failed for good (after retries, or a 4xx)
│   └── RateLimitedError  429 still returned after every retry (carries retry_after_s)
├── PayloadError          a response that is not the JSON document the endpoint promises
└── CheckpointError       the historical checkpoint file is unreadable (path in the message)
"""

from pathlib import Path


class RacingApiError(Exception):
    """Root of every error raised by `producers.racing_api`."""


class AuthError(RacingApiError):
    def __init__(self, status: int, url: str) -> None:
        self.status = status
        self.url = url
        super().__init__(
            f"The Racing API refused the credentials (HTTP {status} for {url}). "
            "Set RACING_API_USERNAME and RACING_API_PASSWORD (environment or .env) "
            "to your Racing API account's username and password."
        )


class RequestError(RacingApiError):
    def __init__(self, status: int | None, url: str, detail: str, *, retriable: bool) -> None:
        self.status = status
        self.url = url
        self.retriable = retriable
        super().__init__(f"{url}: {detail} (HTTP {status})" if status else f"{url}: {detail}")


class RateLimitedError(RequestError):
    def __init__(self, url: str, retry_after_s: float | None) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(429, url, "rate limited after every retry", retriable=True)


class PayloadError(RacingApiError):
    def __init__(self, url: str, detail: str, excerpt: str = "") -> None:
        self.url = url
        self.excerpt = excerpt[:200]
        super().__init__(f"{url}: {detail}; body starts {self.excerpt!r}")


class CheckpointError(RacingApiError):
    def __init__(self, path: Path, detail: str) -> None:
        self.path = path
        super().__init__(f"checkpoint {path}: {detail}; fix or delete the file to start over")
