"""``python -m spa2v_app.cli``: the same as the ``spa2v`` command (for running from a checkout)."""

import sys

from . import main

sys.exit(main())
