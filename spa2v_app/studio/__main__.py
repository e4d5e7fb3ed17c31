import sys

from spa2v_app.studio import main

sys.exit(main())
