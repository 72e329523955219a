"""The spend guard of the create tools: never pay twice, never more than was meant.

Each create call (``generate_video``, ``remix_video``) goes through three steps:

1. **plan** (a resolver, run before the tool body): the request with its defaults filled in, its
   fingerprint (prompt, parameters, the reference image's *bytes*, the server), its price (a remix is
   priced from its source video), the ledger's totals, an identical create still worth returning, and
   the limit that refuses it, if one does.
2. **approval** (a resolver depending on the plan): above ``--confirm-above`` the user is asked through
   elicitation (``Elicit``: ``elicitation/create`` in 2025-11-25 sessions, the input_required round trip
   in 2026-07-28); a client that cannot be asked gets the estimate in a refusal, and the model calls again
   with ``confirm_cost_usd`` once the user agreed.
3. **the body**: one ledger transaction returns the identical create (``reused``), or a limit's refusal,
   or records a reservation; the create is sent and the reservation settled with the job id. Nothing
   cancels it from the reservation on: a host that gives up on the call does not lose the job id, and
   its retry gets the same job.

Identical creates in one process wait for each other; across processes the ledger's reservation
says a create is in flight. The module keeps its annotations evaluated (no postponed annotations):
the SDK reads the resolvers' signatures, and they are closures.
"""

import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

import anyio
from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    Resolve,
)
from mcp.types.version import is_version_at_least
from pydantic import BaseModel, Field

from .._assets import check_id
from .._catalog import check_request
from .._config import Settings
from .._errors import (
    APIStatusError,
    InputError,
    NotFoundError,
    SoraError,
    StorageError,
    UnsupportedOperationError,
)
from .._models import FitMode, Video
from .._spend import (
    Clock,
    Entry,
    EntryState,
    Estimate,
    Existing,
    Ledger,
    Limits,
    NewEntry,
    Refused,
    Totals,
    describe_create,
    estimate,
    fingerprint,
    ledger_path,
    limit_refusal,
    local_now,
    to_micros,
    usd,
)
from ._results import CreateInfo, SpendInfo, VideoInfo
from ._runtime import Runtime

if TYPE_CHECKING:
    from .._images import ImageReference

__all__ = ["CostApproval", "CreatePlan", "Decided", "Planned", "SpendGuard"]

log = logging.getLogger("sora_mcp.server")

Operation = Literal["generate", "remix"]
INPUT_REQUIRED_VERSION = "2026-07-28"  # elicitation travels in the result from this revision on


class CostApproval(BaseModel):
    """What the user is asked (a flat form: elicitation allows only primitive fields)."""

    approve: bool = Field(title="Start this paid job", description="Start the job described above and pay for it.")


class Decided(CostApproval):
    """Decided without asking the user: ``approve`` says whether a new paid job may start, ``reason``
    why not (shown to the model as the refusal)."""

    reason: str = ""


@dataclass(frozen=True)
class CreatePlan:
    """One create, priced and checked, before anything is sent."""

    operation: Operation
    prompt: str
    model: str
    size: str | None
    seconds: str | None
    server: str
    fit: FitMode
    reference: "ImageReference | None"
    source_video_id: str | None
    cost: Estimate
    key: str  # the fingerprint
    totals: Totals
    existing: Entry | None  # an identical create within the dedupe window
    existing_video: Video | None  # its job as the server reported it while planning
    refusal: str | None  # why a limit refuses it now
    needs_confirmation: bool
    dry_run: bool
    new_job: bool
    confirm_cost_usd: float | None

    def describe(self, article: str = "this") -> str:
        return describe_create(self.operation, self.cost, self.source_video_id, article=article)


Planned = CreatePlan | SoraError  # a plan, or the error that stopped it (raised by the tool body)
Send = Callable[[CreatePlan], Awaitable[Video]]  # sends the create a plan describes


