"""README's "Installing": the wheels folder, the commands, and a service they give in a fresh venv.

One slow test does what a new user does: `python3 tools/dev.py wheels`, a new virtual
environment, the README's `pip install --find-links dist/wheels ...` commands exactly as written
(only the folder's path and the venv's pip put in), then a small HTTP + Kafka service run with
that venv's interpreter against the test broker: a POST is published to Kafka, the probes and
/metrics answer, SIGTERM stops it with exit code 0.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

import news_http
from news_testing import KafkaCapture, free_port, kafka_env, settings_env

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")

pytestmark = pytest.mark.slow

SERVICE = '''
"""A small service: settings from the environment, a POST that publishes to Kafka."""
import msgspec

import news_api
import news_config
import news_http
import news_kafka


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    http: news_http.HTTPSettings = news_http.HTTPSettings()
    kafka: news_kafka.KafkaSettings = news_kafka.KafkaSettings()
    topic: str = "notes"


settings = news_config.load(Settings, prefix="TINY_")
app = news_http.create_app(settings.http, name="tiny")
publisher = news_kafka.Publisher(settings.kafka)


@app.on_startup
async def start_publisher() -> None:
    await publisher.start()


@app.on_shutdown
async def stop_publisher() -> None:
    await publisher.stop()


@app.post("/v1/notes")
async def post_note(request) -> news_api.Response:
    note = msgspec.json.decode(request.body)
    await publisher.publish(settings.topic, note, key=str(note["id"]))
    return news_api.ok({"published": note["id"]}, status=202)


if __name__ == "__main__":
    news_http.run(app, settings.http)
'''


def clone_commands() -> list[str]:
    """The `pip install --find-links dist/wheels` lines of the README's "From a clone" block."""
    section = README.split("\n### From a clone\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line.split(" # ", 1)[0].strip() for line in block.splitlines()]
    assert lines[0] == "python3 tools/dev.py wheels", lines
    return [line for line in lines[1:] if line]


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` (output captured, text) and return the result without checking it."""
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload,no-any-return]


class TestReadmeInstalling:
    def test_the_readme_names_the_failing_command_and_its_error(self):
        """The section explains the error a bare folder install gives, quoting it."""
        section = README.split("\n## Installing\n", 1)[1].split("\n## ", 1)[0]
        text = " ".join(section.split())
        assert "pip install './packages/news-http[metrics,health]'" in text
        assert "Could not find a version that satisfies the requirement news-api<0.2,>=0.1" in text

    def test_wheels_refuses_unknown_arguments(self):
        """`dev.py wheels --frobnicate` exits 2 with its usage, building nothing."""
        done = run([sys.executable, str(ROOT / "tools" / "dev.py"), "wheels", "--frobnicate"])
        assert done.returncode == 2
        assert "usage: python3 tools/dev.py wheels [--out DIR]" in done.stderr

    def test_one_command_per_kind_of_service(self):
        """The clone commands install an HTTP API, and a Kafka worker (or both), from the folder."""
        commands = clone_commands()
        assert len(commands) == 2
        assert all(c.startswith("pip install --find-links dist/wheels ") for c in commands)
        assert "'news-http[metrics,health]'" in commands[0]
        assert "news-kafka" not in commands[0]
        assert "'news-kafka[metrics,health]'" in commands[1]
        assert "'news-http[metrics,health]'" in commands[1]

    def test_extras_named_exist(self):
        """Every `pkg[extras]` the section names is an extra the package declares."""
        import tomllib

        section = README.split("\n## Installing\n", 1)[1].split("\n## ", 1)[0]
        for name, extras in set(re.findall(r"(news-[a-z]+)\[([a-z,-]+)\]", section)):
            pyproject = ROOT / "packages" / name / "pyproject.toml"
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            declared = set(data["project"].get("optional-dependencies", {}))
            assert set(extras.split(",")) <= declared, (name, extras, declared)

    def test_a_fresh_venv_gets_a_working_http_and_kafka_service(
        self, tmp_path, kafka_bootstrap, kafka_topic
    ):
        """dev.py wheels + the README's commands in a new venv run an HTTP + Kafka service."""
        wheels = tmp_path / "wheels"
        wheels.mkdir()
        (wheels / "news_gone-0.0.1-py3-none-any.whl").write_bytes(b"")  # left by an earlier run
        dev = str(ROOT / "tools" / "dev.py")
        built = run([sys.executable, dev, "wheels", "--out", str(wheels)])
        assert built.returncode == 0, built.stdout + built.stderr
        names = {p.name.split("-")[0] for p in wheels.glob("*.whl")}  # news_gone is gone
        folders = {p.parent.name.replace("-", "_") for p in ROOT.glob("packages/*/pyproject.toml")}
        assert names == folders

        venv = tmp_path / "venv"
        made = run([sys.executable, "-m", "venv", str(venv)])
        assert made.returncode == 0, made.stderr
        python = venv / "bin" / "python"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        # In the fresh venv, the folder install the README explains fails as it says.
        bare = run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--dry-run",
                "./packages/news-http[metrics,health]",
            ],
            cwd=ROOT,
            env=env,
            timeout=900,
        )
        assert bare.returncode != 0
        assert "Could not find a version that satisfies the requirement news-api" in bare.stderr

        http_api, worker = clone_commands()
        for command, extra in ((http_api, ["--dry-run"]), (worker, [])):
            argv = shlex.split(command.replace("dist/wheels", str(wheels)))
            assert argv[:2] == ["pip", "install"]
            done = run([str(python), "-m", "pip", *argv[1:], *extra], env=env, timeout=900)
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"

        topic = kafka_topic()
        (tmp_path / "service.py").write_text(textwrap.dedent(SERVICE), encoding="utf-8")
        http = news_http.HTTPSettings(host="127.0.0.1", port=free_port())
        service_env = {
            **env,
            **kafka_env(kafka_bootstrap, prefix="TINY_KAFKA__"),
            **settings_env(http, prefix="TINY_HTTP__"),
            "TINY_TOPIC": topic,
        }
        process = subprocess.Popen(
            [str(python), "-I", "service.py"],
            cwd=tmp_path,
            env=service_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            self._exercise(process, f"http://127.0.0.1:{http.port}", kafka_bootstrap, topic)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)

    def _exercise(
        self, process: subprocess.Popen[str], url: str, bootstrap: str, topic: str
    ) -> None:
        import asyncio

        with httpx.Client(base_url=url, timeout=10) as client:
            deadline = time.monotonic() + 120
            while True:
                assert process.poll() is None, process.communicate()[1]
                try:
                    if client.get("/health/live").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the service did not answer in 120 s"
                time.sleep(0.2)

            async def post_and_capture() -> bytes | None:
                async with KafkaCapture(bootstrap, topic) as capture:
                    response = client.post("/v1/notes", json={"id": 7, "text": "hello"})
                    assert response.status_code == 202, response.text
                    [record] = await capture.wait_for(1, timeout=30)
                return record.raw_value

            assert asyncio.run(post_and_capture()) == b'{"id":7,"text":"hello"}'
            assert client.get("/health/ready").status_code == 200
            assert "http_requests_total" in client.get("/metrics").text
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
