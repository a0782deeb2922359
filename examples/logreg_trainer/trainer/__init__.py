"""A logistic regression trainer to run as a Vertex AI CustomJob (pythonPackageSpec)."""
