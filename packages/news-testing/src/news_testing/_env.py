"""Settings as environment variables, for apps served in another process.

A served app (`serve_app`) or a ``python -m`` service reads its settings from the environment
with news-config; a test holds them as Structs (``kafka_settings``). These functions turn the
Struct into the variables from which ``news_config.load(type(settings), prefix=prefix)`` gives
it back: only the fields that differ from the Struct's defaults, nested Structs joined by
``__``, booleans as ``true``/``false``, sequences comma-separated, dicts as JSON, ``None`` as
the empty string.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["kafka_env", "settings_env"]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _reveal(value: Any) -> Any:
    reveal = getattr(value, "reveal", None)  # news_config.Secret: its value goes in the variable
    if callable(reveal):
        return reveal()
    raise NotImplementedError(f"cannot put a {type(value).__name__} in an environment variable")


def _changed(actual: dict[str, Any], default: dict[str, Any], prefix: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for name, value in actual.items():
        key = f"{prefix}{name.upper()}"
        if isinstance(value, dict) and isinstance(default.get(name), dict):
            env.update(_changed(value, default[name], f"{key}__"))
        elif value != default.get(name):
            env[key] = _text(value)
    return env


def settings_env(settings: Any, *, prefix: str) -> dict[str, str]:
    """The environment variables from which news-config loads exactly ``settings``.

    Args:
        settings: A settings Struct whose type can be built without arguments (every field
            defaulted), e.g. ``news_http.HTTPSettings(port=9000)``.
        prefix: The prefix the service loads this Struct with, nesting included: for
            ``Settings.kafka`` loaded with ``prefix="COMMENTS_"``, ``"COMMENTS_KAFKA__"``.

    Returns:
        Variable name -> value, for the fields that differ from the defaults.
    """
    import msgspec

    actual = msgspec.to_builtins(settings, enc_hook=_reveal)
    default = msgspec.to_builtins(type(settings)(), enc_hook=_reveal)
    return _changed(actual, default, prefix)


def kafka_env(bootstrap: str, *, prefix: str = "KAFKA_", **overrides: Any) -> dict[str, str]:
    """`kafka_test_settings` as environment variables, for an app served in another process.

    ``serve_app("comments.app:app", env=kafka_env(kafka_bootstrap, prefix="COMMENTS_KAFKA__"))``
    gives the served app the same Kafka settings as the ``kafka_settings`` fixture: the test
    broker, idempotence off (Tansu rejects the idempotent producer), short session timeouts.

    Args:
        bootstrap: The broker (``kafka_bootstrap``).
        prefix: The prefix of the app's ``KafkaSettings`` variables, nesting included.
        **overrides: Top-level fields replaced, as for `kafka_test_settings`.

    Needs ``pip install 'news-testing[kafka]'``.
    """
    from news_testing.kafka import kafka_test_settings

    return settings_env(kafka_test_settings(bootstrap, **overrides), prefix=prefix)


for _public in (kafka_env, settings_env):
    _public.__module__ = "news_testing"  # their public home
del _public
