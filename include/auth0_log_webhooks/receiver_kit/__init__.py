"""The receiver kit: what a webhook receiver runs to prove it holds every message it was sent.

Copy this folder into the receiver's code (or install the package): it depends only on the Python
standard library and ``standardwebhooks``, and imports nothing else of ``auth0_log_webhooks`` (a
unit test holds it to that). :mod:`.manifest` is the completeness manifest's format and hash chain,
which the sender builds with the same code; :mod:`.receiving` verifies signatures and stores each
message once by its ``webhook-id``; :mod:`.completeness` checks the stored messages against the
manifests; ``python -m auth0_log_webhooks.receiver_kit check DIR`` prints what is missing.
"""
