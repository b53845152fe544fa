"""The bot's Home: what a referent finds when opening the app (Slack's App Home tab).

Platform-neutral data, in sections (a text and its buttons): their communities with pending
counts and a button to each function (requests, members, settings, charts), their oldest pending
requests with the same decision buttons as everywhere else, and the synthesis's five figures as
text. Every button is an existing declared action, so a press in the Home is checked and handled
like any other; each front renders the sections its own way (bot/slack/render.py home_view).

Who opened their Home, and when it is out of date, is kept in handlers.outbox.homes; this module
renders it for the person's own opening and for the notifier's republishing.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.chat import entry
from handlers.chat.linking import ChatAccount
from handlers.community import admin, communities, members, pending
from handlers.core.context import Actor, Context
from handlers.core.i18n import date, datetime, normalize_language, number, t
from handlers.core.reply import Button, Reply
from handlers.core.rights import administered
from handlers.core.uow import transaction
from handlers.dashboard import charts
from handlers.dashboard.request import resolve_scope
from handlers.outbox import homes
from storage import clock, queries
from storage.clock import now
from storage.indicators import basis, totals_at

#: Communities listed in the Home (most pending first); the others behind "all my communities".
HOME_COMMUNITIES = 8
#: The oldest pending requests shown with their decision buttons.
HOME_REQUESTS = 5
#: The scope of the figures: the person's communities (one, or all together), or the platform
#: for an operator (handlers.dashboard.request.resolve_scope).
FIGURES_SCOPE = "a"


@dataclass(frozen=True)
class Home:
    """The Home in sections, each a text with its own buttons right under it."""

    language: str
    sections: tuple[Reply, ...]


@dataclass(frozen=True)
class Shown:
    """A Home rendered for the person's own opening, and its row (None: not linked)."""

    home: Home
    opened: homes.Opened | None


def home(ctx: Context, actor: Actor) -> Home:
    """The Home of a linked person, read now (rights included, as on every call)."""
    lang = actor.language
    with transaction(ctx) as session:
        rows = administered(session, actor)
        waiting = [row.community.id for row in rows if row.pending]
        oldest = queries.oldest_pending(session, waiting, HOME_REQUESTS) if waiting else []
        figures = _figures(session, actor) if rows else None
    if not rows:
        return Home(lang, (Reply(t(lang, "communities.none")),))
    sections = [Reply(t(lang, "communities.title", count=len(rows)))]
    shown = sorted(rows, key=lambda row: -row.pending)[:HOME_COMMUNITIES]  # stable: by name
    sections += [_community(lang, row) for row in shown]
    if len(rows) > len(shown):
        sections.append(
            Reply(
                t(lang, "home.more_communities", count=len(rows) - len(shown)),
                ((communities.COMMUNITIES.button(t(lang, "home.all_communities")),),),
            )
        )
    sections += _requests(lang, oldest, sum(row.pending for row in rows))
    if figures is not None:
        sections.append(figures_section(lang, *figures))
    sections.append(Reply(t(lang, "home.updated", when=datetime(now(), lang))))
    return Home(lang, tuple(sections))


def _community(lang: str, row: queries.CommunityCounts) -> Reply:
    cid = row.community.id
    line = t(lang, "communities.line", name=row.community.name, id=cid,
             count=row.members, pending=number(lang, row.pending))  # fmt: skip
    buttons = (
        pending.PENDING.button(
            t(lang, "card.pending_button", count=row.pending),
            cid,
            style="primary" if row.pending else None,
        ),  # fmt: skip
        members.MEMBERS.button(t(lang, "card.members_button"), cid),
        admin.CARD.button(t(lang, "home.settings_button"), cid),
        charts.CHART_MENU.button(t(lang, "home.charts_button"), f"c{cid}"),
    )
    return Reply(line, (buttons,))


def _requests(lang: str, oldest: list[queries.PendingIn], total: int) -> list[Reply]:
    if not oldest:
        return [Reply(t(lang, "home.no_requests"))]
    sections = [Reply(t(lang, "home.requests_title", count=total))]
    for found in oldest:
        request = pending.describe_pending(found.person, found.community)
        text = t(lang, "home.request", line=pending.pending_line(lang, request),
                 community=found.community.name)  # fmt: skip
        sections.append(Reply(text, (pending.decision_buttons(lang, request),)))
    return sections


def _figures(session, actor: Actor) -> tuple[str, str, list[tuple[str, str]]]:
    """The synthesis's five figures today, as text: (title, data until, (label, value)...)."""
    lang = actor.language
    day = clock.today()
    resolved = resolve_scope(session, actor, FIGURES_SCOPE)
    where = basis(session, resolved.scope)
    values = totals_at(session, day, resolved.scope, where)
    rows = list(charts.figure_rows(lang, values))
    title = t(lang, "charts.synthesis_title", scope=resolved.label, date=date(day))
    return title, t(lang, "charts.until", date=datetime(where.until, lang)), rows


def figures_section(lang: str, title: str, until: str, rows: list[tuple[str, str]]) -> Reply:
    """The figures as text (a Slack Home shows images only from a public URL), and buttons to
    the synthesis card (its image, in the messages) and the charts."""
    shown = [f"• {charts.figure_line(lang, label, value)}" for label, value in rows]
    lines = [f"**{title}**", until, *shown]
    buttons: tuple[Button, ...] = (
        charts.CHART_SUM.button(t(lang, "charts.button.synthesis"), FIGURES_SCOPE),
        charts.CHART_MENU.button(t(lang, "home.charts_button"), FIGURES_SCOPE),
    )
    return Reply("\n".join(lines), (buttons,))


def _with_notice(found: Home, notice: str | None) -> Home:
    if not notice:
        return found
    return Home(found.language, (Reply(notice), *found.sections))


def _key(account: ChatAccount) -> homes.HomeKey:
    return homes.HomeKey(account.platform, account.team_id, account.external_id)


def open_home(
    ctx: Context, account: ChatAccount, hint: str | None = None, notice: str | None = None
) -> Shown:
    """The Home of whoever opened it (or pressed in it: `notice` says what the press did).
    A linked person is remembered, so that their Home follows what happens next; anyone else
    reads how to link their account, the same words as everywhere else."""
    actor = entry.who(ctx, account)
    if actor is None:
        language = normalize_language(hint or ctx.settings.default_language)
        return Shown(Home(language, (entry.not_allowed(ctx, account, language),)), None)
    opened = homes.remember(ctx, _key(account), actor.is_operator, notice)
    return Shown(_with_notice(home(ctx, actor), opened.notice), opened)


def published(ctx: Context, shown: Shown) -> None:
    """The Home was published: the changes it read are shown."""
    if shown.opened is not None:
        homes.shown(ctx, shown.opened.id, shown.opened.version)


def render_due(ctx: Context, due: homes.DueHome) -> Home | None:
    """The notifier's republishing of an out-of-date Home; None when another replica took it.
    The caller hands the change back (homes.release) if the publish fails; a failure here
    hands it back itself."""
    notice = homes.claim(ctx, due)
    if notice is None:
        return None
    try:
        account = ChatAccount(due.key.platform, due.key.external_id, team_id=due.key.team_id)
        actor = entry.who(ctx, account)
        if actor is None:  # unlinked or disabled since: the Home says so
            language = normalize_language(ctx.settings.default_language)
            return Home(language, (entry.not_allowed(ctx, account, language),))
        return _with_notice(home(ctx, actor), notice)
    except BaseException:
        homes.release(ctx, due)  # the change is due again, for the next round
        raise
