"""Train a logistic regression on generated data; save the model and metrics to $AIP_MODEL_DIR.

Runs the same way on Vertex AI and on vertexd: `python -m trainer.task --n-samples=5000`.
AIP_MODEL_DIR may be a gs:// URI or a local folder; files are written through fsspec.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from typing import Any

import fsspec
import joblib
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Logistic regression on generated data.")
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--n-features", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=10, help="warm-started training rounds")
    parser.add_argument("--max-iter", type=int, default=2, help="solver iterations per round")
    parser.add_argument("--C", type=float, default=1.0, help="inverse regularization strength")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-dir", default=os.environ.get("AIP_MODEL_DIR", "model-output"))
    return parser.parse_args(argv)


def train(args: argparse.Namespace) -> tuple[LogisticRegression, dict[str, Any]]:
    features, labels = make_classification(
        n_samples=args.n_samples, n_features=args.n_features, n_informative=args.n_features // 2,
        random_state=args.seed,
    )  # fmt: skip
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=0.25, random_state=args.seed
    )
    model = LogisticRegression(C=args.C, max_iter=args.max_iter, warm_start=True)
    started = time.monotonic()
    for epoch in range(1, args.epochs + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x_train, y_train)
        loss = log_loss(y_train, model.predict_proba(x_train))
        train_accuracy = model.score(x_train, y_train)
        print(
            f"epoch {epoch}/{args.epochs}: loss {loss:.4f}, train accuracy {train_accuracy:.4f}",
            flush=True,
        )
    accuracy = float(model.score(x_test, y_test))
    print(f"test accuracy {accuracy:.4f}", flush=True)
    metrics = {
        "accuracy": accuracy,
        "n_samples": args.n_samples,
        "epochs": args.epochs,
        "seconds": round(time.monotonic() - started, 3),
    }
    return model, metrics


def save(model: LogisticRegression, metrics: dict[str, Any], model_dir: str) -> None:
    fs, root = fsspec.core.url_to_fs(model_dir)
    fs.makedirs(root, exist_ok=True)
    with fs.open(f"{root.rstrip('/')}/model.joblib", "wb") as out:
        joblib.dump(model, out)
    with fs.open(f"{root.rstrip('/')}/metrics.json", "w") as out:
        json.dump(metrics, out, indent=2)
    print(f"model and metrics written to {model_dir}", flush=True)


def report_to_tuning(accuracy: float, epochs: int) -> None:
    """In a hyperparameter tuning trial, report the metric the way Vertex expects."""
    if not os.environ.get("CLOUD_ML_TRIAL_ID"):
        return
    import hypertune  # from cloudml-hypertune, which the prebuilt images include

    hypertune.HyperTune().report_hyperparameter_tuning_metric(
        hyperparameter_metric_tag="accuracy", metric_value=accuracy, global_step=epochs
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    model, metrics = train(args)
    save(model, metrics, args.model_dir)
    report_to_tuning(metrics["accuracy"], args.epochs)


if __name__ == "__main__":
    main()
