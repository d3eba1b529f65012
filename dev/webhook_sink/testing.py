"""Pytest fixtures for the webhook sink (filled in with the sink)."""
