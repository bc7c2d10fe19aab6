"""In and out of mlops-magic: MLflow tracking stores read and written, models packaged to deploy anywhere.

``mlflow_read`` reads an MLflow store through MLflow's own client (an optional extra); ``mlflow_import``
and ``mlflow_models`` bring its runs and registered models in; ``mlflow_export`` writes ours out;
``package`` writes a self-contained folder that serves a version with ``mlops serve`` on any host.
"""
