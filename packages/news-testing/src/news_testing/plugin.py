"""The pytest plugin (entry point ``pytest11``): fixtures for real brokers and servers.

It must stay cheap to import: pytest loads it in every session of every project that has
news-testing installed. Heavy libraries (aiokafka, httpx) are imported inside fixtures.
"""

from __future__ import annotations

pytest_plugins = [
    "news_testing._kafka_fixtures",
    "news_testing._http_fixtures",
    "news_testing._oidc_fixtures",
    "news_testing._postgres_fixtures",
    "news_testing._redis_fixtures",
    "news_testing._mongo_fixtures",
    "news_testing._schema_fixtures",
]
