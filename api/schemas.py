"""Request and response schemas (XBase / XCreate / XRead), separate from tables and domain objects."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from services.domain.demand import VulnerableGroup


def _storable(value: str) -> str:
    """PostgreSQL text holds neither NUL characters nor lone surrogates (which UTF-8 cannot encode): refused here,
    naming the field, rather than failing deep in a query or on Kafka as a 500."""
    if "\x00" in value:
        raise ValueError("must not contain NUL (U+0000) characters")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


Text = Annotated[str, AfterValidator(_storable)]


class PointIn(BaseModel):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class ItemNeedIn(BaseModel):
    item_code: Text = Field(min_length=1, max_length=40)
    quantity_per_day: float = Field(gt=0, le=1_000_000)


class DemandBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    commune_code: str = Field(pattern=r"^\d{5}$", description="official GSO commune/ward code")
    zone_id: Text | None = Field(default=None, min_length=1, max_length=64)
    location: PointIn | None = None
    households: int = Field(ge=0, le=200_000)
    people: int = Field(ge=0, le=1_000_000)
    vulnerable: dict[VulnerableGroup, int] = Field(default_factory=dict,
                                                   description="households in each vulnerable group")
    needs: list[ItemNeedIn] = Field(default_factory=list, max_length=50,
                                    description="explicit needs per day; when empty, ration norms apply")
    relief_bags: int = Field(default=0, ge=0)


class DemandCreate(DemandBase):
    event_id: Text | None = Field(default=None, min_length=1, max_length=128,
                                 description="stable id chosen by the sender; or send an Idempotency-Key header")
    occurred_at: AwareDatetime | None = None


class DemandAccepted(BaseModel):
    event_id: str
    district_code: str
    status: str = "accepted"


class RowRejected(BaseModel):
    row: int = Field(description="the line of the CSV file the row starts on (the header is line 1)")
    field: str
    message: str


class CsvUploadResult(BaseModel):
    accepted: int
    rejected: list[RowRejected]
