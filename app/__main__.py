"""``python -m app`` is the same as the ``genplay`` command."""

import sys

from app.entry import main

sys.exit(main())
