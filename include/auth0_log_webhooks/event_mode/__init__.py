"""Event mode: a trigger in the triggerer watches the tenant for new logs and schedules a run through an asset.

It imports ``run`` and below (hooks, pipelines) and the auto-pause state of ``delivery``; never ``steps`` or
``wiring``.
"""
