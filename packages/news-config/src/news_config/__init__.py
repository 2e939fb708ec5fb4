"""Typed settings for news platform services: env, secret files and ``.env`` into msgspec Structs.

Settings are plain frozen, keyword-only `msgspec.Struct` classes, owned by the package that uses
them; news-config fills any Struct tree::

    import msgspec
    import news_config
    from typing import Annotated


    class DBSettings(msgspec.Struct, frozen=True, kw_only=True):
        host: str = "localhost"
        port: Annotated[int, msgspec.Meta(ge=1, le=65535, description="PostgreSQL port")] = 5432
        password: news_config.Secret


    class Settings(msgspec.Struct, frozen=True, kw_only=True):
        debug: bool = False
        db: DBSettings


    # NEWSROOM_DEBUG=yes  NEWSROOM_DB__PORT=6543  /run/secrets/NEWSROOM_DB__PASSWORD
    settings = news_config.load(Settings, prefix="NEWSROOM_", secrets_dir="/run/secrets")
    settings.db.password.reveal()  # the value; str()/repr() give "**********"

Precedence: process environment > secret files > ``.env`` file > Struct defaults. Every bad or
missing variable is reported at once in one `ConfigError` (also a `ValueError`), each by its full
env name; ``exc.errors`` holds them as `ConfigErrorItem` values. `explain` tells where each
value came from; `env_example` writes a ``.env`` template; `describe` lists every variable
(for generated docs). From a shell::

    python -m news_config myservice.settings:Settings --prefix NEWSROOM_ [--check | --env-example]

`Secret` is the platform's one secret type (every package holding a password depends on
news-config for it); `is_secret` is the one rule that recognises one (a class attribute
``__news_secret__ = True``, which news-log and news-api apply too). Secret values are never shown in
errors or CLI output; ``msgspec.json.encode(settings, enc_hook=news_config.enc_hook)`` encodes
them as the mask.

Hot reload: `watch` loads like `load` and returns a `Watcher` whose ``current`` follows the
``.env`` file and the secrets directory (Kubernetes ``..data`` swaps included) while it runs;
fields marked ``msgspec.Meta(extra={"live": True})`` change live (``on_change`` applies them),
others are logged as needing a restart, and an invalid change is logged and kept out::

    watcher = news_config.watch(
        Settings, prefix="NEWSROOM_", secrets_dir="/etc/newsroom", on_change=apply
    )
    app.manage(watcher)  # or: async with watcher: ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from news_config.__about__ import __version__
from news_config._errors import (
    ConfigError,
    ConfigErrorItem,
    NewsConfigError,
    SchemaError,
    Source,
    SourceError,
)
from news_config._loader import SettingInfo, explain, load
from news_config._render import SettingSpec, describe, env_example
from news_config._secret import Secret, enc_hook, is_secret, is_secret_type

if TYPE_CHECKING:
    from news_config._watch import Change, Reload, Watcher, watch

# Hot reload needs asyncio (~20-40 ms to import): loaded on first use of these names (PEP 562),
# so that services that only `load` do not pay for it.
_LAZY = frozenset({"Change", "Reload", "Watcher", "watch"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from news_config import _watch

        value = getattr(_watch, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'news_config' has no attribute {name!r}")


# Tracebacks, reprs and docs name the public home (news_config.ConfigError), not the private module.
for _public in (
    ConfigError,
    ConfigErrorItem,
    NewsConfigError,
    SchemaError,
    Secret,
    SettingInfo,
    SettingSpec,
    Source,
    SourceError,
    describe,
    enc_hook,
    env_example,
    explain,
    is_secret,
    is_secret_type,
    load,
):
    _public.__module__ = __name__
del _public

__all__ = [
    "Change",
    "ConfigError",
    "ConfigErrorItem",
    "NewsConfigError",
    "Reload",
    "SchemaError",
    "Secret",
    "SettingInfo",
    "SettingSpec",
    "Source",
    "SourceError",
    "Watcher",
    "__version__",
    "describe",
    "enc_hook",
    "env_example",
    "explain",
    "is_secret",
    "is_secret_type",
    "load",
    "watch",
]
