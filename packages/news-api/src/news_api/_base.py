"""The root of every error news-api raises, and the errors of calling news-api wrongly.

The tree (the HTTP problems under `APIError` are drawn in ``news_api._errors``)::

    Exception
     └── NewsAPIError                      every error news-api raises
          ├── APIError                     an HTTP problem (BadRequest, NotFound, ...): a response
          ├── APIUsageError (ValueError)   news-api called with a bad value (a header with CR/LF,
          │                                a short cursor secret, page 0, a naive Retry-After...)
          └── APITypeError (TypeError)     news-api given the wrong kind of thing (a cursor secret
                                           that is no str, bytes or secret; an APIError subclass
                                           with a bad status or code)

`APIUsageError` and `APITypeError` are programming errors: fix the call. `from_exception`
answers them as any unexpected exception (500, no detail shown).
"""

from __future__ import annotations

__all__ = ["APITypeError", "APIUsageError", "NewsAPIError"]


class NewsAPIError(Exception):
    """Root of every error news-api raises: HTTP problems (`APIError`) and misuse."""


class APIUsageError(NewsAPIError, ValueError):
    """news-api was called with a bad value; the message says which and how to fix it."""


class APITypeError(NewsAPIError, TypeError):
    """news-api was given an object of the wrong kind; the message names what it takes."""
