"""Multi-process mode: forked workers each record; any exposition shows them all, added up.

Each scenario runs in a fresh interpreter (multi-process mode is process-wide), which forks real
worker processes with multiprocessing's fork context, as Robyn does with processes > 1.
"""

from __future__ import annotations

import json

SCENARIO = r"""
import json, multiprocessing, os, sys, time
import news_metrics
from news_metrics import multiprocess
from news_metrics.testing import samples

# Declared at import time, before prepare(): declaring records nothing, so it is allowed.
EVENT = news_metrics.declare_business_event(
    "article_published", labels=("section",), description="Articles published."
)
HTTP = news_metrics.HTTPMetrics()    # built with the app, before the runner prepares
KAFKA = news_metrics.KafkaMetrics()

directory = multiprocess.prepare(sys.argv[1])

def worker(n, recorded, release):
    for _ in range(100 * (n + 1)):
        HTTP.request_started("GET", "/v1/articles/:id")
        HTTP.request_finished("GET", "/v1/articles/:id", 200, 0.01, 10)
    EVENT.inc(section="world")
    KAFKA.consumed("articles", "indexer")
    KAFKA.lag("articles", n, "indexer", 10 * (n + 1))
    HTTP.request_started("GET", "/v1/slow")  # still in flight while the worker lives
    recorded.release()
    release.wait(30)

def view():
    out = {}
    for (name, labels), value in samples().items():
        out[name + json.dumps(dict(sorted(labels)), sort_keys=True)] = value
    return out

ctx = multiprocessing.get_context("fork")
recorded, release = ctx.Semaphore(0), ctx.Event()
workers = [ctx.Process(target=worker, args=(n, recorded, release)) for n in range(3)]
for w in workers:
    w.start()
for _ in workers:
    assert recorded.acquire(timeout=30)
# Workers write their buffered values every multiprocess_flush_interval (1 s): poll for them.
requests = 'http_requests_total{"method": "GET", "route": "/v1/articles/:id", "status": "200"}'
in_flight = 'http_requests_in_flight{"method": "GET", "route": "/v1/slow"}'
started = time.monotonic()
while True:
    alive = view()
    if alive.get(requests) == 600 and alive.get(in_flight) == 3:
        break
    if time.monotonic() - started > 10:
        break
    time.sleep(0.05)
waited = time.monotonic() - started
# current RSS (ru_maxrss would carry the forking parent's peak across exec on Linux)
own_rss = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
release.set()
for w in workers:
    w.join(30)
    assert w.exitcode == 0, w.exitcode
exited = view()
print(json.dumps({
    "dir": str(directory), "alive": alive, "exited": exited, "own_rss": own_rss, "waited": waited,
    "pids": [w.pid for w in workers],
}))
"""


def key(name: str, **labels: str) -> str:
    """The key SCENARIO's views use for a sample."""
    return name + json.dumps(dict(sorted(labels.items())), sort_keys=True)


REQUESTS = key("http_requests_total", method="GET", route="/v1/articles/:id", status="200")
IN_FLIGHT = key("http_requests_in_flight", method="GET", route="/v1/slow")
EVENTS = key("business_article_published_total", event="article_published", section="world")
CONSUMED = key("kafka_messages_consumed_total", topic="articles", group="indexer")


def lag(partition: int) -> str:
    """The key of the lag sample of one partition."""
    return key("kafka_consumer_lag", topic="articles", partition=str(partition), group="indexer")


class TestForkedWorkers:
    def test_exposition_adds_up_every_worker(self, tmp_path, run_python):
        """Counters, histograms and events of 3 forked workers are summed in one exposition."""
        out = json.loads(run_python(SCENARIO, str(tmp_path / "mp")).stdout)
        assert out["waited"] < 3.0  # live workers' values arrive within a flush interval (1 s)
        for view in (out["alive"], out["exited"]):
            assert view[REQUESTS] == 100 + 200 + 300
            assert view[EVENTS] == 3
            assert view[CONSUMED] == 3
            count = key(
                "http_request_duration_seconds_count", method="GET", route="/v1/articles/:id"
            )
            assert view[count] == 600

    def test_live_gauges_cover_live_workers_only(self, tmp_path, run_python):
        """In-flight sums the live workers; lag is per partition; both vanish when workers exit."""
        out = json.loads(run_python(SCENARIO, str(tmp_path / "mp")).stdout)
        alive, exited = out["alive"], out["exited"]
        assert alive[IN_FLIGHT] == 3
        assert [alive[lag(p)] for p in range(3)] == [10, 20, 30]
        assert exited.get(IN_FLIGHT, 0) == 0
        assert all(lag(p) not in exited for p in range(3))

    def test_process_metrics_add_up_live_workers(self, tmp_path, run_python):
        """process_* describe all live worker processes together, not only the scraped one."""
        out = json.loads(run_python(SCENARIO, str(tmp_path / "mp")).stdout)
        rss = out["alive"][key("process_resident_memory_bytes")]
        assert rss > 2 * out["own_rss"]  # parent + 3 workers, each resident
        assert key("process_cpu_seconds_total") in out["alive"]
        assert key("process_open_fds") in out["alive"]

    def test_prepare_empties_the_folder_of_an_earlier_run(self, tmp_path, run_python):
        """A second run on the same folder starts from zero: stale files are removed at start."""
        directory = tmp_path / "mp"
        first = json.loads(run_python(SCENARIO, str(directory)).stdout)
        (directory / "notes.txt").write_text("kept")
        second = json.loads(run_python(SCENARIO, str(directory)).stdout)
        assert first["exited"][REQUESTS] == second["exited"][REQUESTS] == 600
        assert (directory / "notes.txt").read_text() == "kept"
        stale_pids = {str(pid) for pid in first["pids"]}
        left = {p.stem.rsplit("_", 1)[-1] for p in directory.glob("*.db")}
        assert not left & stale_pids

    def test_child_exited_drops_a_dead_workers_live_gauges(self, tmp_path, run_python):
        """child_exited(pid) removes that worker's in-flight and lag values at once."""
        code = r"""
        import multiprocessing, sys
        import news_metrics
        from news_metrics import multiprocess
        from news_metrics.testing import sample_value
        directory = multiprocess.prepare(sys.argv[1])
        hook = news_metrics.HTTPMetrics()
        def worker():
            hook.request_started("GET", "/a")
        ctx = multiprocessing.get_context("fork")
        p = ctx.Process(target=worker)
        p.start(); p.join()
        files = sorted(f.name for f in directory.glob("gauge_livesum_*.db"))
        multiprocess.child_exited(p.pid)
        print(files == [f"gauge_livesum_{p.pid}.db"], list(directory.glob("gauge_livesum_*")))
        """
        assert run_python(code, str(tmp_path / "mp")).stdout.split() == ["True", "[]"]


