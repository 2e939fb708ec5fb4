"""Sanitising article HTML: the newsroom policy, XSS vectors, policies, plain text."""

from __future__ import annotations

import html
import html.parser
import re

import nh3
import pytest

import news_security
from news_security import NEWSROOM_POLICY, HTMLPolicy, HTMLSanitizer, SecurityConfigError

# XSS vectors for the sanitiser's tests, written for this suite.
#
# They follow the families of OWASP's XSS Filter Evasion Cheat Sheet (script tags in every
# disguise, javascript:/vbscript:/data: URLs with entity, whitespace and case tricks, event
# handlers, style and expression(), SVG/MathML, frames and objects, meta refresh, base href,
# malformed and nested tags, comments and conditional comments) plus nh3's scheme bypass with an
# encoded tab (``jav&#x09;ascript:``).
VECTORS: list[str] = [
    # script in its many shapes
    "<SCRIPT SRC=https://xss.example/xss.js></SCRIPT>",
    "<script>alert('XSS')</script>",
    "<SCRIPT/XSS SRC='https://xss.example/xss.js'></SCRIPT>",
    "<SCRIPT/SRC='https://xss.example/xss.js'></SCRIPT>",
    "<<SCRIPT>alert('XSS');//\\<</SCRIPT>",
    "<SCRIPT SRC=//xss.example/.j>",
    "<SCRIPT SRC=https://xss.example/xss.js?< B >",
    "<script>alert(1)</script",
    '</TITLE><SCRIPT>alert("XSS");</SCRIPT>',
    '<SCRIPT a=">" SRC="https://xss.example/xss.js"></SCRIPT>',
    '<SCRIPT =">" SRC="https://xss.example/xss.js"></SCRIPT>',
    '<SCRIPT "a=\'>\'" SRC="https://xss.example/xss.js"></SCRIPT>',
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    # javascript: URLs, disguised
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',  # nh3's scheme bypass issue
    '<a href="jav\tascript:alert(1)">x</a>',
    '<a href="jav&#x0A;ascript:alert(1)">x</a>',
    '<a href="jav&#x0D;ascript:alert(1)">x</a>',
    '<a href=" &#14;  javascript:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    (
        '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105'
        '&#0000112&#0000116&#0000058alert(1)">x</a>'
    ),
    '<a href="&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A;alert(1)">x</a>',
    '<a href="javascript&colon;alert(1)">x</a>',
    '<a href="java\0script:alert(1)">x</a>',
    "<a href=javascript:alert(String.fromCharCode(88,83,83))>x</a>",
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="livescript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert('XSS')>",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    '<IMG """><SCRIPT>alert("XSS")</SCRIPT>">',
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    "<IMG SRC= onmouseover=\"alert('xxs')\">",
    "<IMG onmouseover=\"alert('xxs')\">",
    '<IMG SRC=/ onerror="alert(String.fromCharCode(88,83,83))"></img>',
    (
        '<img src=x onerror="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114'
        '&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116">'
    ),
    "<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">",
    "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
    "<IMG DYNSRC=\"javascript:alert('XSS')\">",
    "<IMG LOWSRC=\"javascript:alert('XSS')\">",
    "<IMG SRC='vbscript:msgbox(\"XSS\")'>",
    # event handlers and odd attribute syntax
    "<BODY ONLOAD=alert('XSS')>",
    '<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert("XSS")>',
    "<p onclick=alert(1)>click</p>",
    "<b onmouseover=alert('Wufff!')>click me!</b>",
    "<div/onmouseover='alert(1)'>style</div>",
    '<a href="https://ok.example" onclick="alert(1)">ok</a>',
    "<svg/onload=alert('XSS')>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">XSS</text></a></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math href="javascript:alert(1)">CLICK</math>',
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    '<video><source onerror="alert(1)">',
    "<audio src=x onerror=alert(1)>",
    "<marquee onstart=alert(1)>",
    "<isindex type=image src=1 onerror=alert(1)>",
    # styles
    "<STYLE>@import'https://xss.example/xss.css';</STYLE>",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
    "<DIV STYLE=\"width: expression(alert('XSS'));\">",
    "<STYLE>.XSS{background-image:url(\"javascript:alert('XSS')\");}</STYLE><A CLASS=XSS></A>",
    '<STYLE type="text/css">BODY{background:url("javascript:alert(\'XSS\')")}</STYLE>',
    '<LINK REL="stylesheet" HREF="javascript:alert(\'XSS\');">',
    "<IMG STYLE=\"xss:expr/*XSS*/ession(alert('XSS'))\">",
    '<p style="position:fixed;top:0;left:0;width:100%;height:100%">overlay</p>',
    # frames, objects, documents
    "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>",
    '<IFRAME SRC=# onmouseover="alert(document.cookie)"></IFRAME>',
    "<FRAMESET><FRAME SRC=\"javascript:alert('XSS');\"></FRAMESET>",
    '<OBJECT TYPE="text/x-scriptlet" DATA="https://xss.example/scriptlet.html"></OBJECT>',
    '<EMBED SRC="data:image/svg+xml;base64,PHN2Zz48c2NyaXB0PmFsZXJ0KDEpPC9zY3JpcHQ+PC9zdmc+">',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<META HTTP-EQUIV="refresh" CONTENT="0;url=javascript:alert(\'XSS\');">',
    '<META HTTP-EQUIV="refresh" CONTENT="0;url=data:text/html base64,PHNjcmlwdD4K">',
    "<BASE HREF=\"javascript:alert('XSS');//\">",
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\">",
    "<TABLE><TD BACKGROUND=\"javascript:alert('XSS')\">",
    "<BGSOUND SRC=\"javascript:alert('XSS');\">",
    '<form action="javascript:alert(1)"><button>go</button></form>',
    '<button formaction="javascript:alert(1)">go</button>',
    '<XSS STYLE="behavior: url(xss.htc);">',
    '<XML ID="xss"><I><B><IMG SRC="javas<!-- -->cript:alert(\'XSS\')"></B></I></XML>',
    # comments, conditional comments, CDATA, templates
    "<!--[if gte IE 4]><SCRIPT>alert('XSS');</SCRIPT><![endif]-->",
    "<!-- <img src=x onerror=alert(1)> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<template><script>alert(1)</script></template>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<a href="https://ok.example" title="x" data-x="y" id="login">ok</a>',
    # mailto and protocol-less that must stay harmless
    '<a href="mailto:desk@news.example?subject=<script>">mail</a>',
    '<a href="//xss.example/" onclick=alert(1)>proto-relative</a>',
]

