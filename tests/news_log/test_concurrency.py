import asyncio
import json
import threading
from collections import Counter

import news_log


def _check_complete(lines, expected):
    seen = Counter()
    for raw in lines:
        record = json.loads(raw)  # raises on a mangled line
        seen[(record["source"], record["n"])] += 1
    missing = set(expected) - set(seen)
    duplicated = [k for k, v in seen.items() if v > 1]
    assert not missing, f"{len(missing)} lines lost, e.g. {sorted(missing)[:5]}"
    assert not duplicated, f"duplicated lines, e.g. {duplicated[:5]}"


class TestVolume:
    def test_100k_records_from_threads_and_tasks_arrive_complete(self, log_path):
        """100,000 records from 4 threads and 50 asyncio tasks are all written, once, intact."""
        log = news_log.get_logger("volume")
        per_thread, tasks, per_task = 15_000, 50, 800  # 4*15,000 + 50*800 = 100,000

        def thread_body(t: int) -> None:
            for n in range(per_thread):
                log.info("thread line", source=f"thread-{t}", n=n, payload="x" * (n % 50))

        async def task_body(t: int) -> None:
            with news_log.bind(task=t):
                for n in range(per_task):
                    log.info("task line", source=f"task-{t}", n=n)
                    if n % 100 == 0:
                        await asyncio.sleep(0)

        async def tasks_main() -> None:
            await asyncio.gather(*(task_body(t) for t in range(tasks)))

        threads = [threading.Thread(target=thread_body, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        asyncio.run(tasks_main())
        for thread in threads:
            thread.join()
        assert news_log.flush(30.0)
        lines = [x for x in log_path.read_bytes().splitlines() if b'"logger":"volume"' in x]
        assert len(lines) == 100_000
        expected = {(f"thread-{t}", n) for t in range(4) for n in range(per_thread)}
        expected |= {(f"task-{t}", n) for t in range(tasks) for n in range(per_task)}
        _check_complete(lines, expected)

    def test_full_buffer_makes_loggers_wait_instead_of_dropping(self, tmp_path):
        """With a tiny buffer and a slow writer, every line still arrives (back-pressure)."""
        path = tmp_path / "tiny.log"
        news_log.setup(
            news_log.LogSettings(
                format="json", output=str(path), max_buffer_bytes=64 * 1024, flush_interval=0.05
            )
        )
        try:
            log = news_log.get_logger("tiny")
            for n in range(20_000):
                log.info("padding" * 10, source="s", n=n)
            assert news_log.flush(30.0)
            lines = path.read_bytes().splitlines()
        finally:
            news_log.setup(news_log.LogSettings(format="json"))
        _check_complete(lines, {("s", n) for n in range(20_000)})
