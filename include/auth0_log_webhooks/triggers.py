"""Import shim: the event-mode trigger moved to :mod:`auth0_log_webhooks.event_mode.trigger`.

The triggerer re-creates a trigger from the classpath it was serialized with, and triggers of
deployments before 0.2.0 were serialized as ``auth0_log_webhooks.triggers.Auth0LogsTrigger``.
"""

from auth0_log_webhooks.event_mode.trigger import Auth0LogsTrigger

__all__ = ["Auth0LogsTrigger"]
