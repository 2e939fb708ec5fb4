import datetime as dt
import pickle

import pytest

import news_api

BASE = news_api.DEFAULT_PROBLEM_TYPE_BASE


@pytest.fixture(autouse=True)
def _restore_type_base():
    yield
    news_api.set_problem_type_base(BASE)


class TestProblem:
    def test_minimal_problem(self):
        """problem(404) fills type about:blank and the status phrase as title."""
        response = news_api.problem(404)
        assert response.status == 404
        assert response.headers == {"content-type": "application/problem+json"}
        assert response.body == b'{"type":"about:blank","title":"Not Found","status":404}'

    def test_all_members_in_order(self):
        """Every member appears in the documented order, extensions last."""
        response = news_api.problem(
            409,
            title="Article is locked",
            detail="locked until 10:30",
            type="https://errors.example/locked",
            instance="/v1/articles/7",
            request_id="r-1",
            code="article_locked",
            errors=[news_api.FieldError("slug", "taken")],
            locked_by=12,
        )
        assert response.body == (
            b'{"type":"https://errors.example/locked","title":"Article is locked",'
            b'"status":409,"detail":"locked until 10:30","instance":"/v1/articles/7",'
            b'"code":"article_locked","request_id":"r-1",'
            b'"errors":[{"field":"slug","message":"taken"}],"locked_by":12}'
        )

    def test_extension_cannot_override_standard_member(self):
        """A standard member's name always binds to its named argument: never an extension."""
        with pytest.raises(TypeError, match="status"):
            news_api.problem(400, status=200, locked_by=1)
        body = news_api.problem(409, code="locked", locked_by=1).json()
        assert body["code"] == "locked"
        assert list(body)[-1] == "locked_by"

    def test_headers_are_added(self):
        """headers= adds lower-cased headers next to the problem content type."""
        response = news_api.problem(503, headers={"Retry-After": "5"})
        assert response.headers == {
            "content-type": "application/problem+json",
            "retry-after": "5",
        }

    def test_unknown_status_title(self):
        """A status without a standard phrase gets the title "Error"."""
        assert news_api.problem(499).json()["title"] == "Error"
        assert news_api.problem(599).json()["title"] == "Error"

    def test_unknown_non_error_status_title(self):
        """A status below 400 without a standard phrase gets the title "Unknown"."""
        assert news_api.problem(299).json()["title"] == "Unknown"
        assert news_api.problem(399).json()["title"] == "Unknown"


