"""Sending to the receiver.

The bytes of each message and its stable id, the sender that signs, posts, classifies and retries,
the run's circuit breaker, dead letters kept for replay, and the failure text a person reads when
a delivery was refused.

It imports ``run`` and what lies below; never ``steps``, ``monitoring`` or ``wiring``.
"""
