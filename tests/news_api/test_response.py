import datetime as dt
import decimal
import enum
import uuid

import msgspec
import pytest

import news_api


class Article(msgspec.Struct):
    id: int
    title: str
    published: dt.datetime | None = None


class Section(enum.Enum):
    WORLD = "world"


class TestOk:
    def test_envelope_holds_data_only_by_default(self):
        """ok() wraps the payload under "data" and leaves meta/links out."""
        response = news_api.ok({"id": 1, "title": "x"})
        assert response.status == 200
        assert response.headers == {"content-type": "application/json"}
        assert response.body == b'{"data":{"id":1,"title":"x"}}'

    def test_meta_and_links_in_order(self):
        """Meta and links appear after data, in that order, when given."""
        response = news_api.ok([1], meta={"total": 1}, links={"self": "/a"})
        assert response.body == b'{"data":[1],"meta":{"total":1},"links":{"self":"/a"}}'

    def test_null_data_is_kept(self):
        """data=None is encoded as null (the member is never dropped)."""
        assert news_api.ok(None).body == b'{"data":null}'

    def test_structs_datetimes_uuids_decimals_enums(self):
        """Structs, aware datetimes, UUIDs, Decimals and enums encode with msgspec's rules."""
        when = dt.datetime(2026, 11, 24, 5, 21, 11, tzinfo=dt.UTC)
        ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
        response = news_api.ok(
            {
                "article": Article(1, "x", when),
                "id": ident,
                "price": decimal.Decimal("1.10"),
                "section": Section.WORLD,
            }
        )
        assert response.json() == {
            "data": {
                "article": {"id": 1, "title": "x", "published": "2026-11-24T05:21:11Z"},
                "id": "12345678-1234-5678-1234-567812345678",
                "price": "1.10",
                "section": "world",
            }
        }

    def test_raw_json_is_embedded(self):
        """msgspec.Raw embeds pre-encoded JSON without re-encoding it."""
        response = news_api.ok(msgspec.Raw(b'{"cached":true}'))
        assert response.body == b'{"data":{"cached":true}}'

    def test_custom_status_and_headers_lowercased(self):
        """status= and headers= are applied; header names become lower case."""
        response = news_api.ok({}, status=202, headers={"X-Job-ID": "j1"})
        assert response.status == 202
        assert response.headers == {"content-type": "application/json", "x-job-id": "j1"}

    def test_unencodable_data_raises_type_error(self):
        """A value msgspec cannot encode raises TypeError (a programming error, not a 4xx)."""
        with pytest.raises(TypeError):
            news_api.ok({"x": object()})

    @pytest.mark.parametrize("value", ["a\r\nSet-Cookie: x=1", "a\nb", "a\0"])
    def test_header_injection_is_refused(self, value):
        """Header values with CR, LF or NUL are refused (response splitting)."""
        with pytest.raises(ValueError, match="CR, LF or NUL"):
            news_api.ok({}, headers={"x-a": value})

    def test_each_response_owns_its_headers(self):
        """Two responses never share a headers dict."""
        first, second = news_api.ok(1), news_api.ok(2)
        first.headers["x-a"] = "1"
        assert "x-a" not in second.headers


class TestCreatedAndNoContent:
    def test_created_sets_201_and_location(self):
        """created() answers 201 with the Location header and the envelope."""
        response = news_api.created({"id": 7}, location="/v1/articles/7", meta={"v": 1})
        assert response.status == 201
        assert response.headers == {
            "content-type": "application/json",
            "location": "/v1/articles/7",
        }
        assert response.body == b'{"data":{"id":7},"meta":{"v":1}}'

    def test_created_refuses_empty_or_injected_location(self):
        """An empty Location or one carrying CR/LF is a usage error (also a ValueError)."""
        with pytest.raises(news_api.APIUsageError, match="location"):
            news_api.created({}, location="")
        with pytest.raises(ValueError, match="CR, LF"):
            news_api.created({}, location="/a\r\nx: y")

    def test_created_without_a_location(self):
        """A new resource without a URL of its own: 201 and no Location header."""
        response = news_api.created({"subscribed": True})
        assert response.status == 201
        assert "location" not in response.headers
        assert response.json() == {"data": {"subscribed": True}}

    def test_no_content_has_empty_body_and_no_content_type(self):
        """no_content() is 204 with an empty body and no content-type."""
        response = news_api.no_content()
        assert response == news_api.Response(204, {}, b"")
        assert response.content_type is None

    def test_no_content_keeps_extra_headers(self):
        """no_content(headers=...) carries the given headers only."""
        assert news_api.no_content(headers={"ETag": '"v2"'}).headers == {"etag": '"v2"'}


class TestResponseValue:
    def test_is_immutable(self):
        """Response fields cannot be reassigned."""
        response = news_api.ok(1)
        with pytest.raises(AttributeError):
            response.status = 500  # type: ignore[misc]

    def test_with_headers_returns_a_copy(self):
        """with_headers() adds headers to a copy and leaves the original alone."""
        response = news_api.ok(1)
        copy = response.with_headers({"X-Request-ID": "r-1"})
        assert copy.headers == {"content-type": "application/json", "x-request-id": "r-1"}
        assert response.headers == {"content-type": "application/json"}
        assert copy.body == response.body

    def test_content_type_property(self):
        """content_type reads the content-type header."""
        assert news_api.ok(1).content_type == "application/json"
        assert news_api.problem(404).content_type == "application/problem+json"

    def test_encode_json_uses_the_same_rules(self):
        """encode_json() encodes like the envelope does."""
        assert news_api.encode_json({"a": [1, "b"]}) == b'{"a":[1,"b"]}'


class TestAdapters:
    def test_to_asgi(self):
        """to_asgi() gives status, latin-1 header pairs with content-length, and the body."""
        status, headers, body = news_api.to_asgi(news_api.created({"id": 1}, location="/a/1"))
        assert status == 201
        assert headers == [
            (b"content-type", b"application/json"),
            (b"location", b"/a/1"),
            (b"content-length", b"17"),
        ]
        assert body == b'{"data":{"id":1}}'

    def test_to_asgi_no_content_has_no_length(self):
        """A 204 gets no content-length header from to_asgi()."""
        assert news_api.to_asgi(news_api.no_content()) == (204, [], b"")

    def test_to_wsgi(self):
        """to_wsgi() gives the status line, str header pairs and the body."""
        status, headers, body = news_api.to_wsgi(news_api.problem(404))
        assert status == "404 Not Found"
        assert headers[0] == ("content-type", "application/problem+json")
        assert headers[-1] == ("content-length", str(len(body)))

    def test_to_wsgi_unknown_status(self):
        """A non-standard status still gets a status line."""
        status, _, _ = news_api.to_wsgi(news_api.Response(599, {}, b""))
        assert status == "599 Unknown"
