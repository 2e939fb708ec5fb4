"""MetricsSettings: documented defaults, validation, loading from the environment, setup()."""

from __future__ import annotations

import msgspec
import pytest

import news_config
import news_metrics


class TestMetricsSettings:
    def test_defaults(self):
        """Defaults: /metrics, port 9464, SLO bucket 0.5 present, caps set, no _created."""
        s = news_metrics.MetricsSettings()
        assert s.path == "/metrics"
        assert (s.host, s.port) == ("0.0.0.0", 9464)
        assert s.multiprocess_dir == ""
        assert 0.5 in s.http_duration_buckets
        assert s.max_routes == 1000
        assert s.max_label_values == 100
        assert s.created_series is False

    def test_every_field_is_described(self):
        """Each field carries a description (news-config shows them in --env-example)."""
        info = msgspec.inspect.type_info(news_metrics.MetricsSettings)
        assert isinstance(info, msgspec.inspect.StructType)
        for field in info.fields:
            assert isinstance(field.type, msgspec.inspect.Metadata), field.name
            assert (field.type.extra_json_schema or {}).get("description"), field.name

    @pytest.mark.parametrize(
        ("buckets", "message"),
        [((), "empty"), ((0.1, 0.1), "strictly increasing"), ((0.1, float("inf")), "finite")],
    )
    def test_bad_buckets_are_refused(self, buckets, message):
        """Buckets must be non-empty, finite and strictly increasing."""
        with pytest.raises(news_metrics.MetricsConfigError, match=message):
            news_metrics.MetricsSettings(http_duration_buckets=buckets)

    def test_news_config_loads_it_from_the_environment(self):
        """news-config fills MetricsSettings from METRICS_* variables."""
        settings = news_config.load(
            news_metrics.MetricsSettings,
            prefix="METRICS_",
            env_file=None,
            environ={
                "METRICS_PORT": "9100",
                "METRICS_MAX_ROUTES": "50",
                "METRICS_HTTP_DURATION_BUCKETS": "[0.1, 0.5, 2]",
            },
        )
        assert settings.port == 9100
        assert settings.max_routes == 50
        assert settings.http_duration_buckets == (0.1, 0.5, 2.0)

    def test_news_config_reports_bad_buckets(self):
        """Invalid buckets from the environment surface as a ConfigError naming the problem."""
        with pytest.raises(news_config.ConfigError, match="strictly increasing"):
            news_config.load(
                news_metrics.MetricsSettings,
                prefix="METRICS_",
                env_file=None,
                environ={"METRICS_HTTP_DURATION_BUCKETS": "[1, 0.5]"},
            )


class TestSetup:
    def test_custom_buckets_apply_to_families_created_afterwards(self, run_python):
        """setup() before the first request sets the histogram buckets."""
        proc = run_python(
            """
            import news_metrics
            from news_metrics.testing import sample_value
            news_metrics.setup(news_metrics.MetricsSettings(http_duration_buckets=(0.2, 0.7)))
            hook = news_metrics.HTTPMetrics()
            hook.request_started("GET", "/a")
            hook.request_finished("GET", "/a", 200, 0.3, 1)
            labels = {"method": "GET", "route": "/a"}
            print(sample_value("http_request_duration_seconds_bucket", {**labels, "le": "0.7"}))
            print(sample_value("http_request_duration_seconds_bucket", {**labels, "le": "0.5"}))
            """
        )
        assert proc.stdout.split() == ["1.0", "None"]

    def test_changing_buckets_after_metrics_exist_fails(self, run_python):
        """Histograms cannot change buckets once created: setup() says to call it earlier."""
        proc = run_python(
            """
            import news_metrics
            news_metrics.HTTPMetrics().request_started("GET", "/a")
            news_metrics.setup(news_metrics.MetricsSettings(max_routes=5))  # buckets unchanged: ok
            try:
                news_metrics.setup(news_metrics.MetricsSettings(http_size_buckets=(1.0, 2.0)))
            except news_metrics.MetricsConfigError as exc:
                print(exc)
            """
        )
        assert "http_size_buckets cannot change" in proc.stdout
        assert "before recording anything" in proc.stdout
