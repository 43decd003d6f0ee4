import sys

from weatheredge.cli import main

sys.exit(main())
