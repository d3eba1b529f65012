"""Hypothesis settings of the model layer: ``ci`` (1,000 examples, make test) or ``soak`` (make soak).

``MODEL_EXAMPLES`` overrides the number of examples. Without ``MODEL_RANDOM`` the examples are
derandomised (the same every run, as CI wants); ``make soak`` sets it and passes
``--hypothesis-seed``, so a long run explores new examples and can be repeated exactly.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "model",
    parent=settings.get_profile("suite"),  # tests/conftest.py: no deadline, "too slow" suppressed
    max_examples=int(os.environ.get("MODEL_EXAMPLES", "1000")),
    stateful_step_count=int(os.environ.get("MODEL_STEPS", "30")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    derandomize="MODEL_RANDOM" not in os.environ,  # make test: the same 1,000 examples every time
    print_blob=True,
)
