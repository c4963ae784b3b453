from __future__ import annotations

import matplotlib
from hypothesis import settings

matplotlib.use("Agg")  # tests draw off screen

# Property tests draw the same examples on every run and machine: a failure is reproducible.
settings.register_profile("funnelkit", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("funnelkit")
