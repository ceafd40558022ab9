from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy.ext.asyncio import AsyncSession

from enroll.api.dependencies import get_session, require, workspace_id_of
from enroll.api.routing import TransactionalRoute
from enroll.auth.principal import Principal
from enroll.auth.scopes import Scope
from enroll.kit.schemas import OutModel
from enroll.workspace import service

router = APIRouter(prefix="/v1/workspace", tags=["workspace"], route_class=TransactionalRoute)
Session = Annotated[AsyncSession, Depends(get_session)]
Manager = Annotated[Principal, require(Scope.API_KEYS_MANAGE)]


class SigningSecretOut(OutModel):
    signing_secret: str


# POST, not GET: the first call creates the secret, and no cache should keep the answer.
@router.post("/signingSecret")
async def get_signing_secret(
    session: Session, response: Response, principal: Manager
) -> SigningSecretOut:
    """The secret that signs the platform's calls to your endpoints (asynchronous eligibility
    checks), Standard Webhooks style (`whsec_` + base64 of 32 bytes). Made on the first call;
    every later call answers the same secret."""
    secret = await service.signing_secret(session, workspace_id=workspace_id_of(principal))
    response.headers["Cache-Control"] = "no-store"
    return SigningSecretOut(signing_secret=secret)
