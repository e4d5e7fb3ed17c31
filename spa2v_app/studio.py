"""``spa2v-studio``: the desktop app (PySide6). Until the studio lands, say so clearly."""

import sys


def main() -> int:
    sys.stderr.write("spa2v-studio: the desktop studio is not built yet; use the 'spa2v' "
                     "command line (spa2v --help).\n")
    return 1
