"""Training, evaluation, the promotion gate and scoring, with MLflow tracking and registry."""
