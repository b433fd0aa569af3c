"""The stages of the fault run (`scripts/chaos.py`), one module to a group, each
recorded in its own RELIABILITY.md section: `faults` (rebuilds, kill -9, damaged vectors,
real PDFs), `integrity` (a damaged database, a huge upload, cancelling), `abuse` (long
chats, identical uploads, rate limits); `documents` holds what the stages check the index
with, and `report` renders and records the tables."""
