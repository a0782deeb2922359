"""The image `vertexd custom-jobs local-run` builds on an executor image, as gcloud's does.

gcloud's recipe: the package folder is copied to /usr/app (the working dir), requirements
and extra packages are installed with pip, the folder itself too when it is a project
(setup.py or pyproject.toml), and the ENTRYPOINT runs the module or script with python3.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from vertexd.cli.common import InvalidFlagValue
from vertexd.cli.packaging import BUILD_FILES, SKIPPED_NAMES, module_files, project_name

WORKDIR = "/usr/app"
EXTRA_DIR = "/vertexd/extra-packages"
# PEP 668 images (Debian's python3) refuse pip installs without the first variable.
PIP = (
    "PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 "
    "python3 -m pip install --no-cache-dir --no-warn-script-location"
)


@dataclass(frozen=True)
class Recipe:
    executor_image: str
    package_dir: Path
    python_module: str | None
    script: str | None
    requirements: list[str]
    extra_packages: list[str]  # files under package_dir


def default_tag(package_dir: Path) -> str:
    name = re.sub(r"^vertexd-trainer-?", "", project_name(package_dir)) or "trainer"
    return f"vertexd-local-run/{name}:latest"


def write_context(recipe: Recipe, context: Path) -> None:
    """Fill `context` with the package, the extra packages and the Dockerfile."""
    _check_entry(recipe)
    shutil.copytree(recipe.package_dir, context / "app", ignore=_ignored)
    extras = context / "extra"
    extras.mkdir()
    for extra in recipe.extra_packages:
        source = (recipe.package_dir / extra).resolve()
        if not source.is_file():
            raise InvalidFlagValue(
                "--extra-packages",
                f"Package file '{extra}' is not found under the package: '{recipe.package_dir}'.",
            )
        shutil.copyfile(source, extras / source.name)
    (context / "Dockerfile").write_text(
        dockerfile(recipe, sorted(p.name for p in extras.iterdir()))
    )


def dockerfile(recipe: Recipe, extra_files: list[str]) -> str:
    lines = [f"FROM {recipe.executor_image}", f"WORKDIR {WORKDIR}"]
    if (recipe.package_dir / "requirements.txt").is_file():
        lines += ["COPY app/requirements.txt /vertexd/requirements.txt"]
        lines += [f"RUN {PIP} -r /vertexd/requirements.txt"]
    if recipe.requirements:
        lines += [f"RUN {PIP} {' '.join(json.dumps(r) for r in recipe.requirements)}"]
    if extra_files:
        lines += [f"COPY extra/ {EXTRA_DIR}/"]
        lines += [f"RUN {PIP} {' '.join(f'{EXTRA_DIR}/{name}' for name in extra_files)}"]
    lines += [f"COPY app/ {WORKDIR}/"]
    if any((recipe.package_dir / name).is_file() for name in BUILD_FILES):
        lines += [f"RUN {PIP} {WORKDIR}"]
    if recipe.python_module:
        entry = ["python3", "-m", recipe.python_module]
    else:
        entry = ["python3", str(recipe.script)]
    lines += [f"ENTRYPOINT {json.dumps(entry)}", "CMD []"]
    return "\n".join(lines) + "\n"


def _check_entry(recipe: Recipe) -> None:
    if recipe.python_module:
        candidates = module_files(recipe.python_module)
        if any((recipe.package_dir / path).is_file() for path in candidates):
            return
        if any((recipe.package_dir / name).is_file() for name in BUILD_FILES):
            return  # an installed project may provide the module from elsewhere
        missing = candidates[0]
    else:
        assert recipe.script is not None
        if (recipe.package_dir / recipe.script).is_file():
            return
        missing = recipe.script
    raise InvalidFlagValue(
        "--python-module" if recipe.python_module else "--script",
        f"File '{missing}' is not found under the package: '{recipe.package_dir}'.",
    )


def _ignored(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n in SKIPPED_NAMES or n.endswith(".egg-info")}
