"""The one exception type whose message the command line prints as a single line."""


class DeepPhotoError(Exception):
    """A problem the user can fix (bad path, bad option, damaged file): shown without traceback."""
