"""`Collection`: one MongoDB collection whose documents come back as msgspec Structs.

Writes take Structs (encoded with ``msgspec.to_builtins``; BSON types such as ``ObjectId``,
``datetime`` and ``bytes`` pass through) or plain dicts. Reads decode every document into the
collection's ``document_type`` with ``msgspec.convert`` (a Struct field named ``_id`` in
storage is declared ``id: ObjectId = msgspec.field(name="_id")``, or any other type). Every
pymongo error is translated into news-mongo's (`NewsMongoError`), the cause kept.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

import msgspec
from bson import Binary, Code, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from pymongo import ReturnDocument
from pymongo.errors import PyMongoError

from news_mongo._errors import DocumentDecodeError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Mapping, Sequence

    from pymongo.asynchronous.client_session import AsyncClientSession
    from pymongo.asynchronous.collection import AsyncCollection

    from news_mongo._mongo import Mongo

__all__ = ["Collection", "UpdateResult"]

T = TypeVar("T")

_BSON_TYPES: tuple[type, ...] = (
    datetime.datetime,
    datetime.date,
    bytes,
    uuid.UUID,
    ObjectId,
    Decimal128,
    Binary,
    Int64,
    Timestamp,
    Regex,
    Code,
    MinKey,
    MaxKey,
)


def _dec_hook(kind: type, value: Any) -> Any:
    """Let BSON values through to fields of their own type; Decimal128 into Decimal."""
    if isinstance(value, kind):
        return value
    if kind is decimal.Decimal and isinstance(value, Decimal128):
        return value.to_decimal()
    raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")


def _encode(document: Any) -> Any:
    """A Struct as a BSON-ready dict; dicts and other mappings unchanged."""
    if isinstance(document, msgspec.Struct):
        return msgspec.to_builtins(document, builtin_types=_BSON_TYPES)
    return document


class UpdateResult(NamedTuple):
    """What an update or replace did: documents matched, modified, and an upserted ``_id``."""

    matched: int
    modified: int
    upserted_id: Any


class Collection(Generic[T]):
    """A collection of the service's database, typed by ``document_type``.

    Made by `Mongo.collection` (or `Transaction.collection`, bound to the transaction). It
    can be made before `Mongo.start` and kept: it looks up the live client on each call.

    Attributes:
        name: The collection's name.
        document_type: The Struct (or ``dict``) documents decode into.
    """

    __slots__ = ("_cache", "_list_type", "_mongo", "_session", "document_type", "name")

    def __init__(
        self,
        mongo: Mongo,
        name: str,
        document_type: type[T],
        session: AsyncClientSession | None = None,
    ) -> None:
        self._mongo = mongo
        self.name = name
        self.document_type = document_type
        self._list_type: Any = list[document_type]  # type: ignore[valid-type]
        self._session = session
        self._cache: tuple[int, AsyncCollection[Any]] | None = None

    def __repr__(self) -> str:
        kind = getattr(self.document_type, "__name__", str(self.document_type))
        bound = ", in a transaction" if self._session is not None else ""
        return f"Collection({self.name!r}, {kind}{bound})"

    @property
    def raw(self) -> AsyncCollection[Any]:
        """The pymongo ``AsyncCollection`` (dict documents; its errors are pymongo's own)."""
        generation = self._mongo._generation
        cache = self._cache
        if cache is None or cache[0] != generation:
            cache = self._cache = (generation, self._mongo._raw_database()[self.name])
        return cache[1]

    # --- decoding --------------------------------------------------------------------------------

    def _decode_one(self, document: Any) -> T:
        if self.document_type is dict:
            return document  # type: ignore[no-any-return]
        try:
            return msgspec.convert(document, self.document_type, dec_hook=_dec_hook)
        except msgspec.ValidationError as exc:
            raise DocumentDecodeError(
                f"document _id={document.get('_id')!r} of {self.name} does not fit "
                f"{getattr(self.document_type, '__name__', self.document_type)}: {exc}"
            ) from exc

    def _decode_many(self, documents: list[Any]) -> list[T]:
        if self.document_type is dict:
            return documents
        try:
            return msgspec.convert(documents, self._list_type, dec_hook=_dec_hook)  # type: ignore[no-any-return]
        except msgspec.ValidationError as exc:
            for document in documents:  # name the document that does not fit
                self._decode_one(document)
            raise DocumentDecodeError(f"documents of {self.name} do not fit: {exc}") from exc

    def _error(self, exc: PyMongoError, method: str) -> BaseException:
        return self._mongo._error(exc, f"{self.name}.{method}")

    # --- writes ----------------------------------------------------------------------------------

    async def insert_one(self, document: T | Mapping[str, Any]) -> Any:
        """Insert one document (a Struct or a dict); return its ``_id``.

        Raises:
            DuplicateKeyError: A unique index refused it (``.index`` names the index).
            MongoConnectionError, MongoTimeoutError, PoolTimeoutError: see `NewsMongoError`.
        """
        try:
            result = await self.raw.insert_one(_encode(document), session=self._session)
        except PyMongoError as exc:
            raise self._error(exc, "insert_one") from exc
        return result.inserted_id

    async def insert_many(
        self, documents: Iterable[T | Mapping[str, Any]], *, ordered: bool = True
    ) -> list[Any]:
        """Insert documents in batches; return their ``_id`` values.

        ``ordered=True`` stops at the first error (the earlier ones stay inserted);
        `DuplicateKeyError` names the first duplicate.
        """
        try:
            result = await self.raw.insert_many(
                [_encode(d) for d in documents], ordered=ordered, session=self._session
            )
        except PyMongoError as exc:
            raise self._error(exc, "insert_many") from exc
        return list(result.inserted_ids)

    async def replace_one(
        self, filter: Mapping[str, Any], document: T | Mapping[str, Any], *, upsert: bool = False
    ) -> UpdateResult:
        """Replace the first document matching ``filter`` (insert it with ``upsert``)."""
        try:
            result = await self.raw.replace_one(
                filter, _encode(document), upsert=upsert, session=self._session
            )
        except PyMongoError as exc:
            raise self._error(exc, "replace_one") from exc
        return UpdateResult(result.matched_count, result.modified_count, result.upserted_id)

    async def update_one(
        self, filter: Mapping[str, Any], update: Mapping[str, Any] | Sequence[Any], *,
        upsert: bool = False,
    ) -> UpdateResult:  # fmt: skip
        """Apply an update (``{"$set": {...}}`` or a pipeline) to the first match."""
        try:
            result = await self.raw.update_one(filter, update, upsert=upsert, session=self._session)
        except PyMongoError as exc:
            raise self._error(exc, "update_one") from exc
        return UpdateResult(result.matched_count, result.modified_count, result.upserted_id)

    async def update_many(
        self, filter: Mapping[str, Any], update: Mapping[str, Any] | Sequence[Any], *,
        upsert: bool = False,
    ) -> UpdateResult:  # fmt: skip
        """Apply an update to every match."""
        try:
            result = await self.raw.update_many(
                filter, update, upsert=upsert, session=self._session
            )
        except PyMongoError as exc:
            raise self._error(exc, "update_many") from exc
        return UpdateResult(result.matched_count, result.modified_count, result.upserted_id)

    async def find_one_and_update(
        self,
        filter: Mapping[str, Any],
        update: Mapping[str, Any] | Sequence[Any],
        *,
        upsert: bool = False,
        return_new: bool = True,
        sort: Sequence[tuple[str, int]] | None = None,
    ) -> T | None:
        """Update the first match atomically; return it (after the update, or before)."""
        try:
            document = await self.raw.find_one_and_update(
                filter,
                update,
                upsert=upsert,
                sort=list(sort) if sort else None,
                return_document=ReturnDocument.AFTER if return_new else ReturnDocument.BEFORE,
                session=self._session,
            )
        except PyMongoError as exc:
            raise self._error(exc, "find_one_and_update") from exc
        return None if document is None else self._decode_one(document)

    async def delete_one(self, filter: Mapping[str, Any]) -> int:
        """Delete the first document matching ``filter``; return how many were deleted (0, 1)."""
        try:
            result = await self.raw.delete_one(filter, session=self._session)
        except PyMongoError as exc:
            raise self._error(exc, "delete_one") from exc
        return result.deleted_count

    async def delete_many(self, filter: Mapping[str, Any]) -> int:
        """Delete every document matching ``filter``; return how many."""
        try:
            result = await self.raw.delete_many(filter, session=self._session)
        except PyMongoError as exc:
            raise self._error(exc, "delete_many") from exc
        return result.deleted_count

    # --- reads -----------------------------------------------------------------------------------

    async def get(self, id: Any) -> T | None:
        """The document whose ``_id`` is ``id``, or None."""
        try:
            document = await self.raw.find_one({"_id": id}, session=self._session)
        except PyMongoError as exc:
            raise self._error(exc, "get") from exc
        return None if document is None else self._decode_one(document)

    async def find_one(
        self,
        filter: Mapping[str, Any] | None = None,
        *,
        sort: Sequence[tuple[str, int]] | None = None,
    ) -> T | None:
        """The first document matching ``filter`` (in ``sort`` order), or None."""
        try:
            document = await self.raw.find_one(
                filter, sort=list(sort) if sort else None, session=self._session
            )
        except PyMongoError as exc:
            raise self._error(exc, "find_one") from exc
        return None if document is None else self._decode_one(document)

    async def find(
        self,
        filter: Mapping[str, Any] | None = None,
        *,
        sort: Sequence[tuple[str, int]] | None = None,
        skip: int = 0,
        limit: int = 0,
    ) -> list[T]:
        """Every document matching ``filter`` (``limit=0``: no limit), decoded."""
        try:
            cursor = self.raw.find(
                filter,
                sort=list(sort) if sort else None,
                skip=skip,
                limit=limit,
                session=self._session,
            )
            documents = await cursor.to_list()
        except PyMongoError as exc:
            raise self._error(exc, "find") from exc
        return self._decode_many(documents)

    async def iterate(
        self,
        filter: Mapping[str, Any] | None = None,
        *,
        sort: Sequence[tuple[str, int]] | None = None,
        batch_size: int = 0,
    ) -> AsyncIterator[T]:
        """Yield the matching documents one by one (the cursor is closed when the loop ends)."""
        cursor = self.raw.find(
            filter, sort=list(sort) if sort else None, batch_size=batch_size, session=self._session
        )
        try:
            while True:
                try:
                    document = await cursor.next()
                except StopAsyncIteration:
                    return
                except PyMongoError as exc:
                    raise self._error(exc, "iterate") from exc
                yield self._decode_one(document)
        finally:
            await cursor.close()

    async def count(self, filter: Mapping[str, Any] | None = None) -> int:
        """How many documents match ``filter`` (all of them when None)."""
        try:
            return await self.raw.count_documents(filter or {}, session=self._session)
        except PyMongoError as exc:
            raise self._error(exc, "count") from exc

    async def aggregate(
        self, pipeline: Sequence[Mapping[str, Any]], *, into: type[Any] | None = None
    ) -> list[Any]:
        """Run an aggregation pipeline; return its documents (dicts, or ``into`` Structs)."""
        try:
            cursor = await self.raw.aggregate(list(pipeline), session=self._session)
            documents = await cursor.to_list()
        except PyMongoError as exc:
            raise self._error(exc, "aggregate") from exc
        if into is None or into is dict:
            return documents
        try:
            return msgspec.convert(documents, list[into], dec_hook=_dec_hook)  # type: ignore[valid-type]
        except msgspec.ValidationError as exc:
            raise DocumentDecodeError(
                f"aggregation results of {self.name} do not fit {into.__name__}: {exc}"
            ) from exc
