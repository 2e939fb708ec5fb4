"""Password hashing: argon2id parameters, verify, unknown users, rehash, the bounded pool."""

from __future__ import annotations

import asyncio
import threading

import argon2
import msgspec
import pytest

import news_security
from news_security import (
    HasherBusyError,
    InvalidHashError,
    PasswordHasher,
    PasswordSettings,
)

FAST = PasswordSettings(memory_cost_kib=1024, time_cost=1)


def _params(encoded: str) -> str:
    return encoded.split("$")[3]


class TestSettings:
    """PasswordSettings defaults are OWASP's and inconsistent values are refused."""

    def test_defaults_are_owasp_argon2id_minimum(self):
        """19 MiB, 2 iterations, 1 lane, 2 threads, 64 waiting calls."""
        s = PasswordSettings()
        assert (s.memory_cost_kib, s.time_cost, s.parallelism) == (19_456, 2, 1)
        assert (s.hash_length, s.salt_length, s.threads, s.max_waiting) == (32, 16, 2, 64)
        assert s.niceness == 10

    @pytest.mark.parametrize(
        "field",
        [
            {"memory_cost_kib": 1023},
            {"time_cost": 0},
            {"parallelism": 0},
            {"parallelism": 65},
            {"hash_length": 15},
            {"salt_length": 15},
            {"threads": 0},
            {"threads": 33},
            {"max_waiting": -1},
            {"niceness": -1},
            {"niceness": 20},
        ],
    )
    def test_out_of_range_values_are_refused(self, field):
        """Values argon2 or the pool cannot use fail validation."""
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(field, PasswordSettings)

    def test_edge_values_are_accepted(self):
        """The smallest accepted values build a working settings Struct."""
        s = msgspec.convert(
            {
                "memory_cost_kib": 1024,
                "time_cost": 1,
                "parallelism": 64,
                "hash_length": 16,
                "salt_length": 16,
                "threads": 1,
                "max_waiting": 0,
            },
            PasswordSettings,
        )
        assert s.parallelism == 64


class TestHashAndVerify:
    """hash() makes argon2id hashes with the settings; verify() checks them."""

    async def test_hash_is_argon2id_with_the_configured_parameters(self):
        """The encoded hash names argon2id, v=19 and the settings' m, t, p."""
        async with PasswordHasher(PasswordSettings(memory_cost_kib=2048, time_cost=3)) as hasher:
            stored = await hasher.hash("pw")
        assert stored.startswith("$argon2id$v=19$")
        assert _params(stored) == "m=2048,t=3,p=1"

    async def test_default_parameters_reach_argon2(self):
        """A default hasher hashes with m=19456, t=2, p=1."""
        async with PasswordHasher() as hasher:
            stored = await hasher.hash("pw")
        assert _params(stored) == "m=19456,t=2,p=1"

    async def test_salt_and_hash_lengths_follow_settings(self):
        """salt_length and hash_length set the encoded salt and hash sizes."""
        settings = PasswordSettings(
            memory_cost_kib=1024, time_cost=1, salt_length=24, hash_length=48
        )
        async with PasswordHasher(settings) as hasher:
            stored = await hasher.hash("pw")
        params = argon2.extract_parameters(stored)
        assert (params.salt_len, params.hash_len) == (24, 48)

    async def test_same_password_gets_different_salts(self):
        """Two hashes of one password differ (random salt) and both verify."""
        async with PasswordHasher(FAST) as hasher:
            a, b = await hasher.hash("pw"), await hasher.hash("pw")
            assert a != b
            assert await hasher.verify(a, "pw") is True
            assert await hasher.verify(b, "pw") is True

    async def test_wrong_password_is_false(self):
        """A different password, an empty one, or a prefix does not verify."""
        async with PasswordHasher(FAST) as hasher:
            stored = await hasher.hash("correct horse")
            assert await hasher.verify(stored, "correct horsE") is False
            assert await hasher.verify(stored, "") is False
            assert await hasher.verify(stored, "correct") is False

    async def test_unicode_passwords(self):
        """Non-ASCII passwords hash and verify as UTF-8."""
        async with PasswordHasher(FAST) as hasher:
            stored = await hasher.hash("pässwörd ✓")
            assert await hasher.verify(stored, "pässwörd ✓") is True
            assert await hasher.verify(stored, "passwörd ✓") is False

    async def test_corrupt_hash_raises_invalid_hash(self):
        """A stored value that is not argon2 raises InvalidHashError (a ValueError)."""
        async with PasswordHasher(FAST) as hasher:
            with pytest.raises(InvalidHashError, match="not an argon2 hash"):
                await hasher.verify("$2b$12$notargon", "pw")
        assert issubclass(InvalidHashError, ValueError)
        assert issubclass(InvalidHashError, news_security.PasswordHashError)

    async def test_hash_from_other_parameters_still_verifies(self):
        """Hashes made with older, weaker settings verify with the new ones."""
        async with PasswordHasher(FAST) as old:
            stored = await old.hash("pw")
        async with PasswordHasher(PasswordSettings(memory_cost_kib=2048, time_cost=2)) as new:
            assert await new.verify(stored, "pw") is True

    def test_sync_variants(self):
        """hash_sync and verify_sync work from plain threads, through the same pool."""
        hasher = PasswordHasher(FAST)
        stored = hasher.hash_sync("pw")
        assert hasher.verify_sync(stored, "pw") is True
        assert hasher.verify_sync(stored, "px") is False
        assert hasher.verify_sync(None, "pw") is False
        asyncio.run(hasher.stop())


