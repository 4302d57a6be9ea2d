"""The one error type of the web app: a one-line message and the HTTP status it is sent with."""

from __future__ import annotations

from deepphoto.errors import DeepPhotoError


class WebError(DeepPhotoError):
    """A request the server refuses: ``status`` 404 (unknown id), 409 (not ready), 413 (too large),
    415 (not an image), 422 (bad value), 429 (too many), 503 (a feature not available here)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
