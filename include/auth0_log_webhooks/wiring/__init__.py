"""Airflow wiring: DAGs built from the pipelines, and what registers the project with Airflow.

The pipeline DAG (fetch, mapped deliveries in the pool, commit) and its trigger form, the replay
DAG, the alarms and daily report DAGs, the run deadline alert, and the provider metadata that
registers the connection types.

It may import every package: it is the top layer, and only ``dags/``, ``plugins/`` and the
shims import it.
"""
