"""``python -m sora_mcp`` runs the ``sora-mcp`` command."""

import sys

from .cli import main

sys.exit(main())
