"""Benchmark: the per-request cost of news-api's constructors.

Each case runs ``--number`` calls, ``--runs`` times; the median per-call time is printed (µs),
with the ratio to a baseline that only does ``msgspec.json.encode({"data": value})`` (the floor:
any envelope must at least encode the payload). These run on every request, so they must stay
in the low microseconds.

    hatch run bench:api [--number 200000] [--runs 7] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import timeit
from pathlib import Path
from typing import Any

import msgspec
from _meta import load_now, run_info

import news_api


class ArticleIn(msgspec.Struct):
    """A small request body."""

    title: str
    author: str
    tags: list[str] = []


ITEM = {"id": 1, "title": "x"}
PAGE = [{"id": i, "title": f"article {i}", "section": "world"} for i in range(20)]
BODY = b'{"title":"Climate summit opens","author":"Ada","tags":["world","climate"]}'
BAD_BODY = b'{"title":"Climate summit opens","author":7}'
CODEC = news_api.CursorCodec(b"0123456789abcdef0123456789abcdef")
CURSOR = CODEC.encode({"after": 123456, "published": "2026-11-24T05:00:00Z"})


def _validation_failure() -> Any:
    try:
        news_api.decode(BAD_BODY, ArticleIn)
    except news_api.APIError as exc:
        return exc.to_response(request_id="r-1")
    return None


CASES: dict[str, Any] = {
    "baseline msgspec.json.encode({'data': item})": lambda: msgspec.json.encode({"data": ITEM}),
    "ok(item)": lambda: news_api.ok(ITEM),
    "ok(20 items, meta)": lambda: news_api.ok(PAGE, meta={"total": 20}),
    "created(item, location)": lambda: news_api.created(ITEM, location="/v1/articles/1"),
    "no_content()": news_api.no_content,
    "NotFound().to_response(request_id)": lambda: news_api.NotFound("no article 1").to_response(
        request_id="r-1"
    ),
    "from_exception(RuntimeError)": lambda: news_api.from_exception(RuntimeError("x")),
    "decode(body, Struct)": lambda: news_api.decode(BODY, ArticleIn),
    "decode -> ValidationFailed -> 422": _validation_failure,
    "offset_page(20 items, links)": lambda: news_api.offset_page(
        PAGE, page=2, per_page=20, total=95, base_url="/v1/articles", query="section=world"
    ),
    "CursorCodec.encode": lambda: CODEC.encode({"after": 123456}),
    "CursorCodec.decode": lambda: CODEC.decode(CURSOR),
}


def main() -> None:
    """Time every case and print medians and ratios to the baseline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    load = load_now()
    results: dict[str, float] = {}
    for name, func in CASES.items():
        times = timeit.repeat(func, number=args.number, repeat=args.runs)
        results[name] = statistics.median(times) / args.number * 1e6
    base = next(iter(results.values()))
    width = max(map(len, results))
    print(f"{'case':<{width}}  {'µs/call':>8}  {'x baseline':>10}")
    for name, micros in results.items():
        print(f"{name:<{width}}  {micros:8.2f}  {micros / base:10.1f}")
    if args.json:
        figures = {
            "meta": run_info("api", load),
            "number": args.number,
            "runs": args.runs,
            "baseline": next(iter(results)),
            "us_per_call": results,
            "ratio_to_baseline": {name: micros / base for name, micros in results.items()},
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
