"""pytest plugin for news platform services: real Kafka broker, HTTP servers, record capture.

Installed, it registers its fixtures with pytest by itself (entry point ``pytest11``).

Kafka (``pip install 'news-testing[kafka]'``)::

    async def test_publishes_article(kafka_settings, kafka_topic, kafka_bootstrap):
        topic = kafka_topic(partitions=3)  # a fresh topic, deleted afterwards
        async with news_testing.KafkaCapture(kafka_bootstrap, topic, value_type=Article) as cap:
            await publish_article(kafka_settings, topic, Article(id=7))
            [record] = await cap.wait_for(1, timeout=10)
        assert record.value.id == 7

Fixtures: ``kafka_broker`` (session), ``kafka_private_broker`` (fault tests: stop/restart),
``kafka_bootstrap``, ``kafka_settings``, ``kafka_topic``, ``kafka_mock_cluster``. Outside
pytest, ``python -m news_testing.kafka`` runs a local broker for development.

HTTP (``pip install 'news-testing[http]'``): serve a news-http app in a real server process on a
free port, call it with httpx, read its JSON log lines, stop it with a chosen signal::

    from news_testing import kafka_env, serve_app


    def test_unknown_article_is_a_problem(kafka_bootstrap):
        env = kafka_env(kafka_bootstrap, prefix="ARTICLES_KAFKA__")  # the test broker, as env
        with serve_app("articles.main:app", env=env) as server:
            response = server.client().get("/articles/999")
            assert response.status_code == 404
            line = server.wait_for_log(logger="news_http.access", status=404)
            assert line["request_id"] == response.headers["x-request-id"]
        assert server.result.exit_code == 0  # SIGTERM: drained, hooks ran, exit 0

Fixture: ``http_server`` (starts apps like `start_app`; stops them after the test).

OpenID provider (``pip install 'news-testing[auth]'``; Node.js 20+ and npm on the machine): npm's
oidc-provider on a loopback port, installed into a cache folder on first use, issuing RFC 9068
access tokens for the client-credentials grant::

    async def test_token_is_accepted(oidc_provider):
        verifier = news_auth.JWTVerifier(oidc_provider.jwt_settings())
        principal = await verifier.verify(oidc_provider.token(scope="articles:write"))
        assert principal.has_scopes("articles:write")

Fixtures: ``oidc_provider`` (session), ``oidc_private_provider`` (fault tests: stop, start,
key rotation, JWKS request counts).

PostgreSQL (``pip install 'news-testing[db]'``): a fresh database per test, cloned from a
template that holds the service's migrations (override ``postgres_migrations``)::

    @pytest.fixture
    def postgres_migrations():
        return "newsroom:migrations"


    async def test_stores_article(postgres):
        postgres.load("tests/fixtures/sections.json")  # or .sql files
        async with news_db.Database(postgres.settings()) as db:
            ...

Fixtures: ``postgres``, ``postgres_server``, ``postgres_migrations``, ``postgres_private``
(a cluster of the test's own for fault tests); `PgBouncer` runs pgbouncer in front of one.

Redis (``pip install 'news-testing[redis]'``; ``redis-server`` on the PATH): a private server
per session, flushed before each test, restartable for fault tests::

    async def test_counts(redis, redis_settings):
        async with news_redis.Redis(redis_settings) as client:
            await client.execute("INCR", "hits")
        redis.restart()  # same port, empty

Fixtures: ``redis``, ``redis_server`` (session), ``redis_private_server``, ``redis_settings``.

MongoDB (``pip install 'news-testing[mongo]'`` and, for the private server, ``secantusdb``): a
SecantusDB server per session (or ``NEWS_TEST_MONGO_URI``), a fresh database per test::

    async def test_stores(mongo_settings):
        async with news_mongo.Mongo(mongo_settings) as client:
            await client.collection("articles").insert_one({"_id": 1})

Fixtures: ``mongo``, ``mongo_server`` (session), ``mongo_private_server``, ``mongo_settings``.

Hot reload: `ConfigVolume` is a directory that ``write``/``update`` change exactly as the kubelet
updates a mounted ConfigMap or Secret (a new ``..<timestamp>`` directory, ``..data_tmp`` renamed
over ``..data``), for testing ``news_config.watch`` against a served app.

A Confluent-compatible Schema Registry (``pip install 'news-testing[schema]'``), in this
process on a free loopback port, with BACKWARD/FORWARD/FULL rules for Avro and JSON Schema::

    async def test_registers(schema_registry, schema_registry_settings):
        async with news_schema.SchemaRegistry(schema_registry_settings) as registry:
            ...
        schema_registry.stop()  # an outage; .start() brings it back, same port and state

Fixtures: ``schema_registry``, ``schema_registry_settings``.

Errors derive from `NewsTestingError`. Every public name is imported on first use, so that
``import news_testing`` (which pytest does in every session) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from news_testing.__about__ import __version__

if TYPE_CHECKING:
    from news_testing._env import kafka_env, settings_env
    from news_testing._errors import (
        AppStartError,
        BrokerStartError,
        CaptureError,
        ExternalClusterError,
        NewsTestingError,
        WaitTimeoutError,
    )
    from news_testing._net import free_port
    from news_testing.http import ServerProcess, StopResult, serve_app, start_app
    from news_testing.kafka import (
        BOOTSTRAP_ENV,
        CapturedRecord,
        KafkaBroker,
        KafkaCapture,
        KafkaMockCluster,
        kafka_test_settings,
        publish_raw,
    )
    from news_testing.mongo import (
        MONGO_URI_ENV,
        MongoServer,
        MongoStartError,
        MongoTestDatabase,
        mongo_test_settings,
    )
    from news_testing.oidc import (
        DEFAULT_AUDIENCE,
        DEFAULT_CLIENT_ID,
        ES256_AUDIENCE,
        OIDCClient,
        OIDCProvider,
        OIDCProviderError,
    )
    from news_testing.postgres import (
        POSTGRES_DSN_ENV,
        PgBouncer,
        PostgresServer,
        PostgresStartError,
        PrivatePostgres,
        TestDatabase,
    )
    from news_testing.redis import REDIS_URL_ENV, RedisServer, RedisStartError, redis_test_settings
    from news_testing.schema_registry import (
        SchemaRegistryServer,
        SchemaRegistryStartError,
        registry_test_settings,
    )
    from news_testing.volume import ConfigVolume

# Public name -> the module defining it, imported when the name is first used (PEP 562). A new
# fixture module (postgres.py, redis.py...) adds its public names here and to __all__.
_EXPORTS: dict[str, str] = {
    "AppStartError": "news_testing._errors",
    "BOOTSTRAP_ENV": "news_testing.kafka",
    "BrokerStartError": "news_testing._errors",
    "CaptureError": "news_testing._errors",
    "CapturedRecord": "news_testing.kafka",
    "ConfigVolume": "news_testing.volume",
    "DEFAULT_AUDIENCE": "news_testing.oidc",
    "DEFAULT_CLIENT_ID": "news_testing.oidc",
    "ES256_AUDIENCE": "news_testing.oidc",
    "ExternalClusterError": "news_testing._errors",
    "KafkaBroker": "news_testing.kafka",
    "KafkaCapture": "news_testing.kafka",
    "KafkaMockCluster": "news_testing.kafka",
    "MONGO_URI_ENV": "news_testing.mongo",
    "MongoServer": "news_testing.mongo",
    "MongoStartError": "news_testing.mongo",
    "MongoTestDatabase": "news_testing.mongo",
    "NewsTestingError": "news_testing._errors",
    "OIDCClient": "news_testing.oidc",
    "OIDCProvider": "news_testing.oidc",
    "OIDCProviderError": "news_testing.oidc",
    "POSTGRES_DSN_ENV": "news_testing.postgres",
    "PgBouncer": "news_testing.postgres",
    "PostgresServer": "news_testing.postgres",
    "PostgresStartError": "news_testing.postgres",
    "PrivatePostgres": "news_testing.postgres",
    "REDIS_URL_ENV": "news_testing.redis",
    "RedisServer": "news_testing.redis",
    "RedisStartError": "news_testing.redis",
    "SchemaRegistryServer": "news_testing.schema_registry",
    "SchemaRegistryStartError": "news_testing.schema_registry",
    "ServerProcess": "news_testing.http",
    "StopResult": "news_testing.http",
    "TestDatabase": "news_testing.postgres",
    "WaitTimeoutError": "news_testing._errors",
    "free_port": "news_testing._net",
    "kafka_env": "news_testing._env",
    "redis_test_settings": "news_testing.redis",
    "registry_test_settings": "news_testing.schema_registry",
    "kafka_test_settings": "news_testing.kafka",
    "mongo_test_settings": "news_testing.mongo",
    "publish_raw": "news_testing.kafka",
    "serve_app": "news_testing.http",
    "settings_env": "news_testing._env",
    "start_app": "news_testing.http",
}


__all__ = [
    "BOOTSTRAP_ENV",
    "DEFAULT_AUDIENCE",
    "DEFAULT_CLIENT_ID",
    "ES256_AUDIENCE",
    "MONGO_URI_ENV",
    "POSTGRES_DSN_ENV",
    "REDIS_URL_ENV",
    "AppStartError",
    "BrokerStartError",
    "CaptureError",
    "CapturedRecord",
    "ConfigVolume",
    "ExternalClusterError",
    "KafkaBroker",
    "KafkaCapture",
    "KafkaMockCluster",
    "MongoServer",
    "MongoStartError",
    "MongoTestDatabase",
    "NewsTestingError",
    "OIDCClient",
    "OIDCProvider",
    "OIDCProviderError",
    "PgBouncer",
    "PostgresServer",
    "PostgresStartError",
    "PrivatePostgres",
    "RedisServer",
    "RedisStartError",
    "SchemaRegistryServer",
    "SchemaRegistryStartError",
    "ServerProcess",
    "StopResult",
    "TestDatabase",
    "WaitTimeoutError",
    "__version__",
    "free_port",
    "kafka_env",
    "kafka_test_settings",
    "mongo_test_settings",
    "publish_raw",
    "redis_test_settings",
    "registry_test_settings",
    "serve_app",
    "settings_env",
    "start_app",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
