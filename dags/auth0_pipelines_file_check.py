"""
Reports invalid entries of the pipelines file as this file's import error in the Airflow UI.

Airflow marks every DAG of a file stale when the file fails to import, so the valid pipelines are
built by `auth0_log_pipelines.py` and only this file fails: its error names the pipelines file,
each bad entry and its field. It defines no DAG.
"""

from auth0_log_webhooks.wiring.dag_files import check_pipelines_file

check_pipelines_file()
