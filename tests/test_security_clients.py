"""Every real client with a server that requires a token: Google's Python SDK (also over
HTTPS with a certificate the test makes and trusts), Google's Node client, the CLI, and the
web console in a browser. A missing or wrong token gets 401 UNAUTHENTICATED."""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions
from google.cloud import aiplatform
from google.oauth2.credentials import Credentials

from conftest import SKLEARN, Server
from probe_package import probe_wheel
from test_cli import vertexd
from test_console import browser  # noqa: F401 - the module's browser fixture
from test_sdk_python import PROBE, probe_pool

pytestmark = pytest.mark.slow

TOKEN = "team-token-0123456789"
NODE_DIR = Path(__file__).parent / "node"


def start(home: Path, *extra: str, scheme: str = "http", ca: Path | None = None) -> Server:
    (home / "token").parent.mkdir(parents=True, exist_ok=True)
    (home / "token").write_text(TOKEN + "\n")
    running = Server(home, "--cpus", "64", "--auth-token-file", str(home / "token"), *extra)
    running.url = f"{scheme}://127.0.0.1:{running.port}"
    verify = ssl.create_default_context(cafile=str(ca)) if ca else True
    running.client = httpx.Client(base_url=running.url, timeout=30, verify=verify)
    probe_wheel(home / "buckets" / "test-bucket" / "packages")
    running.start()
    return running


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start(tmp_path_factory.mktemp("home"))
    yield running
    running.stop()


def use(url: str, token: str) -> None:
    aiplatform.init(
        project="token-project",
        location="us-central1",
        api_endpoint=url,
        api_transport="rest",
        credentials=Credentials(token=token),
        staging_bucket="gs://test-bucket",
    )


def sdk_run_and_refuse(url: str) -> None:
    use(url, TOKEN)
    job = aiplatform.CustomJob(display_name="sdk-token", worker_pool_specs=probe_pool("--say", "t"))
    job.run(sync=True)
    assert job.state == aiplatform.gapic.JobState.JOB_STATE_SUCCEEDED
    assert job.resource_name in [j.resource_name for j in aiplatform.CustomJob.list()]
    use(url, "wrong-token")
    # The SDK answers a 401 by trying to refresh the token, which a bare token cannot.
    with pytest.raises((api_exceptions.Unauthenticated, auth_exceptions.RefreshError)):
        aiplatform.CustomJob.get(job.resource_name)


def test_python_sdk_with_a_token(token_server: Server) -> None:
    sdk_run_and_refuse(token_server.url)
    answer = token_server.client.get("/v1/projects/token-project/locations/us-central1/customJobs")
    assert answer.status_code == 401 and answer.json()["error"]["status"] == "UNAUTHENTICATED"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vertexd test")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_python_sdk_over_https(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = make_certificate(tmp_path)
    running = start(
        tmp_path / "home", "--tls-cert", str(cert), "--tls-key", str(key), scheme="https", ca=cert
    )
    try:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # the SDK's HTTP client trusts it
        sdk_run_and_refuse(running.url)
        with pytest.raises(httpx.TransportError):  # plain HTTP is not served
            httpx.get(f"http://127.0.0.1:{running.port}/healthz", timeout=5)
        # The CLI finds the server by its record, over HTTPS, with the CA and the token.
        env = {"SSL_CERT_FILE": str(cert), "VERTEXD_TOKEN": TOKEN}
        done = vertexd(
            "custom-jobs",
            "list",
            "--home",
            str(running.home),
            "--project",
            "token-project",
            env=env,
        )
        assert done.returncode == 0 and "sdk-token" in done.stdout, done.stderr
    finally:
        running.stop()


def test_node_client_with_a_token(token_server: Server) -> None:
    installed = (NODE_DIR / "node_modules" / "@google-cloud" / "aiplatform").is_dir()
    if not (shutil.which("node") and installed):
        if os.environ.get("CI"):
            pytest.fail("CI must install the Node client: .ci/services/node.sh start")
        pytest.skip("run `npm install --prefix tests/node` (needs node) to test the Node client")
    env = {
        **os.environ,
        "VERTEXD_PORT": str(token_server.port),
        "VERTEXD_TOKEN": TOKEN,
        "VERTEXD_EXECUTOR": SKLEARN,
        "VERTEXD_PROBE_URI": PROBE,
    }
    done = subprocess.run(
        ["node", "--test", "token.test.js"], cwd=NODE_DIR, env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout


def test_cli_sends_the_token(token_server: Server, tmp_path: Path) -> None:
    listing = ["custom-jobs", "list", "--endpoint", token_server.url, "--project", "p"]
    refused = vertexd(*listing, "--home", str(tmp_path))
    assert refused.returncode != 0 and "UNAUTHENTICATED" in refused.stderr
    assert vertexd(*listing, env={"VERTEXD_TOKEN": TOKEN}).returncode == 0
    assert vertexd("--token-file", str(token_server.home / "token"), *listing).returncode == 0
    (tmp_path / "auth-token").write_text(TOKEN)  # what `serve --generate-token` writes
    assert vertexd(*listing, "--home", str(tmp_path)).returncode == 0


def test_console_asks_for_the_token_once_per_tab(browser: Any, token_server: Server) -> None:  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{token_server.url}/#/projects/p/locations/us-central1/customJobs")
        dialog = page.locator("#token-dialog")
        dialog.locator("input").fill("wrong")
        dialog.locator("button").click()
        dialog.get_by_role("alert").wait_for()  # "That token was not accepted."
        dialog.locator("input").fill(TOKEN)
        dialog.locator("button").click()
        page.get_by_role("table").or_(page.get_by_text("No custom jobs")).first.wait_for()
        assert page.locator("#token-dialog").count() == 0
        page.reload()  # the tab keeps the token
        page.locator("#nav a").first.wait_for()
        page.get_by_role("table").or_(page.get_by_text("No custom jobs")).first.wait_for()
        assert page.locator("#token-dialog").count() == 0
    finally:
        context.close()
