"""Shared fixtures: the local Auth0 tenant emulator and webhook sink come from dev/ as pytest plugins."""

pytest_plugins = ["dev.auth0_tenant.testing", "dev.webhook_sink.testing"]
