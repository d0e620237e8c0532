"""The /__admin routes (never journaled, never faulted; ``guard`` decides who may call them).

GET/DELETE /__admin/requests      the journal / clear it
GET/POST/DELETE /__admin/faults   show / set / clear run-time faults
GET/DELETE /__admin/deliveries    webhook and upload attempts / clear them
POST /__admin/clock               {"advance": seconds}: finish simulated work sooner
GET/POST/DELETE /__admin/account  show / set {"balance": N} / restore the account's balance
GET /__admin/sessions             WebSocket sessions: connected, buffered messages, resumes
POST /__admin/disconnect          close every open WebSocket (1012); their sessions stay resumable
POST /__admin/reset               forget everything (images, jobs, journal, faults, balance)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from api_schema import errors as E

from ..account import AccountError
from ..jobs import MAX_ADVANCE_S
from ..memory import give_back
from ..server.envelope import error_response
from ..state import MockState, state_of
from . import ADMIN_PREFIX
from .faults import FaultSpecError
from .guard import admin_guard

router = APIRouter(prefix=ADMIN_PREFIX, include_in_schema=False, dependencies=[Depends(admin_guard)])


def _bad_body(message: str) -> Response:
    return error_response(400, E.INVALID_REQUEST_BODY, message)


async def _configure(
    request: Request, configure: Callable[[Any], dict[str, Any]], refused: type[ValueError]
) -> Response:
    """Apply a JSON body with ``configure``; a body that is not JSON, or that it refuses, is a 400."""
    try:
        spec = json.loads(await request.body() or b"null")
    except (ValueError, RecursionError):
        return _bad_body("The body must be a JSON object.")
    try:
        return JSONResponse(configure(spec))
    except refused as exc:
        return _bad_body(str(exc))


@router.get("/requests")
async def list_requests(state: MockState = Depends(state_of)) -> dict[str, Any]:
    return {"requests": state.journal.entries()}


@router.delete("/requests")
async def clear_requests(state: MockState = Depends(state_of)) -> dict[str, Any]:
    state.journal.clear()
    await give_back()  # a full journal is up to 32 MB of bodies: the heap pages go back now
    return {"requests": []}


@router.get("/faults")
async def show_faults(state: MockState = Depends(state_of)) -> dict[str, Any]:
    return state.faults.describe()


@router.post("/faults")
async def set_faults(request: Request, state: MockState = Depends(state_of)) -> Response:
    return await _configure(request, state.faults.configure, FaultSpecError)


@router.delete("/faults")
async def clear_faults(state: MockState = Depends(state_of)) -> dict[str, Any]:
    return state.faults.clear()


@router.get("/deliveries")
async def list_deliveries(state: MockState = Depends(state_of)) -> dict[str, Any]:
    return {"deliveries": state.outbound.deliveries(), "allowed": state.outbound.policy.describe()}


@router.delete("/deliveries")
async def clear_deliveries(state: MockState = Depends(state_of)) -> dict[str, Any]:
    state.outbound.clear()
    return {"deliveries": []}


@router.post("/clock")
async def advance_clock(request: Request, state: MockState = Depends(state_of)) -> Response:
    try:
        body = json.loads(await request.body() or b"{}")
        seconds = body.get("advance") if isinstance(body, dict) else None
    except ValueError:
        seconds = None
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not 0 <= seconds <= MAX_ADVANCE_S
    ):
        return _bad_body(f'Send {{"advance": seconds}} with 0 <= seconds <= {MAX_ADVANCE_S:g}.')
    try:
        state.jobs.clock.advance(float(seconds))
    except ValueError as exc:
        return _bad_body(str(exc))
    return JSONResponse({"offset": state.jobs.clock.offset})


@router.get("/account")
async def show_account(state: MockState = Depends(state_of)) -> dict[str, Any]:
    return state.account.describe()


@router.post("/account")
async def set_account(request: Request, state: MockState = Depends(state_of)) -> Response:
    return await _configure(request, state.account.configure, AccountError)


@router.delete("/account")
async def restore_account(state: MockState = Depends(state_of)) -> dict[str, Any]:
    state.account.reset()
    return state.account.describe()


@router.get("/sessions")
async def list_sessions(state: MockState = Depends(state_of)) -> dict[str, Any]:
    return state.sessions.describe()


@router.post("/disconnect")
async def disconnect_sockets(state: MockState = Depends(state_of)) -> dict[str, Any]:
    closers = list(state.sockets)
    for close in closers:
        await close()
    return {"closed": len(closers)}


@router.post("/reset")
async def reset_all(state: MockState = Depends(state_of)) -> dict[str, Any]:
    await state.reset()
    await give_back()  # the images, jobs and journal just dropped
    return {"reset": True}
