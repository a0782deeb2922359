"""Hyperparameter tuning on Optuna: search spaces, samplers and pruners, metric collection,
and the controller that runs HyperparameterTuningJobs as CustomJob trials."""