class TestUnknownUser:
    """verify(None, ...) costs a full verification of the same parameters and is False."""

    async def test_unknown_user_is_false(self):
        """No stored hash: False, whatever the password."""
        async with PasswordHasher(FAST) as hasher:
            assert await hasher.verify(None, "") is False
            assert await hasher.verify(None, "pw") is False

    async def test_unknown_user_runs_argon2_with_the_same_parameters(self, monkeypatch):
        """The dummy verification runs argon2 once, on a hash with the real users' parameters."""
        settings = PasswordSettings(memory_cost_kib=2048, time_cost=3, parallelism=2)
        async with PasswordHasher(settings) as hasher:
            real = await hasher.hash("pw")
            seen: list[str] = []
            original = argon2.PasswordHasher.verify

            def spy(self, hash, password):
                seen.append(hash if isinstance(hash, str) else hash.decode())
                return original(self, hash, password)

            monkeypatch.setattr(argon2.PasswordHasher, "verify", spy)
            assert await hasher.verify(None, "pw") is False
            assert await hasher.verify(real, "pw") is True
        assert len(seen) == 2
        dummy = argon2.extract_parameters(seen[0])
        assert dummy == argon2.extract_parameters(real)
        assert seen[0] != real

    async def test_dummy_differs_between_hashers(self):
        """Each hasher has its own random dummy (nothing guessable to match)."""
        a, b = PasswordHasher(FAST), PasswordHasher(FAST)
        assert a._dummy != b._dummy


class TestNeedsRehash:
    """needs_rehash tells when stored hashes use other parameters."""

    async def test_current_parameters_need_no_rehash(self):
        """A hash made with the current settings needs none."""
        async with PasswordHasher(FAST) as hasher:
            assert hasher.needs_rehash(await hasher.hash("pw")) is False

    async def test_raised_parameters_need_rehash(self):
        """After memory or time cost went up, old hashes need a rehash."""
        async with PasswordHasher(FAST) as old:
            stored = await old.hash("pw")
        more_memory = PasswordSettings(memory_cost_kib=2048, time_cost=1)
        more_time = PasswordSettings(memory_cost_kib=1024, time_cost=2)
        assert PasswordHasher(more_memory).needs_rehash(stored) is True
        assert PasswordHasher(more_time).needs_rehash(stored) is True

    def test_garbage_raises_invalid_hash(self):
        """A non-argon2 value raises InvalidHashError."""
        with pytest.raises(InvalidHashError):
            PasswordHasher(FAST).needs_rehash("plaintext")


