"""A local webhook sink: a real HTTP server standing in for a customer's webhook.

It records every delivery to a JSON-lines file, verifies Standard Webhooks signatures (over the
*uncompressed* body: the sender signs the body before gzipping it), injects scripted faults and
measures how many deliveries were in flight at once. See ``README.md`` in this folder.
"""

from dev.webhook_sink.app import SinkServer, start_sink
from dev.webhook_sink.config import SinkConfig

__all__ = ["SinkConfig", "SinkServer", "start_sink"]
