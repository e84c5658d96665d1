"""The Spark ALS training job: pure Spark and numpy functions, no Databricks or Cosmos SDK imports.

Self-contained on purpose: only databricks_jobs/ is deployed, so nothing here imports `shared`; the tests in
tests/jobs prove that these re-implementations agree with shared.domain (weighting, model_docs, training_params).
"""
