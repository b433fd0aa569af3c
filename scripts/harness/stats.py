"""The one way the scripts compute a percentile: linear interpolation between the two
nearest ranks (numpy's default), so the benchmark, the fault run and the slow-client
probe report comparable figures."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np


def percentile(values: Iterable[float], fraction: float) -> float:
    """The `fraction` (0-1) percentile of a sample; NaN for an empty one, so that a
    report shows "nan" rather than a latency nobody measured."""
    data = np.asarray(list(values), dtype=np.float64)
    if data.size == 0:
        return math.nan
    return float(np.percentile(data, fraction * 100))
