"""Normalisation of submitted articles: whitespace, sections, tags, slugs, and rejects."""

from __future__ import annotations

import pytest

import news_kafka
from newsroom.models import ArticleSubmitted
from newsroom.normalise import InvalidArticle, normalise, published_event, slugify


def submitted(**changes: object) -> ArticleSubmitted:
    """A valid submission with ``changes`` applied."""
    fields: dict[str, object] = {
        "id": "a1",
        "title": "Summit opens",
        "body": "Leaders meet.",
        "section": "world",
        "author": "Ada",
        "tags": [],
        "submitted_at": 1.0,
    }
    fields.update(changes)
    return ArticleSubmitted(**fields)  # type: ignore[arg-type]


class TestNormalise:
    def test_whitespace_is_collapsed_and_paragraphs_kept(self):
        """Surplus spaces go; blank-line-separated paragraphs stay, empty ones vanish."""
        article = normalise(
            submitted(
                title="  Summit\t opens  ",
                author=" Ada  Lovelace ",
                body=" First   para.\n\n\n  Second\npara. \n\n   ",
            ),
            published_at=2.0,
        )
        assert article.title == "Summit opens"
        assert article.author == "Ada Lovelace"
        assert article.body == "First para.\n\nSecond para."
        assert article.words == 4
        assert (article.submitted_at, article.published_at) == (1.0, 2.0)

    def test_section_becomes_a_slug(self):
        """'World News' and 'world-news' are the same section."""
        assert normalise(submitted(section="World News"), published_at=0).section == "world-news"
        assert normalise(submitted(section="world-news"), published_at=0).section == "world-news"

    def test_tags_are_lowercased_deduplicated_sorted(self):
        """Tags differing only in case or spaces are one tag; blank tags are dropped."""
        article = normalise(submitted(tags=["EU", " politics ", "Politics", " "]), published_at=0)
        assert article.tags == ["eu", "politics"]

    def test_slug_of_the_title(self):
        """The slug is the title in ASCII lower case with dashes."""
        assert normalise(submitted(title="Ça va, Oslo?"), published_at=0).slug == "ca-va-oslo"

    def test_title_without_slug_characters_uses_the_id(self):
        """A title of only punctuation still gets a usable slug: the id."""
        assert normalise(submitted(title="!!!"), published_at=0).slug == "a1"

    @pytest.mark.parametrize("field", ["title", "author", "body", "section"])
    def test_blank_field_is_a_poison_record(self, field):
        """A field that is empty once normalised raises InvalidArticle, a PoisonRecordError."""
        blank = "  -  " if field == "section" else " \n "
        with pytest.raises(InvalidArticle, match=f"a1: empty after normalising: {field}") as info:
            normalise(submitted(**{field: blank}), published_at=0)
        assert isinstance(info.value, news_kafka.PoisonRecordError)

    def test_published_event_names_the_article(self):
        """ArticlePublished carries the stored article's id, section, slug and title."""
        article = normalise(submitted(section="Sport"), published_at=5.0)
        event = published_event(article)
        assert (event.id, event.section, event.slug, event.title, event.published_at) == (
            "a1",
            "sport",
            "summit-opens",
            "Summit opens",
            5.0,
        )


class TestSlugify:
    @pytest.mark.parametrize(
        ("text", "slug"),
        [("Hello, World!", "hello-world"), ("  a  b ", "a-b"), ("Zürich", "zurich"), ("", "")],
    )
    def test_examples(self, text, slug):
        """Slugify keeps ASCII letters and digits, joined by single dashes."""
        assert slugify(text) == slug

    def test_long_titles_are_cut_without_a_trailing_dash(self):
        """Slugs are at most 80 characters and never end with a dash."""
        slug = slugify("word " * 40)
        assert len(slug) <= 80
        assert not slug.endswith("-")


class TestSanitising:
    """Stored titles are plain text and bodies safe HTML (news-security's newsroom policy)."""

    def test_title_and_author_become_plain_text(self):
        """Tags, entities and bidi overrides leave titles and authors."""
        article = normalise(
            submitted(title="Summit <b>opens</b> &amp;\u202e closes", author="Ada <i>L</i>"),
            published_at=0,
        )
        assert article.title == "Summit opens & closes"
        assert article.author == "Ada L"

    def test_body_is_sanitised_keeping_paragraphs(self):
        """Scripts, handlers and javascript: links go; markup and paragraphs stay."""
        article = normalise(
            submitted(
                body='One <b onclick="x()">bold</b>.<script>steal()</script>\n\n'
                '<a href="jav&#x09;ascript:alert(1)">Two</a> <a href="https://a.example">ok</a>'
            ),
            published_at=0,
        )
        assert article.body == (
            "One <b>bold</b>.\n\n"
            '<a rel="noopener noreferrer">Two</a> '
            '<a href="https://a.example" rel="noopener noreferrer">ok</a>'
        )

    def test_body_of_only_a_script_is_empty(self):
        """A body that is only a script is empty once sanitised: the article is refused."""
        with pytest.raises(InvalidArticle, match="body"):
            normalise(submitted(body="<script>steal()</script>"), published_at=0)