class TestErrorCatalogue:
    @pytest.mark.parametrize(
        ("cls", "status", "code", "title"),
        [
            (news_api.BadRequest, 400, "bad_request", "Bad Request"),
            (news_api.Unauthorized, 401, "unauthorized", "Unauthorized"),
            (news_api.Forbidden, 403, "forbidden", "Forbidden"),
            (news_api.NotFound, 404, "not_found", "Not Found"),
            (news_api.MethodNotAllowed, 405, "method_not_allowed", "Method Not Allowed"),
            (news_api.Conflict, 409, "conflict", "Conflict"),
            (news_api.PayloadTooLarge, 413, "payload_too_large", "Payload Too Large"),
            (
                news_api.UnsupportedMediaType,
                415,
                "unsupported_media_type",
                "Unsupported Media Type",
            ),
            (news_api.ValidationFailed, 422, "validation_failed", "Validation failed"),
            (news_api.TooManyRequests, 429, "too_many_requests", "Too Many Requests"),
            (news_api.InternalServerError, 500, "internal_error", "Internal Server Error"),
            (news_api.ServiceUnavailable, 503, "service_unavailable", "Service Unavailable"),
            (news_api.GatewayTimeout, 504, "gateway_timeout", "Gateway Timeout"),
            (news_api.MalformedJSON, 400, "malformed_json", "Malformed JSON"),
            (news_api.MissingBody, 400, "body_required", "Request body required"),
            (news_api.InvalidCursor, 400, "invalid_cursor", "Invalid cursor"),
        ],
    )
    def test_class_attributes_and_rendering(self, cls, status, code, title):
        """Each class has its status, code, title and a type URI derived from the code."""
        assert issubclass(cls, news_api.APIError)
        assert (cls.status, cls.code, cls.title) == (status, code, title)
        assert cls.type == BASE + code
        body = cls("what happened").to_response(request_id="r-9", instance="/x").json()
        assert body == {
            "type": BASE + code,
            "title": title,
            "status": status,
            "detail": "what happened",
            "instance": "/x",
            "code": code,
            "request_id": "r-9",
            **({"errors": []} if cls is news_api.ValidationFailed else {}),
        }

    def test_subclasses_of_bad_request(self):
        """The errors of decode and of cursors are BadRequests (callers may catch the family)."""
        for cls in (news_api.MalformedJSON, news_api.MissingBody, news_api.InvalidCursor):
            assert issubclass(cls, news_api.BadRequest)

    def test_detail_is_optional(self):
        """Without a detail the member is left out and str() gives the title."""
        error = news_api.NotFound()
        assert str(error) == "Not Found"
        assert "detail" not in error.to_response().json()

    def test_str_is_the_detail(self):
        """str(error) is the detail."""
        assert str(news_api.Conflict("version mismatch")) == "version mismatch"

    def test_extensions_become_members(self):
        """Keyword extensions are written as extra problem members."""
        body = news_api.Conflict("stale", current_version=3).to_response().json()
        assert body["current_version"] == 3

    @pytest.mark.parametrize(
        "member",  # detail is the named first argument: Python binds it there
        ["type", "title", "status", "instance", "code", "request_id", "errors"],
    )
    def test_extension_named_like_a_standard_member_is_refused(self, member):
        """An APIError extension that would replace a standard member fails when it is made."""
        with pytest.raises(news_api.APITypeError, match=member) as caught:
            news_api.Conflict("stale", **{member: "x", "current_version": 3})
        assert "Conflict" in str(caught.value)
        assert "current_version" not in str(caught.value)

    def test_extension_names_near_standard_ones_are_members(self):
        """Names that only resemble standard members (Type, status_code) are extensions."""
        body = news_api.Conflict("stale", Type="t", status_code=1, headers_sent=2)
        assert body.to_response().json() == {
            "type": BASE + "conflict",
            "title": "Conflict",
            "status": 409,
            "detail": "stale",
            "code": "conflict",
            "Type": "t",
            "status_code": 1,
            "headers_sent": 2,
        }

    @pytest.mark.parametrize(
        ("error", "own_header"),
        [
            (news_api.Unauthorized, "www-authenticate"),
            (lambda **kw: news_api.MethodNotAllowed(allow=["GET"], **kw), "allow"),
            (news_api.ValidationFailed, None),
            (lambda **kw: news_api.TooManyRequests(retry_after=1, **kw), "retry-after"),
            (lambda **kw: news_api.ServiceUnavailable(retry_after=1, **kw), "retry-after"),
            (news_api.Conflict, None),
        ],
    )
    def test_headers_reach_the_response_of_every_class(self, error, own_header):
        """headers= is sent by every class, next to the class's own header."""
        response = error(headers={"X-Reason": "quota"}).to_response()
        assert response.headers["x-reason"] == "quota"
        if own_header is not None:
            assert own_header in response.headers

    def test_args_hold_the_detail(self):
        """The exception's args are (detail,), however detail is passed, or () without one."""
        assert news_api.NotFound("no article 7").args == ("no article 7",)
        assert news_api.NotFound(detail="no article 7").args == ("no article 7",)
        assert news_api.NotFound().args == ()
        assert repr(news_api.Conflict(detail="stale")) == "Conflict('stale')"

    def test_retry_after_is_kept(self):
        """retry_after is kept on the error as given."""
        assert news_api.TooManyRequests(retry_after=5).retry_after == 5
        assert news_api.ServiceUnavailable(retry_after=2.5).retry_after == 2.5
        assert news_api.ServiceUnavailable().retry_after is None

    def test_instance_headers(self):
        """headers= on an error is sent with its response."""
        response = news_api.Forbidden(headers={"X-Reason": "quota"}).to_response()
        assert response.headers["x-reason"] == "quota"


