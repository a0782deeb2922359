"""What the console's drop-downs offer: prebuilt training images by framework, and machine
types. Read from the same catalogues the API validates against."""

from __future__ import annotations

from typing import Any

from vertexd.launch import executors
from vertexd.resources.machines import DEFAULT_MACHINE_TYPE, MACHINE_TYPES

# Image family -> (framework id, framework label, accelerator). pytorch-xla is Vertex's
# PyTorch CPU image.
_FAMILIES: dict[str, tuple[str, str, str]] = {
    "sklearn-cpu": ("sklearn", "scikit-learn", "CPU"),
    "sklearn-gpu": ("sklearn", "scikit-learn", "GPU"),
    "scikit-learn-cpu": ("sklearn", "scikit-learn", "CPU"),
    "xgboost-cpu": ("xgboost", "XGBoost", "CPU"),
    "xgboost-gpu": ("xgboost", "XGBoost", "GPU"),
    "tf-cpu": ("tensorflow", "TensorFlow", "CPU"),
    "tf-gpu": ("tensorflow", "TensorFlow", "GPU"),
    "tf-tpu": ("tensorflow", "TensorFlow", "TPU"),
    "pytorch-xla": ("pytorch", "PyTorch", "CPU"),
    "pytorch-cpu": ("pytorch", "PyTorch", "CPU"),
    "pytorch-gpu": ("pytorch", "PyTorch", "GPU"),
    "pytorch-tpu": ("pytorch", "PyTorch", "TPU"),
}


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def frameworks() -> list[dict[str, Any]]:
    """[{id, label, versions: [{version, accelerator, imageUri}]}], newest version first."""
    found: dict[str, dict[str, Any]] = {}
    for uri in executors.known_images():
        parsed = executors.parse_image(uri)
        if parsed is None:
            continue
        family, version = parsed
        framework_id, label, accelerator = _FAMILIES.get(family, (family, family, "CPU"))
        entry = found.setdefault(framework_id, {"id": framework_id, "label": label, "versions": []})
        entry["versions"].append({"version": version, "accelerator": accelerator, "imageUri": uri})
    order = ["sklearn", "xgboost", "tensorflow", "pytorch"]
    result = sorted(found.values(), key=lambda f: (order + [f["id"]]).index(f["id"]))
    for framework in result:
        framework["versions"].sort(
            key=lambda v: (_version_key(v["version"]), v["accelerator"] == "CPU"), reverse=True
        )
    return result


def machine_types() -> dict[str, Any]:
    rows = [
        {"name": name, "cpus": shape.cpus, "memoryGb": shape.memory_gb, "gpus": shape.gpus}
        for name, shape in MACHINE_TYPES.items()
    ]
    return {"machineTypes": rows, "default": DEFAULT_MACHINE_TYPE}
