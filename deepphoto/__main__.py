"""``python -m deepphoto``: the same as the ``deepphoto`` command."""

import sys

from deepphoto.commands.cli import main

sys.exit(main())
