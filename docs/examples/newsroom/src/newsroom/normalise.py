"""Normalisation: what the consumer does to a submitted article before storing it.

Pure functions, so they are tested without Kafka. A submission that cannot become an article
raises `InvalidArticle` (a `news_kafka.PoisonRecordError`): the consumer dead-letters it at once,
without retries, since retrying cannot fix it.
"""

from __future__ import annotations

import re
import unicodedata

import news_kafka
import news_security
from newsroom.models import Article, ArticlePublished, ArticleSubmitted

__all__ = ["InvalidArticle", "normalise", "published_event", "slugify"]

_SPACE = re.compile(r"\s+")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


class InvalidArticle(news_kafka.PoisonRecordError):
    """A submitted article that cannot be normalised (e.g. a title of only spaces)."""


def _collapse(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def slugify(text: str) -> str:
    """``"Summit opens in Oslo!"`` -> ``"summit-opens-in-oslo"`` (ASCII, at most 80 characters)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")[:80].rstrip("-")


def normalise(event: ArticleSubmitted, *, published_at: float) -> Article:
    """Turn a submission into the stored article.

    Titles and authors become plain text (tags, entities and control characters out, one line);
    the body is sanitised with news-security's newsroom HTML policy (no scripts, handlers or
    unsafe links: clients render it as HTML); sections become lower-case slugs
    (``"World News"`` -> ``"world-news"``); tags are lower-cased, de-duplicated and sorted;
    paragraphs of the body are kept, spaces inside them collapsed.

    Raises:
        InvalidArticle: A field is empty once normalised.
    """
    title = news_security.plain_text(event.title)
    author = news_security.plain_text(event.author)
    section = slugify(event.section)
    paragraphs = [_collapse(p) for p in re.split(r"\n\s*\n", event.body)]
    body = news_security.sanitize_html("\n\n".join(p for p in paragraphs if p))
    empty = [
        name
        for name, value in (("title", title), ("author", author), ("section", section))
        if not value
    ] + ([] if body else ["body"])
    if empty:
        raise InvalidArticle(f"article {event.id}: empty after normalising: {', '.join(empty)}")
    tags = sorted({_collapse(tag).lower() for tag in event.tags} - {""})
    return Article(
        id=event.id,
        title=title,
        slug=slugify(title) or event.id,
        body=body,
        section=section,
        author=author,
        tags=tags,
        words=len(body.split()),
        submitted_at=event.submitted_at,
        published_at=published_at,
    )


def published_event(article: Article) -> ArticlePublished:
    """The `ArticlePublished` event announcing ``article``."""
    return ArticlePublished(
        id=article.id,
        section=article.section,
        slug=article.slug,
        title=article.title,
        published_at=article.published_at,
    )
