"""`vertexd custom-jobs local-run`: gcloud's local-run, on a Docker or Podman engine.

It builds an image on the executor image (see local_run_image.py) and runs it in the
foreground, printing its output as it comes; without --python-module and --script, as
gcloud's, it builds nothing and runs the executor image as it is (its own ENTRYPOINT, the
arguments after `--` as its CMD). Unlike gcloud's, the container sees the full
environment of a one-replica CustomJob (CLOUD_ML_JOB_ID, CLUSTER_SPEC, TF_CONFIG, AIP_*...),
the local buckets at /gcs and the gs:// shim, as a job on `vertexd serve --container-engine`
does. The command exits with the container's exit code.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer

from vertexd.cli.common import CliError, FlagSyntaxError, reporting, resolve_home, status, warn
from vertexd.cli.flag_values import merge_list_flag
from vertexd.cli.local_run_image import Recipe, default_tag


def local_run(
    executor_image_uri: Annotated[
        str | None, typer.Option(help="The image to build on (it must be on the engine).")
    ] = None,
    local_package_path: Annotated[
        Path | None, typer.Option(help="Folder of the training code (default: the current one).")
    ] = None,
    python_module: Annotated[
        str | None, typer.Option(help="Module to run with `python3 -m`, e.g. trainer.task.")
    ] = None,
    script: Annotated[
        str | None,
        typer.Option(
            help="Script under the package folder to run instead: a .py file with python3, "
            "any other with bash. Without --python-module and --script, the executor image "
            "runs as it is."
        ),
    ] = None,
    requirements: Annotated[
        list[str] | None, typer.Option(metavar="REQ,...", help="PyPI requirements to install.")
    ] = None,
    extra_packages: Annotated[
        list[str] | None,
        typer.Option(metavar="FILE,...", help="Package files under the folder to install."),
    ] = None,
    extra_dirs: Annotated[
        list[str] | None,
        typer.Option(
            metavar="DIR,...",
            help="Folders under the package folder to copy into the image too (by default only "
            "the main script's or module's folder is).",
        ),
    ] = None,
    output_image_uri: Annotated[
        str | None, typer.Option(help="Tag of the built image (default: vertexd-local-run/NAME).")
    ] = None,
    base_output_directory: Annotated[
        str | None,
        typer.Option(help="gs:// prefix for AIP_MODEL_DIR... (default: a new folder per run)."),
    ] = None,
    gpu: Annotated[bool, typer.Option("--gpu", help="Give the container every GPU.")] = False,
    container_engine: Annotated[
        str | None,
        typer.Option(
            help="Docker Engine API socket (default: DOCKER_HOST, CONTAINER_HOST, else the "
            "usual sockets)."
        ),
    ] = None,
    home: Annotated[
        Path | None, typer.Option(help="vertexd home, whose local buckets are mounted at /gcs.")
    ] = None,
    args: Annotated[
        list[str] | None, typer.Argument(metavar="-- ARGS", help="Arguments for the code.")
    ] = None,
) -> None:
    """Build an image of local training code on an executor image and run it here, now;
    without --python-module and --script, run the executor image as it is."""
    with reporting("custom-jobs.local-run"):
        if not executor_image_uri:
            raise FlagSyntaxError("--executor-image-uri", "Must be specified.")
        if python_module and script:
            raise CliError("At most one of --python-module | --script may be specified.", 2)
        recipe = None
        if python_module or script:
            recipe = _recipe(
                executor_image_uri, local_package_path, python_module, script, requirements,
                extra_packages, extra_dirs,
            )  # fmt: skip
        else:
            _unused_without_code(
                local_package_path, requirements, extra_packages, extra_dirs, output_image_uri
            )
        # The docker SDK is imported here only: other commands start faster without it.
        from vertexd.backends.container.engine import Engine, EngineError
        from vertexd.backends.container.pulls import ImagePuller
        from vertexd.cli.local_run_engine import build, run

        try:
            engine = Engine(engine_url(container_engine))
            ImagePuller(engine).ensure(executor_image_uri, status)
            tag = executor_image_uri
            if recipe is not None:
                tag = output_image_uri or default_tag(recipe.package_dir)
                started = time.monotonic()
                build(engine, recipe, tag)
                status(f"Built image [{tag}] in {time.monotonic() - started:.1f} s.")
            home_dir = resolve_home(home)
            code = run(engine, tag, list(args or []), home_dir, base_output_directory, gpu)
        except EngineError as exc:
            raise CliError(str(exc)) from None
    raise typer.Exit(code)


def engine_url(flag: str | None) -> str:
    """The engine named, else the first that answers where Docker's tools would look."""
    from vertexd.backends.container.discovery import find_engine

    search = find_engine(flag or os.environ.get("VERTEXD_CONTAINER_ENGINE", ""))
    if search.url is None:
        raise CliError(
            f"No container engine found: {search.explain()}. Start Docker or Podman, or "
            "name one with --container-engine unix:///PATH/TO/SOCKET (or DOCKER_HOST)."
        )
    return search.url


def _unused_without_code(
    local_package_path: Path | None,
    requirements: list[str] | None,
    extra_packages: list[str] | None,
    extra_dirs: list[str] | None,
    output_image_uri: str | None,
) -> None:
    """Flags that shape the image built for the code: nothing is built without code."""
    given = {
        "--local-package-path": local_package_path,
        "--requirements": requirements,
        "--extra-packages": extra_packages,
        "--extra-dirs": extra_dirs,
        "--output-image-uri": output_image_uri,
    }
    for flag, value in given.items():
        if value:
            warn(
                f"{flag} is ignored: without --python-module or --script the executor image "
                "runs as it is."
            )


def _recipe(
    executor_image_uri: str,
    local_package_path: Path | None,
    python_module: str | None,
    script: str | None,
    requirements: list[str] | None,
    extra_packages: list[str] | None,
    extra_dirs: list[str] | None,
) -> Recipe:
    package_dir = (local_package_path or Path.cwd()).expanduser().absolute()
    if not package_dir.is_dir():
        raise CliError(f"The package folder [{package_dir}] does not exist.")
    return Recipe(
        executor_image_uri,
        package_dir,
        python_module,
        script,
        merge_list_flag(requirements, "--requirements") or [],
        merge_list_flag(extra_packages, "--extra-packages") or [],
        merge_list_flag(extra_dirs, "--extra-dirs") or [],
    )
