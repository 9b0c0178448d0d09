"""``python -m lineage.server [options]``: the same as ``lineage serve``."""

import sys

from lineage.server.command import main

sys.exit(main())