class TestSpecialHeaders:
    def test_unauthorized_sends_bearer_challenge(self):
        """Unauthorized sends WWW-Authenticate: Bearer by default."""
        response = news_api.Unauthorized("token expired").to_response()
        assert response.status == 401
        assert response.headers["www-authenticate"] == "Bearer"

    def test_unauthorized_custom_or_no_challenge(self):
        """challenge= replaces the default; None sends no challenge."""
        custom = news_api.Unauthorized(challenge='ApiKey realm="news"').to_response()
        assert custom.headers["www-authenticate"] == 'ApiKey realm="news"'
        none = news_api.Unauthorized(challenge=None).to_response()
        assert "www-authenticate" not in none.headers

    def test_method_not_allowed_sends_allow(self):
        """MethodNotAllowed sends Allow with upper-cased, de-duplicated methods."""
        error = news_api.MethodNotAllowed(allow=["get", "PUT", "GET"])
        assert error.allow == ["GET", "PUT"]
        assert error.to_response().headers["allow"] == "GET, PUT"

    def test_method_not_allowed_without_methods_sends_empty_allow(self):
        """With no methods, Allow is still sent (RFC 9110 requires it), empty."""
        assert news_api.MethodNotAllowed().to_response().headers["allow"] == ""

    def test_too_many_requests_seconds(self):
        """TooManyRequests(retry_after=2.1) sends Retry-After: 3 (rounded up)."""
        response = news_api.TooManyRequests("slow down", retry_after=2.1).to_response()
        assert response.status == 429
        assert response.headers["retry-after"] == "3"

    def test_too_many_requests_http_date(self):
        """An aware datetime becomes an IMF-fixdate in GMT."""
        when = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
        response = news_api.TooManyRequests(retry_after=when).to_response()
        assert response.headers["retry-after"] == "Tue, 24 Nov 2026 05:00:00 GMT"

    @pytest.mark.parametrize(
        ("when", "expected"),
        [
            # one date per weekday and per month, across a year boundary and a leap day
            (dt.datetime(2024, 1, 1, 0, 0, 0, tzinfo=dt.UTC), "Mon, 01 Jan 2024 00:00:00 GMT"),
            (dt.datetime(2024, 2, 29, 23, 59, 59, tzinfo=dt.UTC), "Thu, 29 Feb 2024 23:59:59 GMT"),
            (dt.datetime(2025, 3, 5, 9, 8, 7, tzinfo=dt.UTC), "Wed, 05 Mar 2025 09:08:07 GMT"),
            (dt.datetime(2025, 4, 12, 12, 0, 0, tzinfo=dt.UTC), "Sat, 12 Apr 2025 12:00:00 GMT"),
            (dt.datetime(2025, 5, 18, 1, 2, 3, tzinfo=dt.UTC), "Sun, 18 May 2025 01:02:03 GMT"),
            (dt.datetime(2025, 6, 6, 6, 6, 6, tzinfo=dt.UTC), "Fri, 06 Jun 2025 06:06:06 GMT"),
            (dt.datetime(2025, 7, 15, 15, 30, 0, tzinfo=dt.UTC), "Tue, 15 Jul 2025 15:30:00 GMT"),
            (dt.datetime(2025, 8, 20, 20, 0, 0, tzinfo=dt.UTC), "Wed, 20 Aug 2025 20:00:00 GMT"),
            (dt.datetime(2025, 9, 25, 0, 0, 1, tzinfo=dt.UTC), "Thu, 25 Sep 2025 00:00:01 GMT"),
            (dt.datetime(2025, 10, 31, 10, 10, 10, tzinfo=dt.UTC), "Fri, 31 Oct 2025 10:10:10 GMT"),
            (dt.datetime(2025, 11, 30, 11, 11, 11, tzinfo=dt.UTC), "Sun, 30 Nov 2025 11:11:11 GMT"),
            (
                # 23:30 on 31 Dec at UTC-2 is 01:30 on 1 Jan in GMT: day, month and year move
                dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2))),
                "Thu, 01 Jan 2026 01:30:00 GMT",
            ),
            (dt.datetime(2025, 12, 22, 8, 0, 0, tzinfo=dt.UTC), "Mon, 22 Dec 2025 08:00:00 GMT"),
            (dt.datetime(999, 9, 9, 9, 9, 9, tzinfo=dt.UTC), "Mon, 09 Sep 0999 09:09:09 GMT"),
        ],
    )
    def test_retry_after_http_dates(self, when, expected):
        """Every weekday and month is spelled per RFC 9110, zero-padded, converted to GMT."""
        assert news_api.TooManyRequests(retry_after=when).headers["retry-after"] == expected
        assert news_api.ServiceUnavailable(retry_after=when).headers["retry-after"] == expected

    @pytest.mark.parametrize(
        ("seconds", "expected"),
        [(0, "0"), (0.0, "0"), (0.001, "1"), (1, "1"), (59.5, "60"), (120, "120")],
    )
    def test_retry_after_seconds_round_up(self, seconds, expected):
        """Seconds are whole, rounded up (a client never retries early); 0 is allowed."""
        assert news_api.TooManyRequests(retry_after=seconds).headers["retry-after"] == expected
        assert news_api.ServiceUnavailable(retry_after=seconds).headers["retry-after"] == expected

    def test_retry_after_rejects_nan(self):
        """NaN seconds are refused like negative ones."""
        with pytest.raises(news_api.APIUsageError, match=">= 0"):
            news_api.TooManyRequests(retry_after=float("nan"))
        with pytest.raises(news_api.APIUsageError, match=">= 0"):
            news_api.ServiceUnavailable(retry_after=-0.5)

    def test_retry_after_rejects_bad_values(self):
        """Negative seconds and naive datetimes are refused."""
        with pytest.raises(ValueError, match=">= 0"):
            news_api.TooManyRequests(retry_after=-1)
        with pytest.raises(ValueError, match="timezone-aware"):
            news_api.ServiceUnavailable(retry_after=dt.datetime(2026, 1, 1))

    def test_service_unavailable_retry_after_is_optional(self):
        """ServiceUnavailable sends Retry-After only when given."""
        assert "retry-after" not in news_api.ServiceUnavailable().to_response().headers
        with_retry = news_api.ServiceUnavailable(retry_after=30).to_response()
        assert with_retry.headers["retry-after"] == "30"


