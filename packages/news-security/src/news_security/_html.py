"""Sanitising article HTML with nh3 (the Rust ammonia sanitiser), and plain text for titles.

The newsroom policy keeps the markup of an article body (paragraphs, headings, emphasis, lists,
quotes, links, figures, tables) and drops everything that can run code or change the page
around it: scripts and styles with their content, event handlers, ``style`` attributes,
forms, frames, SVG and MathML, and any URL whose scheme is not http, https or mailto (nh3
decodes entities and control characters before it judges a scheme, so ``jav&#x09;ascript:`` is
seen as ``javascript:``). Links get ``rel="noopener noreferrer"``.

The allowed schemes are always passed to nh3 explicitly: its own defaults admit more (ftp, tel,
data-less but still surprising ones), and a policy may only narrow them.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import TYPE_CHECKING, Annotated, Final

import msgspec

from news_security._errors import SecurityConfigError

if TYPE_CHECKING:
    import nh3

__all__ = ["NEWSROOM_POLICY", "HTMLPolicy", "HTMLSanitizer", "plain_text", "sanitize_html"]

Meta = msgspec.Meta
SAFE_URL_SCHEMES: Final = frozenset({"http", "https", "mailto"})

_TAGS: Final = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dl",
        "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
        "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "strong", "sub",
        "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul",
    }
)  # fmt: skip
_ATTRIBUTES: Final = {
    "a": frozenset({"href", "title", "hreflang"}),
    "abbr": frozenset({"title"}),
    "blockquote": frozenset({"cite"}),
    "del": frozenset({"cite", "datetime"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "ins": frozenset({"cite", "datetime"}),
    "ol": frozenset({"start", "reversed"}),
    "q": frozenset({"cite"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan", "scope"}),
    "time": frozenset({"datetime"}),
}
_RISKY: Final = frozenset({"style", "srcdoc", "formaction"})
_ALWAYS_CLEARED: Final = frozenset({"script", "style"})
_NEVER_ALLOWED_TAGS: Final = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "form",
        "input", "button", "textarea", "select", "option", "svg", "math", "link", "meta",
        "base", "template", "noscript", "xmp", "plaintext", "noembed", "noframes",
    }
)  # fmt: skip


class HTMLPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """What survives sanitising: tags, attributes per tag, URL schemes, the rel of links.

    A policy can only be as open as the newsroom needs: tags that run code or load other
    documents, ``on*`` and ``style`` attributes, and URL schemes other than http, https and
    mailto are refused when the policy is made.
    """

    tags: Annotated[frozenset[str], Meta(description="Tags kept (others: tag removed, text kept)")]
    attributes: Annotated[
        dict[str, frozenset[str]], Meta(description="Attributes kept, per tag ('*': any tag)")
    ]
    url_schemes: Annotated[
        frozenset[str],
        Meta(description="Schemes a URL attribute may use; at most http, https, mailto"),
    ] = SAFE_URL_SCHEMES
    link_rel: Annotated[str, Meta(description="rel added to every link (empty: none)")] = (
        "noopener noreferrer"
    )
    clean_content_tags: Annotated[
        frozenset[str], Meta(description="Tags removed together with their content")
    ] = _ALWAYS_CLEARED

    def __post_init__(self) -> None:
        bad_tags = self.tags & _NEVER_ALLOWED_TAGS
        if bad_tags:
            raise SecurityConfigError(
                f"html policy: tags {sorted(bad_tags)} can run code or load documents; remove them"
            )
        if not self.clean_content_tags >= _ALWAYS_CLEARED:
            raise SecurityConfigError(
                "html policy: clean_content_tags must include script and style (their text "
                "is code, not article content)"
            )
        if self.clean_content_tags & self.tags:
            raise SecurityConfigError(
                f"html policy: {sorted(self.clean_content_tags & self.tags)} are both kept and "
                "cleared; a tag is one or the other"
            )
        for tag, names in self.attributes.items():
            risky = {n for n in names if n.lower().startswith("on") or n.lower() in _RISKY}
            if risky:
                raise SecurityConfigError(
                    f"html policy: attributes {sorted(risky)} of {tag!r} can run code or "
                    "restyle the page; remove them"
                )
            if self.link_rel and "rel" in names:
                raise SecurityConfigError(
                    f"html policy: 'rel' is allowed on {tag!r} while link_rel sets it; "
                    "keep one of the two"
                )
        extra = self.url_schemes - SAFE_URL_SCHEMES
        if extra:
            raise SecurityConfigError(
                f"html policy: url_schemes {sorted(extra)} are not allowed; use a subset of "
                "http, https, mailto"
            )


NEWSROOM_POLICY: Final = HTMLPolicy(tags=_TAGS, attributes=dict(_ATTRIBUTES))
"""The strict default policy for article bodies (see the module docstring)."""


class HTMLSanitizer:
    """A reusable sanitiser for one `HTMLPolicy` (building nh3's cleaner once is cheaper).

    Example:
        >>> HTMLSanitizer().clean('<p onclick="steal()">Hi <a href="jav&#x09;ascript:x">you</a>')
        '<p>Hi <a rel="noopener noreferrer">you</a></p>'
    """

    __slots__ = ("_cleaner", "policy")

    def __init__(self, policy: HTMLPolicy = NEWSROOM_POLICY) -> None:
        """Build nh3's cleaner for ``policy`` (the newsroom policy by default)."""
        import nh3

        self.policy = policy
        # "*" always given: nh3 otherwise keeps its generic defaults (lang, title) on any tag
        attributes = {"*": set(), **{tag: set(names) for tag, names in policy.attributes.items()}}
        self._cleaner: nh3.Cleaner = nh3.Cleaner(
            tags=set(policy.tags),
            clean_content_tags=set(policy.clean_content_tags),
            attributes=attributes,
            url_schemes=set(policy.url_schemes),  # always explicit: nh3's defaults admit more
            link_rel=policy.link_rel or None,
            strip_comments=True,
            generic_attribute_prefixes=set(),
        )

    def clean(self, fragment: str) -> str:
        """Return ``fragment`` with everything outside the policy removed (safe to embed)."""
        return self._cleaner.clean(fragment)


_DEFAULT: HTMLSanitizer | None = None


def sanitize_html(fragment: str, policy: HTMLPolicy | None = None) -> str:
    """Sanitise an HTML fragment with ``policy`` (the strict newsroom policy by default).

    Example:
        >>> sanitize_html("<p>Leaders <b>meet</b><script>alert(1)</script></p>")
        '<p>Leaders <b>meet</b></p>'
    """
    global _DEFAULT  # noqa: PLW0603 - one cleaner for the default policy, built on first use
    if policy is not None and policy is not NEWSROOM_POLICY:
        return HTMLSanitizer(policy).clean(fragment)
    if _DEFAULT is None:
        _DEFAULT = HTMLSanitizer()
    return _DEFAULT.clean(fragment)


_WHITESPACE: Final = re.compile(r"\s+")


def plain_text(text: str, *, max_length: int | None = None) -> str:
    r"""Turn untrusted text (a title, a name) into one line of plain text.

    Tags are removed (the content of scripts and styles too), entities decoded, control and
    format characters (bidi overrides, zero-width) dropped, whitespace collapsed to single
    spaces, the result NFC-normalised and cut to ``max_length`` characters. The result is text,
    not HTML: escape it where it is put into HTML (templates do).

    Example:
        >>> plain_text("  Summit <b>opens</b> in\u202e Oslo &amp; Bergen<script>x()</script> ")
        'Summit opens in Oslo & Bergen'
    """
    import nh3

    stripped = nh3.clean(text, tags=set(), clean_content_tags=set(_ALWAYS_CLEARED))
    decoded = html.unescape(stripped)
    kept = "".join(
        " " if char in "\t\n\r\f\v" else char
        for char in decoded
        if char in "\t\n\r\f\v" or unicodedata.category(char)[0] != "C"
    )
    result = unicodedata.normalize("NFC", _WHITESPACE.sub(" ", kept).strip())
    if max_length is not None:
        if max_length < 0:
            raise ValueError(f"max_length must be >= 0, got {max_length}")
        result = result[:max_length].rstrip()
    return result