class SpendGuard:
    """Prices, limits, confirmation and duplicates of the create tools of one server."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.limits = Limits.from_settings(settings)
        # A reservation older than a create's longest wait (two encodings, connect and read) is a lost answer.
        in_flight = 2 * (settings.timeout + settings.connect_timeout) + 60
        self.ledger = Ledger(ledger_path(settings), clock=clock or local_now, in_flight_seconds=in_flight)
        self._waiting: dict[str, tuple[anyio.Lock, int]] = {}

    # -- the resolvers the tools declare -------------------------------------------------------------
    def generate_resolvers(self) -> tuple[Resolve, Resolve]:
        """``Resolve`` markers for generate_video's plan and approval parameters."""

        async def plan_generate(
            ctx: Context[Runtime, Any],
            prompt: str,
            model: str | None,
            seconds: int | None,
            size: str | None,
            input_reference: str | None,
            fit_reference: FitMode,
            dry_run: bool,
            new_job: bool,
            confirm_cost_usd: float | None,
        ) -> Planned:
            options = _Options(dry_run, new_job, confirm_cost_usd)
            try:
                return await self.plan_generate(
                    ctx.request_context.lifespan_context,
                    prompt,
                    model=model,
                    seconds=seconds,
                    size=size,
                    input_reference=input_reference,
                    fit=fit_reference,
                    options=options,
                )
            except SoraError as exc:
                return exc

        async def approve_generate(
            ctx: Context[Runtime, Any], plan: Annotated[Planned, Resolve(plan_generate)]
        ) -> CostApproval | Elicit[CostApproval]:
            return self.approval(ctx, plan)

        return Resolve(plan_generate), Resolve(approve_generate)

    def remix_resolvers(self) -> tuple[Resolve, Resolve]:
        """``Resolve`` markers for remix_video's plan and approval parameters."""

        async def plan_remix(
            ctx: Context[Runtime, Any],
            video_id: str,
            prompt: str,
            dry_run: bool,
            new_job: bool,
            confirm_cost_usd: float | None,
        ) -> Planned:
            options = _Options(dry_run, new_job, confirm_cost_usd)
            try:
                return await self.plan_remix(ctx.request_context.lifespan_context, video_id, prompt, options=options)
            except SoraError as exc:
                return exc

        async def approve_remix(
            ctx: Context[Runtime, Any], plan: Annotated[Planned, Resolve(plan_remix)]
        ) -> CostApproval | Elicit[CostApproval]:
            return self.approval(ctx, plan)

        return Resolve(plan_remix), Resolve(approve_remix)

    # -- 1. plan --------------------------------------------------------------------------------------
    async def plan_generate(
        self,
        runtime: Runtime,
        prompt: str,
        *,
        model: str | None,
        seconds: int | None,
        size: str | None,
        input_reference: str | None,
        fit: FitMode,
        options: "_Options",
    ) -> CreatePlan:
        defaults = runtime.client.settings
        model = model or defaults.model
        size = size or defaults.size
        length = str(seconds) if seconds is not None else defaults.seconds
        check_request(model, size, length)  # an impossible request is refused before anyone is asked to pay
        reference = None
        image = None
        if input_reference is not None:
            reference = await anyio.to_thread.run_sync(_parse_reference, input_reference, defaults)
            image = _content_digest(reference)
        key = fingerprint(
            operation="generate",
            server=defaults.base_url,
            prompt=prompt,
            model=model,
            size=size,
            seconds=length,
            image=image,
            fit=fit if image is not None else None,
        )
        cost = estimate(model, size, length, self.settings.prices)
        return await self._plan(
            runtime, "generate", prompt, cost, key, options, reference=reference, fit=fit, source=None
        )

    async def plan_remix(self, runtime: Runtime, video_id: str, prompt: str, *, options: "_Options") -> CreatePlan:
        check_id(video_id)
        server = runtime.client.settings.base_url
        key = fingerprint(operation="remix", server=server, source=video_id, prompt=prompt)
        source = await runtime.client.get_video_status(video_id)  # a remix has its source's model, size, length
        cost = estimate(source.model or "unknown model", source.size, source.seconds, self.settings.prices)
        return await self._plan(
            runtime, "remix", prompt, cost, key, options, reference=None, fit="none", source=video_id
        )

    async def _plan(
        self,
        runtime: Runtime,
        operation: Operation,
        prompt: str,
        cost: Estimate,
        key: str,
        options: "_Options",
        *,
        reference: "ImageReference | None",
        fit: FitMode,
        source: str | None,
    ) -> CreatePlan:
        totals = await self.ledger.totals()
        existing, existing_video = None, None
        if not options.new_job:
            found = await self.ledger.find(key, self.settings.dedupe_window)
            existing, existing_video = await self._reusable(runtime, found)
        plan = CreatePlan(
            operation=operation,
            prompt=prompt,
            model=cost.model,
            size=cost.size,
            seconds=cost.seconds,
            server=_server_name(runtime.client.settings.base_url),
            fit=fit,
            reference=reference,
            source_video_id=source,
            cost=cost,
            key=key,
            totals=totals,
            existing=existing,
            existing_video=existing_video,
            refusal=None,
            needs_confirmation=self.limits.needs_confirmation(cost),
            dry_run=options.dry_run,
            new_job=options.new_job,
            confirm_cost_usd=options.confirm_cost_usd,
        )
        return replace(plan, refusal=limit_refusal(cost, totals, self.limits, plan.describe()))

    async def _reusable(self, runtime: Runtime, entry: Entry | None) -> tuple[Entry | None, Video | None]:
        """``entry`` (and its job) unless its job failed or is gone (then it is never offered again)."""
        if entry is None or entry.state != "sent" or entry.video_id is None:
            return entry, None
        video = await self._job(runtime, entry)
        return (entry, video) if video is not None else (None, None)

    async def _job(self, runtime: Runtime, entry: Entry) -> Video | None:
        """The recorded job as the server reports it now; None (and forgotten) when it failed or is gone."""
        assert entry.video_id is not None
        try:
            video = await runtime.client.get_video_status(entry.video_id)
        except NotFoundError:
            video = None
        if video is None or video.status == "failed":
            await self.ledger.forget(entry.id)
            return None
        return video

    # -- 2. approval ----------------------------------------------------------------------------------
    def approval(self, ctx: Context[Runtime, Any], plan: Planned) -> CostApproval | Elicit[CostApproval]:
        """Ask the user when the plan needs it and the client can be asked; else decide here."""
        if isinstance(plan, SoraError):
            return Decided(approve=False)  # the body raises the plan's error
        if plan.dry_run or not plan.needs_confirmation:
            return Decided(approve=True)
        if plan.refusal is not None:  # a limit refuses it: nobody is asked to approve what cannot start
            return Decided(approve=False, reason=plan.refusal)
        if plan.existing is not None:  # the identical job is returned: nothing new starts, no question
            return Decided(approve=False, reason=self._not_asked(plan))
        if _can_ask(ctx):
            return Elicit(self._question(plan), CostApproval)
        cost = plan.cost.micros
        if cost is not None and plan.confirm_cost_usd is not None and to_micros(plan.confirm_cost_usd) >= cost:
            return Decided(approve=True)
        return Decided(approve=False, reason=self._unconfirmed(plan))

    def _question(self, plan: CreatePlan) -> str:
        """The question, worded the same on every round (the 2026-07-28 round trip re-asks a changed one)."""
        threshold = usd(self.limits.confirm_above or 0)
        price = (
            f"for about ${plan.cost.usd:.2f}? That is above your confirmation threshold of ${threshold:.2f}."
            if plan.cost.usd is not None
            else f"at an unknown price? No price is set for {plan.model}, and jobs above ${threshold:.2f} need "
            "your approval."
        )
        excerpt = plan.prompt if len(plan.prompt) <= 300 else plan.prompt[:299] + "…"
        return f"Start {plan.describe('a')} {price} Prompt: “{excerpt}”"

    def _not_asked(self, plan: CreatePlan) -> str:
        tool = "generate_video" if plan.operation == "generate" else "remix_video"
        return (
            f"Not sent: {plan.describe()} needs the user's approval (above the "
            f"${usd(self.limits.confirm_above or 0):.2f} threshold, --confirm-above) and was not approved in this "
            f"call; nothing was spent. Call {tool} again to be asked."
        )

    def _unconfirmed(self, plan: CreatePlan) -> str:
        threshold = usd(self.limits.confirm_above or 0)
        tool = "generate_video" if plan.operation == "generate" else "remix_video"
        if plan.cost.usd is None:
            return (
                f"Not sent: {plan.describe()} has an unknown price and this server asks before any job above "
                f"${threshold:.2f} (--confirm-above), but this client cannot ask the user; nothing was spent. "
                f"Whoever runs sora-mcp can set the price with --price {plan.model}=USD_PER_SECOND (or "
                "SORA_MCP_PRICES)."
            )
        return (
            f"Not sent: {plan.describe()} would cost about ${plan.cost.usd:.2f}, above the ${threshold:.2f} "
            "confirmation threshold (--confirm-above), and this client cannot ask the user; nothing was spent. "
            f"Tell the user it costs about "
            f"${plan.cost.usd:.2f}; if they agree, call {tool} again with the same arguments and "
            f"confirm_cost_usd={plan.cost.usd:g}."
        )

    # -- 3. the create ----------------------------------------------------------------------------------
    async def create(
        self, runtime: Runtime, plan: Planned, approval: ElicitationResult[CostApproval], send: Send
    ) -> CreateInfo:
        """Return the identical job, refuse, or reserve-send-settle; ``send`` makes the request."""
        if isinstance(plan, SoraError):
            raise plan
        if plan.dry_run:
            return self._dry_run(plan)
        approved, reason = self._verdict(plan, approval)
        if not approved and plan.existing is None:
            raise InputError(reason)
        async with self._one_at_a_time(plan.key):
            with anyio.CancelScope(shield=True):
                outcome = await self._reserve_and_send(plan, approved, reason, send, new_job=plan.new_job)
            if isinstance(outcome, Existing):
                reused = await self._reuse(runtime, outcome.entry, plan, outcome.totals)
                if reused is not None:
                    return reused
                with anyio.CancelScope(shield=True):
                    outcome = await self._reserve_and_send(plan, approved, reason, send, new_job=True)
            assert not isinstance(outcome, Existing)
        video, totals = outcome
        return self._info(VideoInfo.from_video(video).model_dump(), plan, totals, reused=False)

    async def _reserve_and_send(
        self, plan: CreatePlan, approved: bool, reason: str, send: Send, *, new_job: bool
    ) -> tuple[Video, Totals] | Existing:
        """Check-and-reserve, send, settle. Callers shield it from cancellation: a reservation is never
        left behind for a create that was not sent, and a job id that arrives is always recorded."""
        entry = NewEntry(plan.operation, plan.key, plan.server, plan.cost, plan.source_video_id)
        decision = await self.ledger.reserve(entry, self.limits, window=self.settings.dedupe_window, new_job=new_job)
        if isinstance(decision, Existing):
            return decision
        if isinstance(decision, Refused):
            raise InputError(decision.reason)
        if not approved:
            await self.ledger.release(decision.entry_id)
            raise InputError(reason)
        try:
            video = await send(plan)
        except BaseException as exc:
            if _created_nothing(exc):
                await self._settle(decision.entry_id, "not_sent")
            else:
                log.warning("a create's answer was lost: recorded as possibly spent (ledger row %d)", decision.entry_id)
                await self._settle(decision.entry_id, "unknown")
            raise
        await self._settle(decision.entry_id, "sent", video.id)
        return video, decision.totals

    async def _settle(self, entry_id: int, state: EntryState, video_id: str | None = None) -> None:
        """Record how a sent create ended. If the ledger fails now, what happened on the server still
        stands (a job that was made is returned): the reservation stays, counted as possibly spent."""
        try:
            await self.ledger.settle(entry_id, state, video_id)
        except StorageError as exc:
            log.warning("the ledger could not record create %d as %s (job %s): %s", entry_id, state, video_id, exc)

    def _verdict(self, plan: CreatePlan, approval: ElicitationResult[CostApproval]) -> tuple[bool, str]:
        if isinstance(approval, AcceptedElicitation):
            answer = approval.data
            if isinstance(answer, Decided):
                return answer.approve, answer.reason
            if answer.approve:
                return True, ""
        return False, (
            f"Not sent: the user did not approve {plan.describe()}; nothing was started and nothing was spent. "
            "Ask the user what to change before trying again."
        )

    async def _reuse(self, runtime: Runtime, entry: Entry, plan: CreatePlan, totals: Totals) -> CreateInfo | None:
        """The result for an identical create: its job (``reused``), or a refusal when its answer never
        came; None when its job failed or is gone (then a new one may start)."""
        when = datetime.fromtimestamp(entry.created_at).astimezone().strftime("%H:%M:%S")
        tool = "generate_video" if plan.operation == "generate" else "remix_video"
        if entry.in_flight:
            raise InputError(
                f"Not sent: an identical {tool} call was sent at {when} by another sora-mcp process and its "
                "answer has not arrived yet; nothing more was spent. Call again in a minute to get that job, or "
                f"call {tool} with new_job=true to start a second one."
            )
        if entry.state != "sent" or entry.video_id is None:
            raise InputError(
                f"Not sent: an identical {tool} call was sent at {when} but its answer was lost, so the job "
                "may exist and is counted as possibly spent; nothing more was spent. Look for it with list_videos; "
                f"to start another anyway, call {tool} again with new_job=true."
            )
        known = plan.existing_video if plan.existing is not None and plan.existing.id == entry.id else None
        video = known or await self._job(runtime, entry)
        if video is None:
            return None
        cost = plan.cost._replace(micros=entry.micros) if entry.micros is not None else plan.cost
        info = VideoInfo.from_video(video)
        minutes = round((self.ledger.clock().timestamp() - entry.created_at) / 60)
        ago = "just now" if minutes < 1 else f"{minutes} min ago"
        next_step = (
            f"Reused: an identical {tool} call started this job at {when} ({ago}), so no second "
            f"job was started and nothing more was spent. {info.next_step} To really start another, call {tool} "
            "again with new_job=true."
        )
        fields = info.model_dump() | {"next_step": next_step}
        return self._info(fields, replace(plan, cost=cost), totals, reused=True)

    @asynccontextmanager
    async def _one_at_a_time(self, key: str) -> AsyncIterator[None]:
        """Identical creates in this process wait for each other (the second then finds the first's job)."""
        lock, users = self._waiting.get(key, (anyio.Lock(), 0))
        self._waiting[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._waiting[key]
            if users <= 1:
                del self._waiting[key]
            else:
                self._waiting[key] = (lock, users - 1)

    # -- results ----------------------------------------------------------------------------------------
    def _dry_run(self, plan: CreatePlan) -> CreateInfo:
        tool = "generate_video" if plan.operation == "generate" else "remix_video"
        if plan.existing is not None and plan.existing.video_id is not None:
            step = (
                f"Nothing was sent. An identical call already started {plan.existing.video_id}: calling {tool} "
                "without dry_run returns it (reused); new_job=true starts another."
            )
        elif plan.refusal is not None:
            step = f"Nothing was sent. {plan.refusal}"
        elif plan.needs_confirmation:
            step = (
                f"Nothing was sent. Starting it needs the user's approval (above --confirm-above); call {tool} "
                "without dry_run."
            )
        else:
            step = f"Nothing was sent. Call {tool} again without dry_run to start it."
        video: dict[str, Any] = {
            "id": None,
            "status": None,
            "server_status": None,
            "progress": None,
            "model": plan.model,
            "prompt": plan.prompt,
            "size": plan.size,
            "seconds": plan.seconds,
            "created_at": None,
            "completed_at": None,
            "expires_at": None,
            "remixed_from_video_id": plan.source_video_id,
            "error": None,
            "next_step": step,
        }
        return self._info(video, plan, plan.totals, reused=False, dry_run=True)

    def _info(
        self, video: dict[str, Any], plan: CreatePlan, totals: Totals, *, reused: bool, dry_run: bool = False
    ) -> CreateInfo:
        """``video`` (VideoInfo's fields) with the estimate, the limits' state and how it came about."""
        daily, monthly = totals.remaining(self.limits)
        limits = self.limits

        def money(micros: int | None) -> float | None:
            return usd(micros) if micros is not None else None

        spend = SpendInfo(
            estimate_usd=plan.cost.usd,
            price_per_second_usd=plan.cost.per_second,
            price_source=plan.cost.source,
            spent_today_usd=usd(totals.today),
            spent_this_month_usd=usd(totals.month_total),
            unpriced_today=totals.unpriced_today,
            unpriced_this_month=totals.unpriced_this_month,
            max_cost_per_video_usd=money(limits.max_cost_per_video),
            daily_budget_usd=money(limits.daily_budget),
            daily_remaining_usd=money(daily),
            monthly_budget_usd=money(limits.monthly_budget),
            monthly_remaining_usd=money(monthly),
            confirm_above_usd=money(limits.confirm_above),
            needs_confirmation=plan.needs_confirmation,
            allowed=plan.refusal is None or reused,
            refusal=None if reused else plan.refusal,
        )
        data = video | {"estimated_cost_usd": plan.cost.usd}
        return CreateInfo(**data, reused=reused, dry_run=dry_run, spend=spend)


@dataclass(frozen=True)
class _Options:
    dry_run: bool
    new_job: bool
    confirm_cost_usd: float | None


def _parse_reference(value: str, settings: Settings) -> "ImageReference":
    from .._images import ImageReference  # Pillow is loaded only when an image is given

    return ImageReference.parse(value, roots=settings.input_roots)


def _content_digest(reference: "ImageReference") -> str:
    """What identifies a reference image: its bytes (not its path), else its URL or file id."""
    if reference.data is not None:
        return "sha256:" + hashlib.sha256(reference.data).hexdigest()
    return f"{reference.kind}:{reference.url or reference.file_id}"


def _server_name(base_url: str | None) -> str:
    """The base URL as the ledger shows it: no user info, query or fragment (nothing secret is kept)."""
    if base_url is None:
        return "(no server configured)"
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _can_ask(ctx: Context[Runtime, Any]) -> bool:
    """The client takes form elicitation, and this request can carry a question to it."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    version = ctx.protocol_version
    if version is not None and is_version_at_least(version, INPUT_REQUIRED_VERSION):
        return True  # the question rides the result (input_required); no back-channel needed
    return bool(ctx.session.can_send_request)


def _created_nothing(exc: BaseException) -> bool:
    """True when the failure proves no job was made: a local refusal before sending, or a 4xx
    (or an operation the server does not offer). Anything else may have made one."""
    if isinstance(exc, InputError | UnsupportedOperationError):
        return True
    return isinstance(exc, APIStatusError) and exc.status_code < 500
