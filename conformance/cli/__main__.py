"""`python -m conformance.cli`: the same command line as `echo-conformance`."""

import sys

from conformance.cli import main

sys.exit(main())
