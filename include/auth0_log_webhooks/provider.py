"""Import shim: the provider metadata moved to :mod:`auth0_log_webhooks.wiring.provider`.

Installs made before 0.2.0 registered ``auth0_log_webhooks.provider:get_provider_info`` as their
``apache_airflow_provider`` entry point; it keeps working until the package is reinstalled.
"""

from auth0_log_webhooks.wiring.provider import get_provider_info

__all__ = ["get_provider_info"]
