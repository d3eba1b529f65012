"""Airflow wiring: DAGs built from the pipelines, and what registers the project with Airflow.

The pipeline DAG (fetch, mapped deliveries in the pool, commit) and its trigger form, the replay
DAG, the alarms and daily report DAGs and the DAG files' builder, the run deadline alert, the
health page plugin, and the provider metadata that registers the connection types.

It may import every package: it is the top layer, and only ``dags/``, Airflow's entry points and
the shims import it.
"""