URL_ATTRIBUTES = {"href", "src", "cite", "action", "formaction", "background", "data", "xlink:href"}
ALLOWED_SCHEMES = {"http", "https", "mailto"}


class _Collect(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))

    handle_startendtag = handle_starttag


C0_AND_SPACE = "".join(chr(i) for i in range(0x21))


def _scheme(url: str) -> str | None:
    """The scheme a browser would see (WHATWG URL parsing: C0/space trimmed, tabs/newlines out)."""
    cleaned = re.sub(r"[\t\n\r]", "", url.strip(C0_AND_SPACE))
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", cleaned)
    return match.group(1).lower() if match else None


def assert_harmless(output: str, policy: HTMLPolicy = NEWSROOM_POLICY) -> None:
    """Fail unless ``output`` holds only the policy's tags, attributes and URL schemes."""
    parser = _Collect()
    parser.feed(output)
    parser.close()
    for tag, attrs in parser.elements:
        assert tag in policy.tags, f"tag {tag!r} survived: {output!r}"
        for name, value in attrs:
            assert name in policy.attributes.get(tag, ()) or name == "rel", (name, output)
            assert not name.startswith("on"), output
            if name in URL_ATTRIBUTES and value is not None:
                scheme = _scheme(value)
                assert scheme is None or scheme in ALLOWED_SCHEMES, (value, output)
        if tag == "a":
            assert ("rel", "noopener noreferrer") in attrs, output


