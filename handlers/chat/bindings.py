"""Group chats and channels bound to a community, to receive its pending-member notifications."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from handlers.core.actions import Action, Command, Ids
from handlers.core.audit import AuditAction, audit
from handlers.core.context import Actor, Context
from handlers.core.i18n import t
from handlers.core.markup import escape
from handlers.core.reply import Reply
from handlers.core.rights import administered, administered_community
from handlers.core.uow import transaction, use_case
from storage.bot_models import ChatBinding
from storage.clock import now
from storage.models import Community


@dataclass(frozen=True)
class ChatPlace:
    """Where a message was written: a private chat, a group, a channel."""

    platform: str
    chat_id: str
    team_id: str = ""
    is_group: bool = False


@use_case
def bind_menu(ctx: Context, actor: Actor, place: ChatPlace) -> Reply:
    """`/lier` without a community: pick one (or it is implied when there is only one)."""
    if not place.is_group:
        return Reply(t(actor.language, "binding.not_a_group"), ok=False)
    with transaction(ctx) as session:
        rows = administered(session, actor)
    if not rows:
        return Reply(t(actor.language, "communities.none"), ok=False)
    if len(rows) == 1:
        return bind(ctx, actor, place, rows[0].community.id)
    return Reply(
        t(actor.language, "communities.pick"),
        tuple((BIND.button(escape(r.community.name), r.community.id),) for r in rows[:50]),
    )


@use_case
def bind(ctx: Context, actor: Actor, place: ChatPlace, community_id: int) -> Reply:
    lang = actor.language
    if not place.is_group:
        return Reply(t(lang, "binding.not_a_group"), ok=False)
    with transaction(ctx, write=True) as session:
        community = administered_community(session, actor, community_id)
        existing = session.scalars(
            select(ChatBinding).where(
                ChatBinding.platform == place.platform,
                ChatBinding.team_id == place.team_id,
                ChatBinding.chat_id == place.chat_id,
                ChatBinding.community_id == community.id,
            )
        ).first()
        if existing is not None and existing.active:
            return Reply(t(lang, "binding.already", community=community.name))
        if existing is None:
            session.add(
                ChatBinding(
                    platform=place.platform,
                    team_id=place.team_id,
                    chat_id=place.chat_id,
                    community_id=community.id,
                    bound_by_user_id=actor.user_id,
                    active=True,
                    created_at=now(),
                )
            )
        else:
            existing.active = True
            existing.bound_by_user_id = actor.user_id
        audit(session, actor, AuditAction.BIND, community_id=community.id,
              after={"platform": place.platform, "chat": place.chat_id})  # fmt: skip
    return Reply(t(lang, "binding.done", community=community.name), replaces_message=True)


@use_case
def unbind(ctx: Context, actor: Actor, place: ChatPlace) -> Reply:
    """Unbind this chat from every community the actor administers."""
    lang = actor.language
    with transaction(ctx, write=True) as session:
        bindings = list(
            session.scalars(
                select(ChatBinding).where(
                    ChatBinding.platform == place.platform,
                    ChatBinding.team_id == place.team_id,
                    ChatBinding.chat_id == place.chat_id,
                    ChatBinding.active.is_(True),
                )
            )
        )
        names = []
        for binding in bindings:
            community = session.get(Community, binding.community_id)
            if community is None:
                binding.active = False
                continue
            administered_community(session, actor, community.id)
            binding.active = False
            names.append(community.name)
            audit(session, actor, AuditAction.UNBIND, community_id=community.id,
                  before={"platform": place.platform, "chat": place.chat_id})  # fmt: skip
    if not names:
        return Reply(t(lang, "binding.none"), ok=False)
    return Reply(t(lang, "binding.removed", communities=", ".join(names)))


#: The community picked for this group: needs the chat place, so only the chat entry runs it.
BIND = Action("bind", Ids(1), bind, place=True)
ACTIONS = (BIND,)
#: `lier [n°]` in a group (the chat entry runs it: it needs the place).
BIND_COMMAND = Command("lier", "bind", None, listed=False)


def migrate_chat(ctx: Context, platform: str, old_chat_id: str, new_chat_id: str) -> int:
    """A Telegram group became a supergroup: its bindings follow it. Returns how many moved."""
    with transaction(ctx, write=True) as session:
        bindings = list(
            session.scalars(
                select(ChatBinding).where(
                    ChatBinding.platform == platform, ChatBinding.chat_id == old_chat_id
                )
            )
        )
        for binding in bindings:
            binding.chat_id = new_chat_id
        return len(bindings)
