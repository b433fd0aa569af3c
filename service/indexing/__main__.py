"""`python -m service.indexing`: the builder subprocess (see `builder`)."""

import sys

from service.indexing.builder import main

sys.exit(main())
