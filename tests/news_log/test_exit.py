import json
import subprocess
import sys
import textwrap

import pytest


def _run(code: str, path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), str(path), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class TestExit:
    def test_lines_queued_just_before_exit_are_written(self, tmp_path):
        """A process that logs and returns at once still has every line on disk afterwards."""
        path = tmp_path / "exit.log"
        result = _run(
            """
            import sys, news_log
            news_log.setup(news_log.LogSettings(format="json", output=sys.argv[1]))
            log = news_log.get_logger("exit")
            for n in range(50_000):
                log.info("queued", n=n)
            """,
            path,
        )
        assert result.returncode == 0, result.stderr
        lines = path.read_bytes().splitlines()
        assert len(lines) == 50_000
        assert json.loads(lines[-1])["n"] == 49_999

    @pytest.mark.parametrize(
        "how", ["sys.exit(3)", "raise SystemExit(0)", "raise RuntimeError('x')"]
    )
    def test_lines_survive_every_normal_way_out(self, tmp_path, how):
        """sys.exit, SystemExit and an uncaught exception still flush queued lines."""
        path = tmp_path / "ways.log"
        _run(
            f"""
            import sys, news_log
            news_log.setup(news_log.LogSettings(format="json", output=sys.argv[1]))
            for n in range(1000):
                news_log.get_logger("exit").info("queued", n=n)
            {how}
            """,
            path,
        )
        assert len(path.read_bytes().splitlines()) == 1000

    def test_forked_children_flush_their_lines(self, tmp_path):
        """Forked multiprocessing children write their lines; the parent's are not repeated."""
        path = tmp_path / "fork.log"
        result = _run(
            """
            import multiprocessing as mp, sys, news_log
            news_log.setup(news_log.LogSettings(format="json", output=sys.argv[1]))
            log = news_log.get_logger("fork")
            log.info("parent before")
            def child(i):
                for n in range(3000):
                    log.info("child", i=i, n=n)
            if __name__ == "__main__":
                procs = [mp.get_context("fork").Process(target=child, args=(i,)) for i in range(3)]
                for p in procs: p.start()
                for p in procs: p.join()
                log.info("parent after")
            """,
            path,
        )
        assert result.returncode == 0, result.stderr
        lines = [json.loads(x) for x in path.read_bytes().splitlines()]
        assert len(lines) == 9002
        assert sum(1 for x in lines if x["msg"] == "parent before") == 1

    def test_shutdown_writes_everything_and_logging_continues_after(self, tmp_path):
        """shutdown() drains the queue; a later line starts the writer again."""
        path = tmp_path / "shutdown.log"
        result = _run(
            """
            import os, sys, news_log
            news_log.setup(news_log.LogSettings(format="json", output=sys.argv[1]))
            for n in range(5000):
                news_log.get_logger("s").info("before", n=n)
            news_log.shutdown()
            assert len(open(sys.argv[1], "rb").read().splitlines()) == 5000
            news_log.get_logger("s").info("after shutdown")
            news_log.flush()
            os._exit(0)  # skips atexit: the flush above must have written it
            """,
            path,
        )
        assert result.returncode == 0, result.stderr
        assert path.read_bytes().splitlines()[-1].count(b"after shutdown") == 1
