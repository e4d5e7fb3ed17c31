import sys

from spa2v_app.cli import main

sys.exit(main())