class TestValidationFailed:
    def test_errors_listed_and_detail_derived(self):
        """Field errors are listed; detail comes from the first one when not given."""
        error = news_api.ValidationFailed(
            errors=[("author.name", "must not be empty"), news_api.FieldError("tags[2]", "bad")]
        )
        body = error.to_response().json()
        assert body["detail"] == "author.name: must not be empty (and 1 more)"
        assert body["errors"] == [
            {"field": "author.name", "message": "must not be empty"},
            {"field": "tags[2]", "message": "bad"},
        ]

    def test_explicit_detail_is_kept_with_errors(self):
        """A detail given with errors is sent as given; the errors are still listed."""
        error = news_api.ValidationFailed(
            "the article is not valid", errors=[("title", "too long"), ("slug", "taken")]
        )
        assert error.detail == "the article is not valid"
        assert str(error) == "the article is not valid"
        body = error.to_response().json()
        assert body["detail"] == "the article is not valid"
        assert body["errors"] == [
            {"field": "title", "message": "too long"},
            {"field": "slug", "message": "taken"},
        ]

    def test_detail_from_a_single_error_and_from_the_body(self):
        """One error gives "field: message" without a count; a body-wide error its message."""
        assert news_api.ValidationFailed(errors=[("title", "too long")]).detail == (
            "title: too long"
        )
        assert news_api.ValidationFailed(errors=[("", "expected an object")]).detail == (
            "expected an object"
        )
        three = news_api.ValidationFailed(errors=[("a", "x"), ("b", "y"), ("c", "z")])
        assert three.detail == "a: x (and 2 more)"

    def test_no_errors_and_no_detail(self):
        """Without errors or detail there is no detail member and errors is an empty list."""
        body = news_api.ValidationFailed().to_response().json()
        assert "detail" not in body
        assert body["errors"] == []

    def test_for_field_keeps_extensions(self):
        """for_field() passes extension members on."""
        error = news_api.ValidationFailed.for_field("slug", "taken", suggestion="slug-2")
        assert error.to_response().json()["suggestion"] == "slug-2"

    def test_for_field(self):
        """for_field() builds a one-field error."""
        error = news_api.ValidationFailed.for_field("slug", "already taken")
        assert error.errors == [news_api.FieldError("slug", "already taken")]
        assert error.detail == "slug: already taken"


