"""``python -m videoespresso_hf`` is the ``videoespresso`` command."""

import sys

from videoespresso_hf.cli.main import main

sys.exit(main())
