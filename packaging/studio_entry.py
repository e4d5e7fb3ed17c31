"""Entry point of the frozen app (PyInstaller runs this file, not the console script)."""

import multiprocessing
import sys

from spa2v_app.studio import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