class TestServiceSubclasses:
    def test_subclass_with_own_code(self):
        """A subclass with its own code gets its own type URI and keeps the parent status."""

        class ArticleLocked(news_api.Conflict):
            code = "article_locked"
            title = "Article is locked"

        body = ArticleLocked("until 10:30", locked_by=12).to_response().json()
        assert body == {
            "type": BASE + "article_locked",
            "title": "Article is locked",
            "status": 409,
            "detail": "until 10:30",
            "code": "article_locked",
            "locked_by": 12,
        }
        assert isinstance(ArticleLocked(), news_api.Conflict)

    def test_new_status_gets_its_phrase_as_title(self):
        """A subclass that only sets status gets the status phrase as its title."""

        class Gone(news_api.APIError):
            status = 410
            code = "gone"

        assert Gone.title == "Gone"

    def test_explicit_type_is_kept_and_inherited(self):
        """An explicit type stays, and a child without its own code inherits it."""

        class Paywalled(news_api.Forbidden):
            code = "paywalled"
            type = "https://docs.newsroom.example/problems/paywall"

        class PaywalledSection(Paywalled):
            title = "Section is paywalled"

        news_api.set_problem_type_base("https://other.example/")
        assert Paywalled.type == "https://docs.newsroom.example/problems/paywall"
        assert PaywalledSection.type == Paywalled.type

    def test_status_bounds_are_400_and_599(self):
        """400 and 599 are accepted statuses for a subclass; 399 and 600 are not."""
        for status in (400, 599):
            cls = type("Edge", (news_api.APIError,), {"status": status, "code": "edge"})
            assert cls.status == status
        for status in (399, 600):
            with pytest.raises(news_api.APITypeError, match="400-599"):
                type("Off", (news_api.APIError,), {"status": status, "code": "off"})

    def test_a_child_keeps_its_parents_title(self):
        """A subclass setting only its code keeps its parent's custom title (not the phrase)."""

        class Paywalled(news_api.Forbidden):
            code = "paywalled"
            title = "Subscription required"

        class Metered(Paywalled):
            code = "metered"

        assert Metered.title == "Subscription required"

    def test_a_child_with_its_own_code_gets_its_own_type(self):
        """Below a parent with an explicit type, a child with its own code gets a derived type."""

        class Paywalled(news_api.Forbidden):
            code = "paywalled"
            type = "https://docs.newsroom.example/problems/paywall"

        class Metered(Paywalled):
            code = "metered"

        assert Metered.type == BASE + "metered"
        news_api.set_problem_type_base("https://other.example/")
        assert Metered.type == "https://other.example/metered"
        assert Paywalled.type == "https://docs.newsroom.example/problems/paywall"

    def test_subclasses_cooperate_with_other_init_subclass_hooks(self):
        """A mixin's __init_subclass__ (and class keywords) still run for APIError subclasses."""
        seen: list[tuple[str, str]] = []

        class Tagged:
            def __init_subclass__(cls, tag: str = "", **kwargs):
                super().__init_subclass__(**kwargs)
                seen.append((cls.__name__, tag))

        class Locked(news_api.Conflict, Tagged, tag="editorial"):
            code = "locked"

        assert seen == [("Locked", "editorial")]
        assert Locked.type == BASE + "locked"

    def test_bad_status_is_refused_at_class_creation(self):
        """A subclass with a non-error status fails when the class is defined."""
        with pytest.raises(TypeError, match="400-599"):

            class Fine(news_api.APIError):
                status = 200

    def test_empty_code_is_refused(self):
        """A subclass with an empty code fails when the class is defined."""
        with pytest.raises(TypeError, match="code"):

            class Nameless(news_api.APIError):
                code = ""

    def test_pickle_round_trip(self):
        """Errors survive pickling (process pools, multiprocessing queues)."""
        error = news_api.TooManyRequests("slow", retry_after=5, bucket="search")
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is news_api.TooManyRequests
        assert copy.to_response() == error.to_response()
        failed = news_api.ValidationFailed(errors=[("a", "b")])
        assert pickle.loads(pickle.dumps(failed)).to_response() == failed.to_response()


