"""Benchmarks of the Auth0 log webhooks pipeline: ``python -m bench`` (``make bench``)."""
