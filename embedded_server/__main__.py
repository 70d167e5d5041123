"""Run the server with ``python -m embedded_server``."""

import sys

from embedded_server.cli import main

sys.exit(main())
