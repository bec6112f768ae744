"""Allow ``python -m trio_chat``, the same as the ``trio-chat`` console script."""

import sys

from trio_chat.cli import main

sys.exit(main())
