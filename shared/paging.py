"""The page every list endpoint answers with."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


# Query parameters every list endpoint takes; bounded so no value can overflow the database.
MAX_PAGE_SIZE, MAX_OFFSET = 500, 1_000_000_000
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="page size")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")]

# The same bounds as fields of a route's query model (one pydantic validation for the whole query string).
PageSize = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE, description="page size")]
PageOffset = Annotated[int, Field(ge=0, le=MAX_OFFSET, description="items to skip")]
