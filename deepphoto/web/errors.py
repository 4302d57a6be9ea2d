"""The one error type of the web app: a one-line message and the HTTP status it is sent with."""

from __future__ import annotations

import json

from deepphoto.errors import DeepPhotoError


class WebError(DeepPhotoError):
    """A request the server refuses: ``status`` 404 (unknown id), 409 (not ready), 413 (too large),
    415 (not an image), 422 (bad value), 429 (too many), 503 (a feature not available here)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def json_value(data: bytes | str) -> object:
    """``data`` read as JSON (a byte order mark first taken, as a script's text from Windows has
    it), else a WebError (422) of one line saying why, not Python's own words or a crash: thousands
    of nested brackets, bytes not UTF-8 (a Latin-1 script's), a number of more than 4300 digits."""
    try:
        return json.loads(data.removeprefix("\ufeff") if isinstance(data, str) else data)
    except json.JSONDecodeError as exc:  # 'Expecting value: line 1 column 1 (char 0)' alone
        raise WebError(422, f"not JSON: {exc.msg}") from None
    except RecursionError:
        raise WebError(422, "not JSON: nested too deeply") from None
    except UnicodeDecodeError:  # json.loads of bytes decodes them first
        raise WebError(422, "not JSON: the body is not UTF-8 text") from None
    except ValueError:  # Python refuses to read a number of more than 4300 digits
        raise WebError(422, "not JSON: a number in it is too long (more than 4300 digits)") from None