class TestNewsroomPolicy:
    """The default policy keeps article markup and removes whatever can run code."""

    @pytest.mark.parametrize("vector", VECTORS)
    def test_vector_is_neutralised(self, vector):
        """Each XSS vector comes out without scripts, handlers, styles or unsafe URLs."""
        output = news_security.sanitize_html(vector)
        assert_harmless(output)
        assert "<script" not in output.lower()

    def test_vectors_are_many_and_distinct(self):
        """The vector list is a real corpus, not a handful."""
        assert len(set(VECTORS)) == len(VECTORS) >= 90

    def test_encoded_tab_scheme_bypass_loses_the_href(self):
        """nh3's bypass case: 'jav&#x09;ascript:' is judged as javascript: and dropped."""
        out = news_security.sanitize_html('<a href="jav&#x09;ascript:alert(1)">x</a>')
        assert out == '<a rel="noopener noreferrer">x</a>'

    def test_article_markup_is_kept(self):
        """Paragraphs, headings, emphasis, lists, quotes, figures and tables pass untouched."""
        body = (
            "<h2>Summit</h2><p>Leaders <strong>meet</strong> <em>today</em>.</p>"
            '<ul><li>one</li></ul><blockquote cite="https://a.example/q">quote</blockquote>'
            '<figure><img src="https://img.example/a.jpg" alt="Oslo"><figcaption>Oslo'
            "</figcaption></figure><table><tbody><tr><td>1</td></tr></tbody></table>"
        )
        assert news_security.sanitize_html(body) == body

    def test_links_keep_safe_urls_and_get_rel(self):
        """http, https and mailto links stay, with rel="noopener noreferrer"; others lose href."""
        out = news_security.sanitize_html(
            '<a href="https://a.example/x">a</a><a href="mailto:desk@a.example">m</a>'
            '<a href="http://a.example">h</a><a href="ftp://a.example/f">f</a>'
            '<a href="tel:+4712345678">t</a>'
        )
        assert out == (
            '<a href="https://a.example/x" rel="noopener noreferrer">a</a>'
            '<a href="mailto:desk@a.example" rel="noopener noreferrer">m</a>'
            '<a href="http://a.example" rel="noopener noreferrer">h</a>'
            '<a rel="noopener noreferrer">f</a><a rel="noopener noreferrer">t</a>'
        )

    def test_script_and_style_content_is_removed_with_the_tag(self):
        """The text of scripts and styles never turns into article text."""
        assert news_security.sanitize_html("a<script>var x</script>b<style>p{}</style>c") == "abc"

    def test_unknown_tags_are_removed_and_their_text_kept(self):
        """A tag outside the policy disappears; the words inside it stay."""
        assert news_security.sanitize_html("<custom>text</custom><h1>big</h1>") == "textbig"

    def test_comments_are_stripped(self):
        """HTML comments are removed."""
        assert news_security.sanitize_html("a<!-- secret -->b") == "ab"

    def test_rel_given_by_the_author_is_replaced(self):
        """An author's rel (e.g. to drop noopener) does not survive."""
        out = news_security.sanitize_html('<a href="https://a.example" rel="opener">a</a>')
        assert out == '<a href="https://a.example" rel="noopener noreferrer">a</a>'

    def test_sanitising_is_idempotent(self):
        """Sanitised output sanitised again is unchanged."""
        for vector in VECTORS:
            once = news_security.sanitize_html(vector)
            assert news_security.sanitize_html(once) == once

    def test_a_sanitizer_instance_equals_the_function(self):
        """HTMLSanitizer() with the default policy gives the same output as sanitize_html."""
        sanitizer = HTMLSanitizer()
        for vector in VECTORS:
            assert sanitizer.clean(vector) == news_security.sanitize_html(vector)


