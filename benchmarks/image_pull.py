"""A pull of an image of about 50 MB through vertexd against `docker pull` of the same image,
in one run, from the same registry to the same engine.

Needs the engine and the test registry of CI (`eval "$(bash .ci/services/docker.sh start)"`
and `eval "$(bash .ci/services/registry.sh start)"`). Builds an image with a 50 MB layer of
random bytes on the busybox test image, pushes it, and then, N times each, alternating:
removes it from the engine and pulls it either with vertexd's puller (the code a job's pull
runs: Engine.pull through the Engine API, with the summary progress) or with the docker CLI.

    python benchmarks/image_pull.py [--runs 3] [--megabytes 50]

Target (issue "Custom containers work by default"): vertexd / docker pull <= 1.1.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import docker

from vertexd.backends.container.engine import Engine
from vertexd.backends.container.pulls import ImagePuller

TARGET_RATIO = 1.1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--megabytes", type=int, default=50)
    options = parser.parse_args()
    engine_url, registry = (
        os.environ.get("DOCKER_HOST", ""),
        os.environ.get("VERTEXD_TEST_REGISTRY"),
    )
    if not engine_url or not registry:
        sys.exit("Start the engine and registry first: .ci/services/docker.sh, registry.sh.")
    user = os.environ["VERTEXD_TEST_REGISTRY_USER"]
    password = os.environ["VERTEXD_TEST_REGISTRY_PASSWORD"]
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "docker-config"
        config.mkdir()
        secret = base64.b64encode(f"{user}:{password}".encode()).decode()
        (config / "config.json").write_text(json.dumps({"auths": {registry: {"auth": secret}}}))
        os.environ["DOCKER_CONFIG"] = str(config)  # both pullers read credentials from it
        client = docker.DockerClient(base_url=engine_url)
        image = push_image(client, registry, Path(scratch), options.megabytes, user, password)
        timings: dict[str, list[float]] = {"vertexd": [], "docker pull": []}
        engine = Engine(engine_url)
        for _ in range(options.runs):
            ways = {
                "vertexd": lambda: vertexd_pull(engine, image),
                "docker pull": lambda: docker_cli_pull(engine_url, image),
            }
            for way, pull in ways.items():
                client.images.remove(image)
                started = time.perf_counter()
                pull()
                timings[way].append(time.perf_counter() - started)
        client.images.remove(image)
    report(timings, options.megabytes)


def push_image(
    client: docker.DockerClient,
    registry: str,
    scratch: Path,
    megabytes: int,
    user: str,
    password: str,
) -> str:
    base = dict(item.split("=", 1) for item in os.environ["VERTEXD_TEST_IMAGES"].split(","))[
        "busybox"
    ]
    context = scratch / "context"
    context.mkdir()
    (context / "data").write_bytes(os.urandom(megabytes * 1_000_000))
    (context / "Dockerfile").write_text(f"FROM {base}\nCOPY data /data\n")
    image = f"{registry}/vertexd-bench/pull:{uuid.uuid4().hex[:12]}"
    client.images.build(path=str(context), tag=image, rm=True, pull=False)
    auth = {"username": user, "password": password}
    for line in client.api.push(image, auth_config=auth, stream=True, decode=True):
        if "error" in line:
            sys.exit(f"push failed: {line['error']}")
    return image


def vertexd_pull(engine: Engine, image: str) -> None:
    lines: list[str] = []
    ImagePuller(engine, "always").ensure(image, lines.append)
    if not lines[-1].startswith("Pulled"):
        sys.exit(f"vertexd's pull did not end well: {lines}")


def docker_cli_pull(engine_url: str, image: str) -> None:
    subprocess.run(
        ["docker", "-H", engine_url, "pull", "-q", image], check=True, capture_output=True
    )


def report(timings: dict[str, list[float]], megabytes: int) -> None:
    print(f"pull of an image with a {megabytes} MB layer, median of {len(timings['vertexd'])}:")
    medians = {way: statistics.median(values) for way, values in timings.items()}
    for way, values in timings.items():
        runs = ", ".join(f"{v * 1000:.0f}" for v in values)
        print(f"  {way:12} {medians[way] * 1000:7.0f} ms   (runs: {runs} ms)")
    ratio = medians["vertexd"] / medians["docker pull"]
    verdict = "meets" if ratio <= TARGET_RATIO else "misses"
    print(f"  ratio vertexd / docker pull: {ratio:.2f} ({verdict} the target <= {TARGET_RATIO})")


if __name__ == "__main__":
    main()
