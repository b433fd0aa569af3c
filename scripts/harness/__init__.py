"""What every script that drives a real server shares: gunicorn started as `make run`
starts it (`Server`), a loopback HTTP client (`Api`), and the one way the scripts
compute a percentile. Scripts import it as `harness`: `python scripts/x.py` puts the
scripts folder first on the module path."""

from harness.client import Api, ClientThreads
from harness.server import Server, free_port, indexed_copy, served_folder, wait_until
from harness.stats import percentile

__all__ = ["Api", "ClientThreads", "Server", "free_port", "indexed_copy", "percentile",
           "served_folder", "wait_until"]
