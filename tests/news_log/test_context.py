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


class TestScope:
    def test_collects_what_is_bound_further_in(self):
        """A scope binds its fields and collects the fields of binds entered inside it."""
        with news_log.scope(request_id="r-1") as inner:
            assert news_log.get_context() == {"request_id": "r-1"}
            with news_log.bind(principal="ada", auth_method="api_key"), news_log.bind(article_id=7):
                pass
            assert news_log.get_context() == {"request_id": "r-1"}  # the binds are gone...
            assert dict(inner) == {"principal": "ada", "auth_method": "api_key", "article_id": 7}
        assert news_log.get_context() == {}

    def test_later_binds_overwrite_and_outside_binds_are_not_collected(self):
        """The last value bound for a key wins; binds outside any scope are collected by none."""
        with news_log.bind(before="x"), news_log.scope() as inner:
            with news_log.bind(step=1):
                pass
            with news_log.bind(step=2):
                pass
        assert dict(inner) == {"step": 2}

    async def test_tasks_started_inside_are_collected_until_the_scope_exits(self):
        """Binds in tasks started inside count; once the scope exits, a task's binds do not."""
        go_on = asyncio.Event()

        async def outliver() -> None:
            with news_log.bind(early=True):
                pass
            await go_on.wait()
            with news_log.bind(late=True):
                pass

        with news_log.scope(request_id="t") as inner:
            task = asyncio.create_task(outliver())
            await asyncio.sleep(0)
        go_on.set()
        await task
        assert dict(inner) == {"early": True}

    def test_nested_scopes_report_to_the_outer_one(self):
        """An inner scope's own fields and what it collected reach the outer scope on exit."""
        with news_log.scope(request_id="outer") as outer:
            with news_log.scope(job="j-1") as nested, news_log.bind(item=3):
                pass
            assert dict(nested) == {"item": 3}
        assert dict(outer) == {"job": "j-1", "item": 3}

    def test_threads_have_their_own_scopes(self):
        """A plain thread's binds are not collected by a scope of another thread."""
        with news_log.scope() as inner:
            thread = threading.Thread(target=lambda: news_log.bind(other=1).__enter__())
            thread.start()
            thread.join()
        assert dict(inner) == {}