class TestBuffering:
    def test_a_worker_that_exits_at_once_still_counts(self, tmp_path, run_python):
        """Values buffered in a worker are written when it exits, before any flush interval."""
        code = r"""
        import multiprocessing, sys
        import news_metrics
        from news_metrics import multiprocess
        from news_metrics.testing import sample_value
        multiprocess.prepare(sys.argv[1])
        hook = news_metrics.HTTPMetrics()
        def worker():
            for _ in range(50):
                hook.request_started("GET", "/a")
                hook.request_finished("GET", "/a", 200, 0.01, 1)
        ctx = multiprocessing.get_context("fork")
        workers = [ctx.Process(target=worker) for _ in range(2)]
        for w in workers: w.start()
        for w in workers: w.join()
        labels = {"method": "GET", "route": "/a", "status": "200"}
        print(sample_value("http_requests_total", labels))
        """
        assert run_python(code, str(tmp_path / "mp")).stdout.split() == ["100.0"]

    def test_zero_interval_writes_through(self, tmp_path, run_python):
        """With multiprocess_flush_interval=0 another process sees each value at once."""
        code = r"""
        import multiprocessing, sys
        import news_metrics
        from news_metrics import multiprocess
        from news_metrics.testing import sample_value
        news_metrics.setup(news_metrics.MetricsSettings(multiprocess_flush_interval=0))
        multiprocess.prepare(sys.argv[1])
        hook = news_metrics.HTTPMetrics()
        def worker(done, release):
            hook.request_started("GET", "/a")
            done.set()
            release.wait(10)
        ctx = multiprocessing.get_context("fork")
        done, release = ctx.Event(), ctx.Event()
        p = ctx.Process(target=worker, args=(done, release))
        p.start()
        done.wait(10)
        print(sample_value("http_requests_in_flight", {"method": "GET", "route": "/a"}))
        release.set(); p.join()
        """
        assert run_python(code, str(tmp_path / "mp")).stdout.split() == ["1.0"]


class TestPrepare:
    def test_prepare_after_recording_fails_with_the_fix(self, tmp_path, run_python):
        """Metrics recorded in memory before prepare() would be invisible: prepare() refuses."""
        code = r"""
        import sys
        import news_metrics
        from news_metrics import multiprocess
        news_metrics.HTTPMetrics().request_started("GET", "/a")
        try:
            multiprocess.prepare(sys.argv[1])
        except news_metrics.MultiprocessError as exc:
            print(exc)
        """
        out = run_python(code, str(tmp_path / "mp")).stdout
        assert "call news_metrics.multiprocess.prepare() before" in out

    def test_default_folder_is_private_and_removed_by_cleanup(self, run_python):
        """Without a folder, prepare() makes a temporary one; cleanup() deletes it."""
        code = r"""
        import os
        import news_metrics
        from news_metrics import multiprocess
        d = multiprocess.prepare()
        news_metrics.HTTPMetrics().request_started("GET", "/a")
        print(os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(d), oct(d.stat().st_mode & 0o777))
        print(len(list(d.glob("*.db"))) > 0)
        multiprocess.cleanup()
        print(d.exists(), "PROMETHEUS_MULTIPROC_DIR" in os.environ)
        """
        assert run_python(code).stdout.split() == ["True", "0o700", "True", "False", "False"]

    def test_env_variable_is_used_when_no_folder_is_given(self, tmp_path, run_python):
        """PROMETHEUS_MULTIPROC_DIR set by the operator is the folder, emptied at start."""
        directory = tmp_path / "from-env"
        directory.mkdir()
        (directory / "counter_1.db").write_bytes(b"stale")
        code = r"""
        import os, sys
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = sys.argv[1]
        from news_metrics import multiprocess
        d = multiprocess.prepare()
        print(str(d) == os.path.realpath(sys.argv[1]), list(d.glob("*.db")))
        """
        assert run_python(code, str(directory)).stdout.split() == ["True", "[]"]

    def test_unwritable_folder_is_a_clear_error(self, tmp_path, run_python):
        """A folder that cannot be created is reported as MultiprocessError naming it."""
        blocker = tmp_path / "file"
        blocker.write_text("not a folder")
        code = r"""
        import sys
        import news_metrics
        try:
            news_metrics.multiprocess.prepare(sys.argv[1])
        except news_metrics.MultiprocessError as exc:
            print("error:", exc)
        """
        out = run_python(code, str(blocker / "mp")).stdout
        assert out.startswith("error: cannot use")
        assert "multiprocess_dir" in out
