import asyncio
import threading

import news_log


class TestBind:
    def test_bound_fields_appear_and_are_removed_on_exit(self, read_lines):
        """Fields bound in a with-block are on every line inside it and gone after it."""
        log = news_log.get_logger("ctx")
        with news_log.bind(request_id="r-1", user="ada"):
            log.info("inside")
        log.info("outside")
        inside, outside = read_lines()
        assert (inside["request_id"], inside["user"]) == ("r-1", "ada")
        assert "request_id" not in outside
        assert news_log.get_context() == {}

    def test_nested_binds_add_and_override(self, read_lines):
        """An inner bind adds fields and may override outer ones until it exits."""
        log = news_log.get_logger("ctx")
        with news_log.bind(request_id="outer", a=1):
            with news_log.bind(request_id="inner", b=2):
                log.info("deep")
            log.info("shallow")
        deep, shallow = read_lines()
        assert (deep["request_id"], deep["a"], deep["b"]) == ("inner", 1, 2)
        assert (shallow["request_id"], shallow["a"]) == ("outer", 1)
        assert "b" not in shallow

    async def test_context_survives_await(self, read_lines):
        """A bound field is still there after awaiting."""
        log = news_log.get_logger("ctx")
        with news_log.bind(request_id="await-1"):
            await asyncio.sleep(0.01)
            log.info("after await")
        (line,) = read_lines()
        assert line["request_id"] == "await-1"

    async def test_context_is_copied_into_gather_and_create_task(self, read_lines):
        """Tasks made by gather/create_task see the bound fields; their own binds stay theirs."""
        log = news_log.get_logger("ctx")

        async def work(n: int) -> None:
            with news_log.bind(task=n):
                await asyncio.sleep(0.001 * (5 - n))
                log.info("task line")

        with news_log.bind(request_id="gathered"):
            await asyncio.gather(*(work(n) for n in range(5)))
            await asyncio.create_task(work(9))
            log.info("parent line")
        lines = read_lines()
        tasks = [x for x in lines if x["msg"] == "task line"]
        assert sorted(x["task"] for x in tasks) == [0, 1, 2, 3, 4, 9]
        assert all(x["request_id"] == "gathered" for x in lines)
        parent = next(x for x in lines if x["msg"] == "parent line")
        assert "task" not in parent

    async def test_concurrent_requests_do_not_mix(self, read_lines):
        """Two interleaved tasks bound to different request ids never see each other's id."""
        log = news_log.get_logger("ctx")

        async def request(rid: str) -> None:
            with news_log.bind(request_id=rid):
                for i in range(20):
                    await asyncio.sleep(0)
                    log.info("step", rid_copy=rid, i=i)

        await asyncio.gather(request("a"), request("b"))
        lines = read_lines()
        assert len(lines) == 40
        assert all(x["request_id"] == x["rid_copy"] for x in lines)

    def test_other_threads_do_not_inherit(self, read_lines):
        """A plain thread started inside a bind does not see the bound fields."""
        log = news_log.get_logger("ctx")
        with news_log.bind(request_id="main-only"):
            thread = threading.Thread(target=lambda: log.info("from thread"))
            thread.start()
            thread.join()
        (line,) = read_lines()
        assert "request_id" not in line

    def test_get_context_reads_current_fields(self):
        """get_context() returns what is bound right now (what news-kafka copies into headers)."""
        assert news_log.get_context() == {}
        with news_log.bind(request_id="r-9", traceparent="00-abc-def-01"):
            assert news_log.get_context() == {"request_id": "r-9", "traceparent": "00-abc-def-01"}
        assert news_log.get_context() == {}
