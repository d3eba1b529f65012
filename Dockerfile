# Astro Runtime 3.3 (Apache Airflow 3.3). Its ONBUILD steps install packages.txt and
# requirements.txt, then copy the project into /usr/local/airflow.
# Pinning: the packages it adds by the sha256 hashes of the lock (requirements.txt carries those of
# constraints.txt, so pip runs in hash-checking mode), this project with --no-deps, and the base
# image by tag. The registry was not reachable when this pin was written, so there is no digest yet:
# `docker buildx imagetools inspect astrocrpublic.azurecr.io/runtime:3.3-2` prints it; then write
#   FROM astrocrpublic.azurecr.io/runtime:3.3-2@sha256:<digest>
# and rerun the command to refresh the pin (docs/dependencies.md).
FROM astrocrpublic.azurecr.io/runtime:3.3-2

# Install the library in include/ as the provider package any Airflow installs (docs/installing.md):
# its entry points register the connection types, hooks, trigger, notifier and the health page
# plugin, and `auth0_log_webhooks` becomes importable by every component. Editable, so the include/
# folder that `astro dev start` mounts is what runs; --no-deps because requirements.txt pins them.
RUN pip install --no-cache-dir --no-deps -e /usr/local/airflow

# The connection form's Test button (off by default in Airflow): the webhook connection's Test sends
# one signed, empty batch marked x-auth0-log-webhooks-test: true.
ENV AIRFLOW__CORE__TEST_CONNECTION=Enabled
