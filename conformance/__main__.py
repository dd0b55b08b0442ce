"""`python -m conformance`: the echo-conformance command line."""

import sys

from conformance.cli import main

sys.exit(main())
