"""SchemaRegistry against news-testing's registry: the REST calls, caches, errors, outages."""

from __future__ import annotations

import asyncio
import json

import msgspec
import pytest

import news_schema
from news_schema import Schema, SchemaRegistry


class Event(msgspec.Struct):
    id: int
    kind: str


def avro(fields: list[dict[str, object]], name: str = "Event") -> Schema:
    """An Avro record schema."""
    return Schema(schema=json.dumps({"type": "record", "name": name, "fields": fields}))


V1 = avro([{"name": "id", "type": "long"}, {"name": "kind", "type": "string"}])
V2 = avro(
    [
        {"name": "id", "type": "long"},
        {"name": "kind", "type": "string"},
        {"name": "source", "type": "string", "default": "web"},
    ]
)


class TestRegistry:
    async def test_register_returns_one_id_per_schema_and_caches_it(
        self, registry, schema_registry
    ):
        """The same schema gets the same id, in any subject; a repeat makes no request."""
        first = await registry.register("a-value", V1)
        assert await registry.register("a-value", V1) == first
        assert schema_registry.requests["POST /subjects/{subject}/versions"] == 1
        assert await registry.register("b-value", V1) == first
        assert await registry.register("a-value", V2) != first
        latest = await registry.get_latest("a-value")
        assert (latest.version, latest.schema.schema) == (2, V2.schema)
        assert await registry.versions("a-value") == [1, 2]
        assert sorted(await registry.subjects()) == ["a-value", "b-value"]

    async def test_schema_by_id_is_cached_for_good(self, schema_registry_settings, schema_registry):
        """get_schema asks once per id, also for many concurrent callers."""
        async with SchemaRegistry(schema_registry_settings) as writer:
            schema_id = await writer.register("a-value", V1)
        async with SchemaRegistry(schema_registry_settings) as reader:
            got = await asyncio.gather(*(reader.get_schema(schema_id) for _ in range(10)))
            assert {s.schema for s in got} == {V1.schema}
            assert await reader.get_schema(schema_id) == V1
        assert schema_registry.requests["GET /schemas/ids/{id}"] == 1

    async def test_latest_is_cached_for_its_ttl_and_dropped_on_delete(
        self, schema_registry_settings, schema_registry
    ):
        """A subject's latest version is kept latest_ttl seconds; deleting it forgets it."""
        settings = msgspec.structs.replace(schema_registry_settings, latest_ttl=3600.0)
        async with SchemaRegistry(settings) as cached, SchemaRegistry(settings) as other:
            await other.register("a-value", V1)
            assert (await cached.get_latest("a-value")).version == 1
            await other.register("a-value", V2)
            assert (await cached.get_latest("a-value")).version == 1  # within the TTL
            assert schema_registry.requests["GET /subjects/{subject}/versions/{version}"] == 1
            assert await cached.delete_subject("a-value") == [1, 2]
            with pytest.raises(news_schema.SchemaNotFoundError) as missing:
                await cached.get_latest("a-value")
            assert missing.value.subject == "a-value"
            assert "a-value" in str(missing.value)
            # registered again after the delete: a request, not the forgotten cache
            await cached.register("a-value", V1)
            assert schema_registry.requests["POST /subjects/{subject}/versions"] == 3
            assert (await cached.get_latest("a-value")).version == 3

    async def test_zero_ttl_asks_every_time(self, schema_registry_settings, schema_registry):
        """latest_ttl=0 fetches the latest version on every call."""
        settings = msgspec.structs.replace(schema_registry_settings, latest_ttl=0.0)
        async with SchemaRegistry(settings) as client:
            await client.register("a-value", V1)
            await client.get_latest("a-value")
            await client.get_latest("a-value")
        assert schema_registry.requests["GET /subjects/{subject}/versions/{version}"] == 2

    async def test_lookup_finds_registered_schemas_only(self, registry):
        """Lookup returns subject, version and id of a registered schema; else not found."""
        schema_id = await registry.register("a-value", V1)
        found = await registry.lookup("a-value", V1)
        assert (found.subject, found.version, found.schema_id) == ("a-value", 1, schema_id)
        with pytest.raises(news_schema.SchemaNotFoundError):
            await registry.lookup("a-value", V2)

    async def test_compatibility_is_checked_without_registering(self, registry):
        """check_compatibility says why a schema breaks the rule; nothing is registered."""
        await registry.register("a-value", V1)
        breaking = avro([{"name": "id", "type": "long"}, {"name": "new", "type": "string"}])
        verdict = await registry.check_compatibility("a-value", breaking)
        assert not verdict.compatible
        assert any("new" in m for m in verdict.messages)
        assert (await registry.check_compatibility("a-value", V2)).compatible
        assert (await registry.check_compatibility("no-such-value", breaking)).compatible
        assert await registry.versions("a-value") == [1]

    async def test_incompatible_registration_is_refused_naming_the_subject(self, registry):
        """Registering a schema the rule refuses raises IncompatibleSchemaError."""
        await registry.register("a-value", V1)
        breaking = avro([{"name": "id", "type": "string"}])
        with pytest.raises(news_schema.IncompatibleSchemaError) as refused:
            await registry.register("a-value", breaking)
        assert refused.value.subject == "a-value"
        assert refused.value.error_code == 409
        assert "'a-value'" in str(refused.value)
        await registry.set_compatibility("NONE", "a-value")
        assert await registry.get_compatibility("a-value") == "NONE"
        assert await registry.register("a-value", breaking) > 0
        assert await registry.get_compatibility() == "BACKWARD"

    async def test_invalid_schema_and_missing_version_errors(self, registry):
        """An unparsable schema and a missing version raise errors that say so."""
        with pytest.raises(news_schema.InvalidSchemaError) as invalid:
            await registry.register("a-value", Schema(schema='{"type": "nope"}'))
        assert invalid.value.subject == "a-value"
        await registry.register("a-value", V1)
        with pytest.raises(news_schema.SchemaNotFoundError) as missing:
            await registry.get_version("a-value", 9)
        assert missing.value.version == 9
        with pytest.raises(news_schema.SchemaNotFoundError) as no_id:
            await registry.get_schema(12345)
        assert no_id.value.schema_id == 12345

    async def test_basic_auth_and_settings_validation(self):
        """Credentials belong in username/password (a Secret), never in the URL."""
        with pytest.raises(news_schema.SchemaConfigError, match="credentials"):
            news_schema.RegistrySettings(url="http://user:pw@registry:8081")
        with pytest.raises(news_schema.SchemaConfigError, match="not http"):
            news_schema.RegistrySettings(url="registry:8081")
        settings = news_schema.RegistrySettings(url="https://registry:8081", username="key")
        assert settings.client_settings().base_url == "https://registry:8081"


