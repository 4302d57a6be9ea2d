"""The one exception type whose message the command line prints as a single line."""


class DeepPhotoError(Exception):
    """A problem the user can fix (bad path, bad option, damaged file): shown without traceback."""


def not_a_file(path: object) -> DeepPhotoError:
    """The one-line error for an input that should be a file and is not one: a folder, something
    that is not a regular file (a pipe, a device), or nothing at all."""
    from pathlib import Path

    p = Path(str(path))
    if p.is_dir():
        return DeepPhotoError(f"{p}: is a folder, not a file")
    if p.exists():
        return DeepPhotoError(f"{p}: is not a regular file (a pipe or a device); give a file")
    return DeepPhotoError(f"{p}: no such file")


class FrameError(DeepPhotoError, ValueError):
    """A frame (an image array) that cannot be taken: its shape or its values. A ``ValueError`` too,
    for code that embeds the library."""


class FrameTypeError(FrameError, TypeError):
    """Something given as a frame that is no image array, or one of a dtype not read (bool, int64,
    object, ...). A ``TypeError`` (and a ``FrameError``) too."""
