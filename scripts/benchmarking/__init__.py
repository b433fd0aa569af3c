"""The performance benchmark behind `scripts/bench.py`: build throughput, query latency
in process and over HTTP, memory and start-up, and behaviour at 100k-1M chunks.

Nothing here runs in the service; the package only measures it. Results are plain dicts
so that `scripts/bench.py` can print one table and write them as JSON.
"""