class TestPolicies:
    """A policy may narrow the newsroom policy but never open it to code."""

    def test_narrower_policy_is_applied(self):
        """A custom policy keeps only its own tags, attributes and schemes."""
        policy = HTMLPolicy(
            tags=frozenset({"p", "a"}),
            attributes={"a": frozenset({"href"})},
            url_schemes=frozenset({"https"}),
        )
        out = news_security.sanitize_html(
            '<p lang="en"><b>x</b><a href="http://a.example" title="t">l</a>'
            '<a href="https://a.example">s</a></p>',
            policy,
        )
        assert out == (
            '<p>x<a rel="noopener noreferrer">l</a>'
            '<a href="https://a.example" rel="noopener noreferrer">s</a></p>'
        )

    def test_link_rel_can_be_turned_off(self):
        """An empty link_rel adds no rel attribute."""
        policy = HTMLPolicy(
            tags=frozenset({"a"}), attributes={"a": frozenset({"href"})}, link_rel=""
        )
        assert HTMLSanitizer(policy).clean('<a href="https://a.example">x</a>') == (
            '<a href="https://a.example">x</a>'
        )

    def test_url_schemes_are_always_passed_to_nh3(self, monkeypatch):
        """nh3 gets the policy's schemes explicitly, never its own wider default."""
        seen = {}
        real = nh3.Cleaner

        def spy(**kwargs):
            seen.update(kwargs)
            return real(**kwargs)

        monkeypatch.setattr(nh3, "Cleaner", spy)
        HTMLSanitizer()
        assert seen["url_schemes"] == {"http", "https", "mailto"}
        assert seen["link_rel"] == "noopener noreferrer"
        assert seen["strip_comments"] is True

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"tags": frozenset({"p", "script"})}, "can run code"),
            ({"tags": frozenset({"iframe"})}, "can run code"),
            ({"tags": frozenset({"svg"})}, "can run code"),
            ({"attributes": {"p": frozenset({"onclick"})}}, "onclick"),
            ({"attributes": {"p": frozenset({"OnLoad"})}}, "OnLoad"),
            ({"attributes": {"*": frozenset({"style"})}}, "style"),
            ({"attributes": {"iframe": frozenset({"srcdoc"})}}, "srcdoc"),
            ({"attributes": {"a": frozenset({"rel"})}}, "'rel'"),
            ({"url_schemes": frozenset({"https", "javascript"})}, "javascript"),
            ({"url_schemes": frozenset({"data"})}, "data"),
            ({"clean_content_tags": frozenset({"script"})}, "script and style"),
            (
                {
                    "tags": frozenset({"p"}),
                    "clean_content_tags": frozenset({"script", "style", "p"}),
                },
                "both kept and cleared",
            ),
        ],
    )
    def test_unsafe_policy_is_refused(self, kwargs, message):
        """A policy that would let code through fails when it is made, naming what is wrong."""
        base = {"tags": frozenset({"p", "a"}), "attributes": {"a": frozenset({"href"})}}
        with pytest.raises(SecurityConfigError, match=re.escape(message)):
            HTMLPolicy(**{**base, **kwargs})

    def test_rel_attribute_is_fine_without_link_rel(self):
        """Allowing rel is accepted when link_rel does not set it."""
        policy = HTMLPolicy(
            tags=frozenset({"a"}), attributes={"a": frozenset({"rel"})}, link_rel=""
        )
        assert HTMLSanitizer(policy).clean('<a rel="tag">x</a>') == '<a rel="tag">x</a>'

    def test_config_error_is_a_value_error(self):
        """SecurityConfigError is a ValueError and a NewsSecurityError."""
        assert issubclass(SecurityConfigError, ValueError)
        assert issubclass(SecurityConfigError, news_security.NewsSecurityError)

    def test_newsroom_policy_defaults(self):
        """The newsroom policy allows http, https and mailto and sets noopener noreferrer."""
        assert NEWSROOM_POLICY.url_schemes == frozenset({"http", "https", "mailto"})
        assert NEWSROOM_POLICY.link_rel == "noopener noreferrer"
        assert NEWSROOM_POLICY.clean_content_tags == frozenset({"script", "style"})


class TestPlainText:
    """plain_text turns untrusted titles into one clean line of text."""

    def test_tags_removed_and_entities_decoded(self):
        """Markup goes, entities become characters, script text is dropped."""
        assert news_security.plain_text("<b>Oslo</b> &amp; <i>Bergen</i><script>x()</script>") == (
            "Oslo & Bergen"
        )

    def test_whitespace_collapsed_and_trimmed(self):
        """Runs of spaces, tabs and newlines become one space; ends are trimmed."""
        assert news_security.plain_text("  a \t\n b\r\n\fc  ") == "a b c"

    def test_control_and_format_characters_dropped(self):
        """NUL, bidi overrides and zero-width characters are removed."""
        assert news_security.plain_text("a\x00b\u202ec\u200bd\x7fe") == "abcde"

    def test_nfc_normalised(self):
        """Decomposed characters are composed (NFC)."""
        assert news_security.plain_text("Zu\u0308rich") == "Z\u00fcrich"

    def test_max_length_cuts_and_trims(self):
        """max_length cuts to that many characters and trims a trailing space."""
        assert news_security.plain_text("Summit opens in Oslo", max_length=7) == "Summit"
        assert news_security.plain_text("abc", max_length=3) == "abc"
        assert news_security.plain_text("abcd", max_length=3) == "abc"
        assert news_security.plain_text("abc", max_length=0) == ""

    def test_negative_max_length_is_refused(self):
        """A negative max_length is a ValueError."""
        with pytest.raises(ValueError, match="max_length"):
            news_security.plain_text("abc", max_length=-1)

    def test_escaped_markup_stays_text(self):
        """Escaped markup becomes literal text (it is text now; templates escape it)."""
        assert news_security.plain_text("&lt;b&gt;bold&lt;/b&gt;") == "<b>bold</b>"
