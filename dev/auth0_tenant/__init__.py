"""A local Auth0 tenant emulator: ``POST /oauth/token``, ``GET /api/v2/logs`` and a control API.

Run it with ``python -m dev.auth0_tenant --port 0``; build it in-process with
:func:`dev.auth0_tenant.app.create_app`; use it from pytest through :mod:`dev.auth0_tenant.testing`.
"""