class TestPool:
    """Hashing runs on a bounded pool of threads, off the event loop."""

    async def test_runs_off_the_event_loop_thread(self, monkeypatch):
        """argon2 runs on a news-security thread, never on the loop's thread."""
        threads: list[str] = []
        original = argon2.PasswordHasher.hash

        def spy(self, password, *, salt=None):
            threads.append(threading.current_thread().name)
            return original(self, password, salt=salt)

        monkeypatch.setattr(argon2.PasswordHasher, "hash", spy)
        async with PasswordHasher(FAST) as hasher:
            await hasher.hash("pw")
        assert threads
        assert threads[0].startswith("news-security-argon2")
        assert threads[0] != threading.current_thread().name

    @pytest.mark.parametrize("niceness", [0, 10, 19])
    async def test_hashing_threads_get_the_configured_nice_value(self, monkeypatch, niceness):
        """The pool's threads run ``niceness`` nicer than the (unchanged) process, at most 19."""
        import os

        seen: list[int] = []
        original = argon2.PasswordHasher.hash

        def spy(self, password, *, salt=None):
            seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
            return original(self, password, salt=salt)

        monkeypatch.setattr(argon2.PasswordHasher, "hash", spy)
        before = os.getpriority(os.PRIO_PROCESS, 0)
        settings = PasswordSettings(memory_cost_kib=1024, time_cost=1, niceness=niceness)
        async with PasswordHasher(settings) as hasher:
            await hasher.hash("pw")
        assert seen == [min(19, before + niceness)]
        assert os.getpriority(os.PRIO_PROCESS, 0) == before

    async def test_loop_keeps_running_while_hashing(self, monkeypatch):
        """While a hash is computed, other coroutines on the loop make progress."""
        gate = threading.Event()
        original = argon2.PasswordHasher.hash

        def slow(self, password, *, salt=None):
            assert gate.wait(10)
            return original(self, password, salt=salt)

        monkeypatch.setattr(argon2.PasswordHasher, "hash", slow)
        async with PasswordHasher(FAST) as hasher:
            task = asyncio.ensure_future(hasher.hash("pw"))
            await asyncio.sleep(0)
            ticks = 0
            for _ in range(5):
                await asyncio.sleep(0)
                ticks += 1
            assert not task.done()
            gate.set()
            assert (await task).startswith("$argon2id$")
        assert ticks == 5

    async def test_too_many_waiting_calls_are_refused(self, monkeypatch):
        """Past threads + max_waiting calls in flight, the next raises HasherBusyError at once."""
        gate = threading.Event()
        original = argon2.PasswordHasher.hash

        def blocked(self, password, *, salt=None):
            assert gate.wait(10)
            return original(self, password, salt=salt)

        monkeypatch.setattr(argon2.PasswordHasher, "hash", blocked)
        settings = PasswordSettings(memory_cost_kib=1024, time_cost=1, threads=1, max_waiting=2)
        async with PasswordHasher(settings) as hasher:
            running = [asyncio.ensure_future(hasher.hash(str(i))) for i in range(3)]
            await asyncio.sleep(0)
            with pytest.raises(HasherBusyError, match=r"threads=1, max_waiting=2"):
                await hasher.hash("one too many")
            with pytest.raises(HasherBusyError):
                await hasher.verify(None, "also refused")
            gate.set()
            results = await asyncio.gather(*running)
            assert all(r.startswith("$argon2id$") for r in results)
            # room again once they finished
            assert (await hasher.hash("again")).startswith("$argon2id$")
        assert issubclass(HasherBusyError, news_security.PasswordHashError)

    async def test_max_waiting_zero_allows_exactly_threads(self, monkeypatch):
        """With max_waiting=0, `threads` calls run and one more is refused."""
        gate = threading.Event()
        original = argon2.PasswordHasher.hash

        def blocked(self, password, *, salt=None):
            assert gate.wait(10)
            return original(self, password, salt=salt)

        monkeypatch.setattr(argon2.PasswordHasher, "hash", blocked)
        settings = PasswordSettings(memory_cost_kib=1024, time_cost=1, threads=2, max_waiting=0)
        async with PasswordHasher(settings) as hasher:
            running = [asyncio.ensure_future(hasher.hash(str(i))) for i in range(2)]
            await asyncio.sleep(0)
            with pytest.raises(HasherBusyError):
                await hasher.hash("third")
            gate.set()
            await asyncio.gather(*running)

    async def test_failures_free_their_place(self):
        """A call that raised (corrupt hash) does not keep its place in the pool's count."""
        settings = PasswordSettings(memory_cost_kib=1024, time_cost=1, threads=1, max_waiting=0)
        async with PasswordHasher(settings) as hasher:
            for _ in range(3):
                with pytest.raises(InvalidHashError):
                    await hasher.verify("garbage", "pw")
            assert (await hasher.hash("pw")).startswith("$argon2id$")

    async def test_usable_again_after_stop(self):
        """stop() shuts the pool; the next call starts a new one."""
        hasher = PasswordHasher(FAST)
        await hasher.start()
        await hasher.stop()
        await hasher.stop()  # idempotent
        assert await hasher.verify(await hasher.hash("pw"), "pw") is True
        await hasher.stop()

    async def test_hashing_error_is_translated(self, monkeypatch):
        """argon2's HashingError becomes PasswordHashError with the cause kept."""

        def broken(self, password, *, salt=None):
            raise argon2.exceptions.HashingError("out of memory")

        monkeypatch.setattr(argon2.PasswordHasher, "hash", broken)
        async with PasswordHasher(FAST) as hasher:
            with pytest.raises(news_security.PasswordHashError, match="out of memory") as info:
                await hasher.hash("pw")
        assert isinstance(info.value.__cause__, argon2.exceptions.HashingError)