class TestProblemTypeBase:
    def test_base_applies_to_existing_and_new_classes(self):
        """set_problem_type_base() re-derives the type of existing classes and new ones."""
        news_api.set_problem_type_base("https://api.newsroom.example/problems/")
        assert news_api.problem_type_base() == "https://api.newsroom.example/problems/"
        assert news_api.NotFound.type == "https://api.newsroom.example/problems/not_found"
        assert news_api.APIError.type == "https://api.newsroom.example/problems/internal_error"

        class Embargoed(news_api.Forbidden):
            code = "embargoed"

        assert Embargoed.type == "https://api.newsroom.example/problems/embargoed"
        assert news_api.NotFound().to_response().json()["type"] == news_api.NotFound.type

    def test_empty_base_refused(self):
        """An empty base is refused."""
        with pytest.raises(ValueError, match="non-empty"):
            news_api.set_problem_type_base("")


class TestFromException:
    def test_api_error_maps_to_its_problem(self):
        """An APIError becomes its own problem, with request id and instance."""
        response = news_api.from_exception(
            news_api.NotFound("no article 7"), request_id="r-1", instance="/v1/articles/7"
        )
        assert response.status == 404
        assert response.json() == {
            "type": BASE + "not_found",
            "title": "Not Found",
            "status": 404,
            "detail": "no article 7",
            "instance": "/v1/articles/7",
            "code": "not_found",
            "request_id": "r-1",
        }

    @pytest.mark.parametrize(
        "exc",
        [
            KeyError("postgres://admin:hunter2@db/news"),
            RuntimeError("secret token abc123"),
            ValueError("boom"),
            KeyboardInterrupt(),
        ],
    )
    def test_other_exceptions_become_generic_500(self, exc):
        """Any other exception becomes a generic 500 without its type or message."""
        response = news_api.from_exception(exc, request_id="r-2")
        assert response.status == 500
        assert response.headers == {"content-type": "application/problem+json"}
        assert response.json() == {
            "type": BASE + "internal_error",
            "title": "Internal Server Error",
            "status": 500,
            "detail": "internal error",
            "code": "internal_error",
            "request_id": "r-2",
        }
        text = response.body.decode()
        assert type(exc).__name__ not in text
        assert "hunter2" not in text
        assert "abc123" not in text

    def test_generic_500_keeps_the_instance(self):
        """The generic 500 of a foreign exception still names the request path as instance."""
        response = news_api.from_exception(RuntimeError("x"), instance="/v1/articles/7")
        assert response.json()["instance"] == "/v1/articles/7"
        assert "request_id" not in response.json()

    def test_api_error_that_cannot_render_becomes_generic_500(self):
        """An APIError whose extension cannot be encoded still yields a 500 problem."""
        response = news_api.from_exception(news_api.Conflict("x", thing=object()))
        assert response.status == 500
        assert response.json()["detail"] == "internal error"
