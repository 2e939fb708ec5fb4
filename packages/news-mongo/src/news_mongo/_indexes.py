"""`Index`: an index declaration, applied idempotently by `Mongo.ensure_indexes`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from news_mongo._errors import MongoConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pymongo import IndexModel

__all__ = ["Direction", "Index"]

Direction = Literal[1, -1, "2dsphere", "text", "hashed"]
_DIRECTIONS = (1, -1, "2dsphere", "text", "hashed")


class Index:
    """One index of a collection, declared in code and created at start.

    Args:
        keys: A field name (ascending), or ``[(field, 1 | -1 | "2dsphere" | "text" |
            "hashed"), ...]``.
        name: The index name (default: the server's, e.g. ``slug_1``); `DuplicateKeyError`
            names it, so give unique indexes a meaningful one.
        unique: Refuse a second document with the same key.
        sparse: Leave out documents without the field.
        expire_after: A TTL index: delete documents this many seconds after the date in the
            (single) key field.
        partial_filter: Index only the documents matching this filter.

    Example:
        >>> Index([("section", 1), ("published_at", -1)]).keys
        (('section', 1), ('published_at', -1))
    """

    __slots__ = ("expire_after", "keys", "name", "partial_filter", "sparse", "unique")

    def __init__(
        self,
        keys: str | Sequence[tuple[str, Direction]],
        *,
        name: str | None = None,
        unique: bool = False,
        sparse: bool = False,
        expire_after: float | None = None,
        partial_filter: Mapping[str, Any] | None = None,
    ) -> None:
        pairs = ((keys, 1),) if isinstance(keys, str) else tuple((k, d) for k, d in keys)
        if not pairs:
            raise MongoConfigError("Index needs at least one key field")
        for field, direction in pairs:
            if not field or direction not in _DIRECTIONS:
                raise MongoConfigError(
                    f"Index key ({field!r}, {direction!r}): the field must be a non-empty name "
                    "and the direction 1, -1, '2dsphere', 'text' or 'hashed'"
                )
        if expire_after is not None and (expire_after < 0 or len(pairs) != 1):
            raise MongoConfigError(
                "Index expire_after (TTL) needs one key field (a date) and seconds >= 0"
            )
        self.keys: tuple[tuple[str, Direction], ...] = pairs
        self.name = name
        self.unique = unique
        self.sparse = sparse
        self.expire_after = expire_after
        self.partial_filter = dict(partial_filter) if partial_filter else None

    def model(self) -> IndexModel:
        """The pymongo ``IndexModel`` of this declaration."""
        from pymongo import IndexModel

        options: dict[str, Any] = {}
        if self.name:
            options["name"] = self.name
        if self.unique:
            options["unique"] = True
        if self.sparse:
            options["sparse"] = True
        if self.expire_after is not None:
            options["expireAfterSeconds"] = int(self.expire_after)
        if self.partial_filter is not None:
            options["partialFilterExpression"] = self.partial_filter
        return IndexModel(list(self.keys), **options)

    def __repr__(self) -> str:
        extra = "".join(f", {flag}=True" for flag in ("unique", "sparse") if getattr(self, flag))
        named = f", name={self.name!r}" if self.name else ""
        return f"Index({list(self.keys)!r}{named}{extra})"