class TestOutage:
    async def test_cached_ids_keep_working_and_new_subjects_fail_clearly(
        self, registry, schema_registry
    ):
        """With the registry down, prepared topics and loaded ids work; new subjects fail fast."""
        serializer = news_schema.AvroSerializer(registry, Event)
        deserializer = news_schema.AvroDeserializer(registry, Event)
        await serializer.prepare("events")
        data = serializer.serialize("events", Event(1, "click"))
        await deserializer.prepare("events", data)

        schema_registry.stop()
        assert await serializer.prepare("events") == news_schema.schema_id_of(data)
        assert serializer.serialize("events", Event(2, "view"))[:5] == data[:5]
        assert deserializer.deserialize("events", data) == Event(1, "click")
        await deserializer.prepare("events", data)  # loaded: no request
        with pytest.raises(news_schema.RegistryUnavailableError) as down:
            await serializer.prepare("other-events")
        assert down.value.subject == "other-events-value"
        assert "other-events-value" in str(down.value)
        assert schema_registry.url in str(down.value)
        with pytest.raises(news_schema.UnknownSchemaError):
            news_schema.AvroDeserializer(registry, Event).deserialize("events", data)

        schema_registry.start()  # back, same port and state
        assert await serializer.prepare("other-events") == news_schema.schema_id_of(data)


class TestCredentials:
    async def test_basic_auth_from_a_secret_reaches_the_registry(self):
        """A username and a Secret password go as basic auth; wrong ones fail clearly."""
        import news_config
        from news_testing import SchemaRegistryServer, registry_test_settings

        with SchemaRegistryServer(credentials=("key", "s3cret")) as server:
            good = msgspec.structs.replace(
                registry_test_settings(server.url),
                username="key",
                password=news_config.Secret("s3cret"),
            )
            async with SchemaRegistry(good) as client:
                assert await client.register("a-value", V1) > 0
            assert "s3cret" not in repr(good)
            bad = msgspec.structs.replace(good, password=news_config.Secret("nope"))
            async with SchemaRegistry(bad) as client:
                with pytest.raises(news_schema.RegistryError) as refused:
                    await client.register("b-value", V1)
            assert "credentials" in str(refused.value)
            assert refused.value.subject == "b-value"
            assert server.requests["unauthorized"] == 1
