"""docs/guide.md, "Your first service": the files are the ones shown, pass, and run as it says.

The comments service and its tests live in docs/examples/comments/ and are shown in full in the
guide. These tests check the listings against the files and the line counts the guide states,
run the service's own tests with pytest in that folder (against this session's broker), and
run the service against ``python -m news_testing.kafka`` the way the guide's "Run it on your
machine" does, stopping both with Ctrl+C (SIGINT).
"""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from news_testing import free_port

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
EXAMPLE = ROOT / "docs" / "examples" / "comments"
LISTING = re.compile(r"<!-- file: (?P<path>[^ ]+) -->\n```(?:python|toml)\n(?P<code>.*?)```", re.S)
EXPORT = re.compile(r"^export ([A-Z0-9_]+)=(.*)$")

pytestmark = pytest.mark.slow


def lines_of_code(path: Path) -> tuple[int, int]:
    """(lines of code as cloc counts them: no blank, comment or docstring lines; all lines)."""
    source = path.read_text(encoding="utf-8")
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstrings.update(range(body[0].lineno, (body[0].end_lineno or 0) + 1))
    lines = source.splitlines()
    code = [
        n
        for n, line in enumerate(lines, 1)
        if line.strip() and not line.strip().startswith("#") and n not in docstrings
    ]
    return len(code), len(lines)


class TestListings:
    def test_every_listing_is_its_file(self):
        """Each `<!-- file: ... -->` block of the guide equals the file, byte for byte."""
        listings = {m["path"]: m["code"] for m in LISTING.finditer(GUIDE)}
        assert set(listings) == {
            "examples/comments/comments.py",
            "examples/comments/test_comments.py",
            "examples/comments/pyproject.toml",
        }
        for path, code in listings.items():
            assert (ROOT / "docs" / path).read_text(encoding="utf-8") == code, path

    def test_the_line_counts_are_within_target_and_as_stated(self):
        """Under 60 lines of service code and 40 of tests, as the guide says they are."""
        service, service_all = lines_of_code(EXAMPLE / "comments.py")
        tests, tests_all = lines_of_code(EXAMPLE / "test_comments.py")
        assert service < 60
        assert tests < 40
        text = " ".join(GUIDE.split())
        assert f"one module of {service} lines of code, its tests {tests}" in text
        assert f"{service_all} and {tests_all} lines in all" in text


class TestTheServiceRuns:
    def test_its_own_tests_pass_with_pytest_in_its_folder(self, kafka_broker):
        """`pytest` in docs/examples/comments passes (its fixtures use this session's broker)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTS_")}
        env["NEWS_TEST_KAFKA_BOOTSTRAP"] = kafka_broker.bootstrap
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
            cwd=EXAMPLE,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        assert re.search(r"\b3 passed\b", proc.stdout), proc.stdout[-2000:]

    def test_it_runs_against_the_local_broker_command(self):
        """The guide's way: the broker command's exports + a token, `python comments.py`."""
        command = ["news_testing.kafka", "--port", "0", "--prefix", "COMMENTS_KAFKA__"]
        broker = subprocess.Popen(
            [sys.executable, "-m", *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        service: subprocess.Popen[str] | None = None
        try:
            exports = read_exports(broker)
            port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTS_")}
            env |= exports | {"COMMENTS_TOKEN": "dev-token", "COMMENTS_HTTP__PORT": str(port)}
            service = subprocess.Popen(
                [sys.executable, "comments.py"],
                cwd=EXAMPLE,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            try_it(service, f"http://127.0.0.1:{port}")
            service.send_signal(signal.SIGINT)  # Ctrl+C
            _, err = service.communicate(timeout=60)
            assert service.returncode == 0, err[-3000:]
            broker.send_signal(signal.SIGINT)
            _, err = broker.communicate(timeout=60)
            assert broker.returncode == 0, err
        finally:
            for process in (service, broker):
                if process is not None and process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)


def read_exports(broker: subprocess.Popen[str]) -> dict[str, str]:
    """The `export NAME=value` lines the broker command prints before it waits."""
    found: dict[str, str] = {}
    done = threading.Event()

    def read() -> None:
        assert broker.stdout is not None
        for line in broker.stdout:
            if match := EXPORT.match(line.strip()):
                found[match[1]] = match[2]
            if len(found) == 4:
                break
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(60), f"no exports from the broker command: {found}"
    assert "COMMENTS_KAFKA__BOOTSTRAP_SERVERS" in found, found
    return found


def try_it(service: subprocess.Popen[str], url: str) -> None:
    """The guide's curl calls: a POST with the token, then the list, metrics and readiness."""
    with httpx.Client(base_url=url, timeout=10) as client:
        deadline = time.monotonic() + 120
        while True:
            assert service.poll() is None, service.communicate()[1][-3000:]
            try:
                if client.get("/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "comments.py did not become ready in 120 s"
            time.sleep(0.2)
        posted = client.post(
            "/v1/articles/a1/comments",
            json={"author": "Ada", "text": "First!"},
            headers={"authorization": "Bearer dev-token", "x-request-id": "try-1"},
        )
        assert posted.status_code == 202, posted.text
        while True:  # the consumer stores it a moment later
            page = client.get("/v1/articles/a1/comments", params={"per_page": 10}).json()
            if page["meta"]["total"] == 1:
                break
            assert time.monotonic() < deadline, page
            time.sleep(0.1)
        assert page["data"] == [{"author": "Ada", "text": "First!", "article_id": "a1"}]
        assert "business_comment_stored_total" in client.get("/metrics").text
