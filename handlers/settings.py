"""A community's settings: visibility of members and ads, and how new members are validated."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import delete

from handlers.context import Actor, Context
from handlers.errors import Refusal
from handlers.i18n import number, t
from handlers.pending import BULK, bulk_count
from handlers.present import clip, parse_domains_column, validation_key
from handlers.reply import Button, InputRequest, Reply
from handlers.rights import administered_community
from handlers.uow import audit, transaction, use_case
from handlers.validation_input import (
    DOMAIN_COLUMN_LENGTH,
    parse_domains,
    parse_identifiers,
)
from storage import queries
from storage.clock import now
from storage.codes import ValidationType
from storage.memberships import touch_community
from storage.models import CommunitySecurity

MAX_BAD_LINES_SHOWN = 10
ALLOWED_SUFFIXES = (".csv", ".txt")


@use_case
def set_members_hidden(ctx: Context, actor: Actor, community_id: int, hidden: bool) -> Reply:
    return _set_flag(ctx, actor, community_id, "members_hidden", hidden)


@use_case
def set_ads_hidden(ctx: Context, actor: Actor, community_id: int, hidden: bool) -> Reply:
    return _set_flag(ctx, actor, community_id, "proposals_hidden", hidden)


def _set_flag(ctx: Context, actor: Actor, community_id: int, column: str, value: bool) -> Reply:
    """Set (not flip) the flag: pressing an old button twice never undoes the first press."""
    lang = actor.language
    with transaction(ctx, write=True) as session:
        community = administered_community(session, actor, community_id)
        queries.lock_community(session, community.id)
        before = bool(getattr(community, column))
        if before != value:
            touch_community(session, community, now(), **{column: value})
            audit(
                session,
                actor,
                column,
                community_id=community.id,
                before={column: before},
                after={column: value},
            )
    key = f"settings.{column}.{'on' if value else 'off'}"
    return Reply(t(lang, key, community=community.name), replaces_message=True)


@use_case
def validation_menu(ctx: Context, actor: Actor, community_id: int) -> Reply:
    lang = actor.language
    with transaction(ctx) as session:
        community = administered_community(session, actor, community_id)
    cid = str(community.id)
    current = t(lang, validation_key(community.validation_type))
    domains = parse_domains_column(community.domain)
    lines = [t(lang, "validation.menu", community=community.name, current=current)]
    if domains:
        lines.append(t(lang, "card.domains", domains=", ".join(domains)))
    lines += [t(lang, f"validation.explain.{v.name.lower()}") for v in ValidationType]
    return Reply(
        "\n".join(lines),
        (
            (
                Button(t(lang, "validation.automatic"), "validation_set", f"{cid}:0"),
                Button(t(lang, "validation.manual"), "validation_set", f"{cid}:1"),
            ),
            (
                Button(
                    t(lang, "validation.domain"),
                    "domains",
                    cid,
                    input=InputRequest(t(lang, "validation.domains_prompt")),
                ),
                Button(
                    t(lang, "validation.secured"),
                    "identifiers",
                    cid,
                    input=InputRequest(t(lang, "validation.file_prompt"), kind="file"),
                ),
            ),
        ),
    )


@use_case
def set_validation(ctx: Context, actor: Actor, community_id: int, validation_type: int) -> Reply:
    """Automatic or by a moderator. Domain and secured need their input: see below."""
    if validation_type not in (ValidationType.AUTOMATIC, ValidationType.MANUAL):
        raise Refusal("error.bad_button")
    return _apply_validation(ctx, actor, community_id, ValidationType(validation_type), {})


@use_case
def set_domains(ctx: Context, actor: Actor, community_id: int, text: str) -> Reply:
    parsed = parse_domains(text)
    if parsed.invalid:
        raise Refusal(
            "validation.bad_domains", domains=", ".join(clip(d, 100) for d in parsed.invalid[:10])
        )
    if not parsed.domains:
        raise Refusal("validation.no_domains")
    if len(parsed.column) > DOMAIN_COLUMN_LENGTH:
        raise Refusal("validation.domains_too_long", limit=DOMAIN_COLUMN_LENGTH)
    return _apply_validation(
        ctx, actor, community_id, ValidationType.DOMAIN, {"domain": parsed.column}
    )


def _apply_validation(
    ctx: Context,
    actor: Actor,
    community_id: int,
    validation_type: ValidationType,
    extra: dict[str, object],
) -> Reply:
    lang = actor.language
    with transaction(ctx, write=True) as session:
        community = administered_community(session, actor, community_id)
        queries.lock_community(session, community.id)
        before = {"validation_type": community.validation_type, "domain": community.domain}
        values = {"validation_type": int(validation_type), **extra}
        changed = any(before.get(k) != v for k, v in values.items())
        if changed:
            touch_community(session, community, now(), **values)
            audit(session, actor, "validation", community_id=community.id,
                  before=before, after=values)  # fmt: skip
        offer = _acceptance_offer(session, community, validation_type)
    text = t(
        lang,
        "validation.changed" if changed else "validation.unchanged",
        community=community.name,
        validation=t(lang, validation_key(validation_type)),
    )
    if validation_type == ValidationType.DOMAIN:
        text += "\n" + t(
            lang, "card.domains", domains=", ".join(parse_domains_column(community.domain))
        )
    return _with_offer(lang, text, community.id, offer)


def _acceptance_offer(
    session, community, validation_type: ValidationType
) -> tuple[str, int] | None:
    """Switching to a rule that would have accepted pending members offers to accept them."""
    if validation_type == ValidationType.AUTOMATIC:
        kind = "approve_all"
    elif validation_type == ValidationType.DOMAIN:
        kind = "approve_matching"
    else:
        return None
    count = bulk_count(session, community, kind)
    return (kind, count) if count else None


def _with_offer(lang: str, text: str, community_id: int, offer) -> Reply:
    if not offer:
        return Reply(text, replaces_message=True)
    kind, count = offer
    assert kind in BULK
    text += "\n\n" + t(lang, f"validation.offer.{kind}", count=number(count))
    return Reply(
        text,
        (
            (
                Button(
                    t(lang, f"bulk.{kind}.confirm", count=number(count)),
                    kind + "_ok",
                    f"{community_id}:{count}",
                    "primary",
                ),
            ),
        ),  # fmt: skip
        replaces_message=True,
    )


@use_case
def set_identifiers(
    ctx: Context, actor: Actor, community_id: int, original_name: str, content: bytes
) -> Reply:
    """Secured validation from a file of identifier pairs, checked line by line first."""
    lang = actor.language
    limit = ctx.settings.max_identifiers_file_bytes
    if len(content) > limit:
        raise Refusal("validation.file_too_big", limit=number(limit // 1024))
    original_name = Path(original_name or "identifiants.csv").name[:255]
    suffix = Path(original_name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise Refusal("validation.file_type", name=original_name)
    parsed = parse_identifiers(content)
    if parsed.bad_lines:
        shown = "\n".join(
            t(lang, "validation.bad_line", number=number(n), line=line[:80])
            for n, line in parsed.bad_lines[:MAX_BAD_LINES_SHOWN]
        )
        more = len(parsed.bad_lines) - MAX_BAD_LINES_SHOWN
        if more > 0:
            shown += "\n" + t(lang, "validation.more_bad_lines", count=number(more))
        raise Refusal("validation.file_rejected", count=number(len(parsed.bad_lines)), lines=shown)
    if parsed.pairs == 0:
        raise Refusal("validation.file_empty")
    folder = Path(ctx.settings.security_folder)
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = f"{community_id}-{uuid.uuid4().hex}{suffix}"
    path = folder / stored_name
    path.write_bytes(content)
    try:
        with transaction(ctx, write=True) as session:
            # Lock first, so that the files read below are the latest (see confirm_bulk).
            queries.lock_community(session, community_id)
            community = administered_community(session, actor, community_id)
            old = queries.security_files(session, community.id)
            session.execute(
                delete(CommunitySecurity).where(CommunitySecurity.community_id == community.id)
            )
            session.add(
                CommunitySecurity(
                    community_id=community.id, filename=stored_name, original_name=original_name
                )
            )
            before = {
                "validation_type": community.validation_type,
                "files": [f.original_name for f in old],
            }
            touch_community(session, community, now(), validation_type=int(ValidationType.SECURED))
            audit(session, actor, "identifiers", community_id=community.id, before=before,
                  after={"validation_type": int(ValidationType.SECURED), "file": original_name,
                         "pairs": parsed.pairs})  # fmt: skip
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    for previous in old:
        if previous.filename != stored_name:
            (folder / Path(previous.filename).name).unlink(missing_ok=True)
    return Reply(
        t(
            lang,
            "validation.file_accepted",
            community=community.name,
            name=original_name,
            pairs=number(parsed.pairs),
        ),  # fmt: skip
        replaces_message=True,
    )
