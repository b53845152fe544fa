"""A community's settings: visibility of members and ads, and how new members are validated."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from sqlalchemy import delete

from handlers.community.bulk import BULK, bulk_count
from handlers.community.pending import bulk_confirm_button
from handlers.community.validation_input import (
    DOMAIN_COLUMN_LENGTH,
    PLATFORM_MIME_TYPES,
    parse_domains,
    parse_identifiers,
    platform_domains,
)
from handlers.core import limits
from handlers.core.actions import Action, IdAndFlag, Ids
from handlers.core.audit import AuditAction, audit
from handlers.core.context import Actor, Context
from handlers.core.errors import Refusal
from handlers.core.i18n import number, t
from handlers.core.present import clip, validation_key, validation_label
from handlers.core.reply import InputRequest, Reply
from handlers.core.rights import administered_community
from handlers.core.uow import transaction, use_case
from storage import queries
from storage.clock import now
from storage.codes import ValidationType
from storage.memberships import touch_community
from storage.models import CommunitySecurity

MAX_BAD_LINES_SHOWN = 10
#: Symfony's guessExtension for the platform's two MIME types, used by Vich's PropertyNamer
#: when the original name has no extension.
GUESSED_EXTENSIONS = {"text/plain": "txt", "text/csv": "csv"}


@use_case
def set_members_hidden(ctx: Context, actor: Actor, community_id: int, hidden: bool) -> Reply:
    return _set_flag(ctx, actor, community_id, AuditAction.MEMBERS_HIDDEN, hidden)


@use_case
def set_ads_hidden(ctx: Context, actor: Actor, community_id: int, hidden: bool) -> Reply:
    return _set_flag(ctx, actor, community_id, AuditAction.PROPOSALS_HIDDEN, hidden)


def _set_flag(
    ctx: Context, actor: Actor, community_id: int, flag: AuditAction, value: bool
) -> Reply:
    """Set (not flip) the flag: pressing an old button twice never undoes the first press."""
    lang = actor.language
    column = flag.value  # the action is named after its column
    with transaction(ctx, write=True) as session:
        community = administered_community(session, actor, community_id)
        queries.lock_community(session, community.id)
        before = bool(getattr(community, column))
        if before != value:
            touch_community(session, community, now(), **{column: value})
            audit(
                session,
                actor,
                flag,
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
        files = queries.security_files(session, community.id)
    cid = community.id
    current = validation_label(lang, community.validation_type, bool(files))
    domains = platform_domains(community.domain)
    lines = [t(lang, "validation.menu", community=community.name, current=current)]
    if domains:
        lines.append(t(lang, "card.domains", domains=", ".join(domains)))
    if files:
        lines.append(t(lang, "validation.identifiers_will_go", count=len(files)))
    lines += [t(lang, f"validation.explain.{v.name.lower()}") for v in ValidationType]
    return Reply(
        "\n".join(lines),
        (
            (
                SET_VALIDATION.button(
                    t(lang, "validation.automatic"), cid, ValidationType.AUTOMATIC
                ),
                SET_VALIDATION.button(t(lang, "validation.manual"), cid, ValidationType.MANUAL),
            ),
            (
                DOMAINS.button(t(lang, "validation.domain"), cid, input=domains_request(lang)),
                IDENTIFIERS.button(
                    t(lang, "validation.secured"), cid, input=identifiers_request(lang)
                ),
            ),
        ),
    )


def domains_request(lang: str) -> InputRequest:
    return InputRequest(t(lang, "validation.domains_prompt"))


def identifiers_request(lang: str) -> InputRequest:
    return InputRequest(t(lang, "validation.file_prompt"), kind="file")


@use_case
def set_validation(ctx: Context, actor: Actor, community_id: int, validation_type: int) -> Reply:
    """Automatic or by a moderator. Domain and secured need their input: see below."""
    if validation_type not in (ValidationType.AUTOMATIC, ValidationType.MANUAL):
        raise Refusal("error.bad_button")
    return _apply_validation(ctx, actor, community_id, ValidationType(validation_type), {})


@use_case
def set_domains(ctx: Context, actor: Actor, community_id: int, text: str) -> Reply:
    limits.check(text, limits.DOMAINS)
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
    """Automatic, manual or domain validation. The platform treats a community as secured while
    it has community_security rows (CommunityManager::canJoin), so leaving secured validation
    deletes them, and their files after the commit, as the platform's own removal does."""
    lang = actor.language
    with transaction(ctx, write=True) as session:
        community = administered_community(session, actor, community_id)
        queries.lock_community(session, community.id)
        files = queries.security_files(session, community.id)
        before: dict[str, object] = {
            "validation_type": community.validation_type,
            "domain": community.domain,
        }
        values = {"validation_type": int(validation_type), **extra}
        changed = bool(files) or any(before.get(k) != v for k, v in values.items())
        if changed:
            after: dict[str, object] = dict(values)
            if files:
                before["files"] = [f.original_name for f in files]
                after["identifier_files_deleted"] = len(files)
                delete_security_rows(session, community.id)
            touch_community(session, community, now(), **values)
            audit(session, actor, AuditAction.VALIDATION, community_id=community.id,
                  before=before, after=after)  # fmt: skip
        offer = _acceptance_offer(session, community, validation_type)
    removed = remove_security_files(ctx.settings.security_folder, [f.filename for f in files])
    text = t(
        lang,
        "validation.changed" if changed else "validation.unchanged",
        community=community.name,
        validation=t(lang, validation_key(validation_type)),
    )
    if files:
        text += "\n" + t(
            lang, "validation.identifiers_removed", count=len(files), files=number(lang, removed)
        )
    if validation_type == ValidationType.DOMAIN:
        text += "\n" + t(
            lang, "card.domains", domains=", ".join(platform_domains(community.domain))
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
    text += "\n\n" + t(lang, f"validation.offer.{kind}", count=count)
    return Reply(
        text,
        ((bulk_confirm_button(lang, kind, community_id, count),),),
        replaces_message=True,
    )


def delete_security_rows(session, community_id: int) -> None:
    session.execute(
        delete(CommunitySecurity)
        .where(CommunitySecurity.community_id == community_id)
        .execution_options(synchronize_session=False)
    )


def remove_security_files(folder: Path, names: list[str]) -> int:
    """Delete identifier files from the platform's folder (never outside it); how many went."""
    removed = 0
    for name in names:
        path = folder / Path(name).name
        with contextlib.suppress(OSError):
            if path.is_file():
                path.unlink()
                removed += 1
    return removed


def stored_name(folder: Path, community_id: int, original_name: str, mime: str) -> str:
    """The platform's name: `time()-communityId` (CommunitySecurityManager::createSecurity),
    plus the original name's extension, which Vich's PropertyNamer appends (else the one
    Symfony guesses from the MIME type). The next free second if that name is taken."""
    extension = original_name.rpartition(".")[2] if "." in original_name else ""
    extension = extension or GUESSED_EXTENSIONS.get(mime, "")
    suffix = f".{extension}" if extension else ""
    second = int(time.time())
    while (folder / f"{second}-{community_id}{suffix}").exists():
        second += 1
    return f"{second}-{community_id}{suffix}"


@use_case
def set_identifiers(
    ctx: Context, actor: Actor, community_id: int, original_name: str, content: bytes
) -> Reply:
    """Secured validation from a file of identifier pairs, accepted exactly when the platform's
    upload would accept it (CommunitySecurityManager::__validateSecurityFile), and stored where
    and as the platform stores it, so that its join check reads it."""
    lang = actor.language
    limit = ctx.settings.max_identifiers_file_bytes
    if len(content) > limit:
        raise Refusal("validation.file_too_big", limit=number(lang, limit // 1024))
    original_name = Path(original_name or "identifiants.csv").name[:255]
    parsed = parse_identifiers(content)
    if parsed.mime_type not in PLATFORM_MIME_TYPES:
        raise Refusal("validation.file_type", name=original_name, mime=parsed.mime_type)
    if parsed.bad_lines:
        shown = "\n".join(
            t(lang, "validation.bad_line", number=number(lang, bad.number), line=clip(bad.line),
              reason=t(lang, f"validation.reason.{bad.reason}", count=bad.columns))
            for bad in parsed.bad_lines[:MAX_BAD_LINES_SHOWN]
        )  # fmt: skip
        more = len(parsed.bad_lines) - MAX_BAD_LINES_SHOWN
        if more > 0:
            shown += "\n" + t(lang, "validation.more_bad_lines", count=more)
        raise Refusal("validation.file_rejected", count=len(parsed.bad_lines), lines=shown)
    if parsed.pairs == 0:
        raise Refusal("validation.file_empty")
    folder = Path(ctx.settings.security_folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = stored_name(folder, community_id, original_name, parsed.mime_type)
    path = folder / name
    path.write_bytes(parsed.content)
    try:
        with transaction(ctx, write=True) as session:
            # Lock first, so that the files read below are the latest (see confirm_bulk).
            queries.lock_community(session, community_id)
            community = administered_community(session, actor, community_id)
            old = queries.security_files(session, community.id)
            delete_security_rows(session, community.id)
            session.add(
                CommunitySecurity(
                    community_id=community.id, filename=name, original_name=original_name
                )
            )
            before = {
                "validation_type": community.validation_type,
                "files": [f.original_name for f in old],
            }
            touch_community(session, community, now(), validation_type=int(ValidationType.SECURED))
            audit(session, actor, AuditAction.IDENTIFIERS, community_id=community.id, before=before,
                  after={"validation_type": int(ValidationType.SECURED), "file": original_name,
                         "pairs": parsed.pairs})  # fmt: skip
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    remove_security_files(folder, [f.filename for f in old if f.filename != name])
    return Reply(
        t(
            lang,
            "validation.file_accepted",
            community=community.name,
            name=original_name,
            count=parsed.pairs,
        ),  # fmt: skip
        replaces_message=True,
    )


# --- Declarations -------------------------------------------------------------------------------


def _domains(ctx: Context, actor: Actor, community_id: int, text: str | None) -> Reply:
    return set_domains(ctx, actor, community_id, text or "")


def _identifiers(
    ctx: Context, actor: Actor, community_id: int, name: str | None, content: bytes | None
) -> Reply:
    if content is None:
        return Reply(t(actor.language, "validation.file_prompt"), ok=False)
    return set_identifiers(ctx, actor, community_id, name or "", content)


#: The validation types share one select menu on Slack.
VALIDATION_SELECT = "slack.select.validation"

MEMBERS_HIDDEN = Action("members_hidden", IdAndFlag(), set_members_hidden)
ADS_HIDDEN = Action("ads_hidden", IdAndFlag(), set_ads_hidden)
VALIDATION = Action("validation", Ids(1), validation_menu)
SET_VALIDATION = Action("validation_set", Ids(2), set_validation, select=VALIDATION_SELECT)
DOMAINS = Action(
    "domains",
    Ids(1),
    _domains,
    takes="text",
    input=domains_request,
    limit=limits.DOMAINS,
    select=VALIDATION_SELECT,
)
IDENTIFIERS = Action(
    "identifiers",
    Ids(1),
    _identifiers,
    takes="file",
    input=identifiers_request,
    select=VALIDATION_SELECT,
)
ACTIONS = (MEMBERS_HIDDEN, ADS_HIDDEN, VALIDATION, SET_VALIDATION, DOMAINS, IDENTIFIERS)
