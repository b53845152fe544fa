"""Roles on the platform (moderators, the sample's admins), and who is worth logging in as."""

from __future__ import annotations

from sqlalchemy import Engine, func, insert, literal, select

from storage.codes import AuthItemId
from storage.demo.constants import _MODERATOR, _PENDING
from storage.demo.generator import _Generator
from storage.demo.sample import DEMO_ADMINS
from storage.models import Community, CommunityUser, Territory, User, UserAuthAssignment
from storage.roles import ensure_auth_items


class _Roles(_Generator):
    """The platform's roles for the rows written."""

    # ---- roles on the platform

    def write_roles(self) -> None:
        """The platform's roles: ROLE_COMMUNITY_MANAGER_PUBLIC for every moderator (what
        CommunityUserSaveListener wrote when their membership was saved), a platform admin and
        a territory admin for the console to try (DEMO_ADMINS)."""
        ensure_auth_items(self.connection)
        self.connection.execute(
            insert(UserAuthAssignment).from_select(
                ["user_id", "auth_item_id"],
                select(CommunityUser.user_id, literal(int(AuthItemId.COMMUNITY_MANAGER_PUBLIC)))
                .where(CommunityUser.status == _MODERATOR)
                .distinct(),
            )
        )
        for email, (item, departement) in DEMO_ADMINS.items():
            self.connection.execute(
                insert(UserAuthAssignment).values(
                    user_id=self.cast_ids[email],
                    auth_item_id=int(item),
                    territory_id=self.departement_ids[departement] if departement else None,
                )
            )
        self.connection.commit()


def demo_login_hint(engine: Engine, limit: int = 8) -> list[tuple[str, str]]:
    """(e-mail, "Given F. — roles") of users worth logging in as: those who decide requests.

    Those with pending requests first; among them, those administering two communities or
    more; then by id, so the named people of the sample (the lowest ids) lead at every scale.
    """
    cu = CommunityUser.__table__
    with engine.connect() as connection:
        pending: dict[int, int] = dict(
            connection.execute(
                select(cu.c.community_id, func.count())
                .where(cu.c.status == _PENDING)
                .group_by(cu.c.community_id)
            ).all()
        )
        roles: dict[int, list[tuple[str, int, str]]] = {}
        names: dict[int, str] = {}
        for cid, name, creator in connection.execute(
            select(Community.id, Community.name, Community.user_id).order_by(Community.id)
        ):
            names[cid] = name
            if creator is not None:
                roles.setdefault(creator, []).append(("referent", cid, name))
        for uid, cid in connection.execute(
            select(cu.c.user_id, cu.c.community_id)
            .where(cu.c.status == _MODERATOR)
            .order_by(cu.c.id)
        ):
            if not any(c == cid for _, c, _ in roles.get(uid, ())):
                roles.setdefault(uid, []).append(("moderator", cid, names[cid]))

        def rank(uid: int) -> tuple[bool, int, int]:
            mine = roles[uid]
            waiting = sum(pending.get(c, 0) for _, c, _ in mine)
            return (waiting == 0, -min(len(mine), 2), uid)

        # The sample's platform admins (DEMO_ADMINS) are always offered, last.
        admins = {
            row.id: ("territory admin of " + row.territory if row.territory else "platform admin")
            for row in connection.execute(
                select(User.id, Territory.name.label("territory"))
                .join(UserAuthAssignment, UserAuthAssignment.user_id == User.id)
                .outerjoin(Territory, Territory.id == UserAuthAssignment.territory_id)
                .where(
                    User.email.in_(list(DEMO_ADMINS)),
                    UserAuthAssignment.auth_item_id.in_([int(i) for i, _ in DEMO_ADMINS.values()]),
                )
            )
        }
        others = [uid for uid in sorted(roles, key=rank) if uid not in admins]
        chosen = others[: max(limit - len(admins), 0)] + sorted(admins)
        people = {
            row.id: row
            for row in connection.execute(
                select(User.id, User.email, User.given_name, User.family_name).where(
                    User.id.in_(chosen)
                )
            )
        }
    hints = []
    for uid in chosen:
        person = people[uid]
        initial = (person.family_name or "?")[:1].upper()
        parts = [admins[uid]] if uid in admins else []
        parts += [
            f"{role} of {name} ({pending.get(cid, 0)} pending)"
            for role, cid, name in roles.get(uid, ())
        ]
        what = ", ".join(parts)
        hints.append((person.email, f"{(person.given_name or '').title()} {initial}. — {what}"))
    return hints
