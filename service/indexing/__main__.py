"""`python -m service.indexing`: the builder subprocess (see `build_process`)."""

import sys

from service.indexing.build_process import main

sys.exit(main())
