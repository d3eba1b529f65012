"""Ship an Auth0 tenant's logs to a webhook with Apache Airflow."""
