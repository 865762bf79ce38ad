"""/v1/providers: home-care providers and their monthly settlements."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Response, status
from sqlalchemy import func, select

from services.eldercare.care import homecare as usecases
from services.eldercare.models import Provider, Settlement
from services.eldercare.schemas import Page, ProviderIn, ProviderOut, SettlementIn, SettlementOut
from shared.app import Session
from shared.auth import Principal, require
from shared.paging import Limit, Offset

router = APIRouter(prefix="/v1/providers", tags=["home care"])
Reader = Annotated[Principal, require("eldercare:read")]
Writer = Annotated[Principal, require("eldercare:write")]


def provider_out(p: Provider) -> ProviderOut:
    return ProviderOut(provider_id=p.id, name=p.name, credit_code=p.credit_code, services=p.services, phone=p.phone)


def settlement_out(s: Settlement) -> SettlementOut:
    return SettlementOut(
        settlement_id=s.id,
        provider_id=s.provider_id,
        month=s.month,
        total=s.total,
        orders=s.orders,
        elders=s.elders,
        refused=s.refused,
    )


@router.post(
    "", response_model=ProviderOut, status_code=status.HTTP_201_CREATED, summary="Register a home-care provider"
)
async def create(body: ProviderIn, session: Session, principal: Writer) -> ProviderOut:
    p = await usecases.create_provider(session, body)
    await session.commit()
    return provider_out(p)


@router.get("", response_model=Page[ProviderOut], summary="List providers")
async def list_providers(
    session: Session, principal: Reader, limit: Limit = 50, offset: Offset = 0
) -> Page[ProviderOut]:
    total = (await session.execute(select(func.count()).select_from(Provider))).scalar_one()
    rows = (
        (await session.execute(select(Provider).order_by(Provider.name, Provider.id).limit(limit).offset(offset)))
        .scalars()
        .all()
    )
    return Page(items=[provider_out(p) for p in rows], total=total, limit=limit, offset=offset)


@router.get("/{provider_id}", response_model=ProviderOut, summary="One provider")
async def get_one(provider_id: uuid.UUID, session: Session, principal: Reader) -> ProviderOut:
    return provider_out(await usecases.get_provider(session, provider_id))


@router.post(
    "/{provider_id}/settlements",
    response_model=SettlementOut,
    status_code=status.HTTP_201_CREATED,
    summary="Settle a month, never over an elder's budget (idempotent: the same month again answers it, 200)",
)
async def settle(
    provider_id: uuid.UUID, body: SettlementIn, response: Response, session: Session, principal: Writer
) -> SettlementOut:
    s, created = await usecases.settle(session, provider_id, body.month)
    await session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return settlement_out(s)


@router.get(
    "/{provider_id}/settlements",
    response_model=list[SettlementOut],
    summary="The provider's settlements, latest month first",
)
async def list_settlements(provider_id: uuid.UUID, session: Session, principal: Reader) -> list[SettlementOut]:
    await usecases.get_provider(session, provider_id)
    rows = (
        await session.execute(
            select(Settlement).where(Settlement.provider_id == provider_id).order_by(Settlement.month.desc())
        )
    ).scalars()
    return [settlement_out(s) for s in rows]
