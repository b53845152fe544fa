"""Secured communities, identifier files and the domain check, as the platform applies them."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess

import pytest
from sqlalchemy import select

from handlers.community import admin
from handlers.community import settings as community_settings
from handlers.community.validation_input import _php_records, domain_accepts, parse_identifiers
from storage.codes import ValidationType
from storage.models import Community, CommunitySecurity
from tests.handlers.helpers import actor, community, snapshot


def _secure(ctx, community_id: int, validation_type: int, name: str) -> None:
    """A community_security row and its file, as the platform's upload leaves them."""
    (ctx.settings.security_folder).mkdir(parents=True, exist_ok=True)
    (ctx.settings.security_folder / name).write_bytes(b"E1;01/02/1980\n")
    with ctx.sessions.begin() as session:
        session.get(Community, community_id).validation_type = validation_type
        session.add(CommunitySecurity(community_id=community_id, filename=name,
                                      original_name="ids.csv"))  # fmt: skip


def _rows(ctx, community_id: int) -> list[str]:
    with ctx.sessions() as session:
        return list(
            session.scalars(
                select(CommunitySecurity.filename).where(
                    CommunitySecurity.community_id == community_id
                )
            )
        )


def test_secured_is_having_rows_whatever_validation_type(ctx, world):
    """Community/Service/CommunityManager.php, canJoin: `count(getCommunitySecurities()) > 0`."""
    arc = world.communities["arc"]
    emilie = actor(ctx, world, "emilie")
    _secure(ctx, arc, ValidationType.AUTOMATIC, f"1700000000-{arc}.csv")

    card = admin.community_card(ctx, emilie, arc)

    assert "Type de validation : validation sécurisée" in card.text


def test_secured_validation_type_without_rows_is_shown_as_open(ctx, world):
    """canJoin: no community_security row, nothing to check: the platform lets everyone in."""
    arc = world.communities["arc"]
    with ctx.sessions.begin() as session:
        session.get(Community, arc).validation_type = int(ValidationType.SECURED)

    card = admin.community_card(ctx, actor(ctx, world, "emilie"), arc)

    assert "validation sécurisée sans fichier d'identifiants" in card.text


@pytest.mark.parametrize("target", ["automatic", "manual", "domain"])
def test_leaving_secured_deletes_rows_and_files_and_says_how_many(ctx, world, target):
    """Community/Admin/Service/CommunitySecurityManager.php: removing a CommunitySecurity
    removes its file (Vich delete_on_remove); canJoin reads the rows, not validation_type."""
    arc = world.communities["arc"]
    emilie = actor(ctx, world, "emilie")
    name = f"1700000000-{arc}.csv"
    _secure(ctx, arc, ValidationType.SECURED, name)

    if target == "domain":
        reply = community_settings.set_domains(ctx, emilie, arc, "arcfrance.fr")
    else:
        kind = ValidationType.AUTOMATIC if target == "automatic" else ValidationType.MANUAL
        reply = community_settings.set_validation(ctx, emilie, arc, int(kind))

    assert reply.ok, reply.text
    assert (
        "Validation sécurisée quittée : 1 fichier d'identifiants supprimé de la base et 1 "
        "du dossier de la plateforme." in reply.text
    )
    assert _rows(ctx, arc) == []
    assert not (ctx.settings.security_folder / name).exists()
    history = admin.community_card(ctx, emilie, arc)
    assert "validation sécurisée" not in history.text


def test_the_file_is_named_time_dash_community_in_the_platform_folder(ctx, world):
    """CommunitySecurityManager::createSecurity: `time().'-'.$communityId`; Vich's
    PropertyNamer appends the original name's extension (vich_uploader.yaml)."""
    arc = world.communities["arc"]

    reply = community_settings.set_identifiers(
        ctx, actor(ctx, world, "emilie"), arc, "salariés.CSV", b"E1;01/02/1980\n"
    )

    assert reply.ok, reply.text
    (name,) = _rows(ctx, arc)
    assert re.fullmatch(rf"\d{{10}}-{arc}\.CSV", name)
    assert (ctx.settings.security_folder / name).read_bytes() == b"E1;01/02/1980\n"
    assert community(ctx, arc).validation_type == ValidationType.SECURED


def test_a_file_the_platform_refuses_changes_nothing(ctx, world):
    """CommunitySecurityManager::__validate_line: 2 columns, each non-empty once trimmed."""
    arc = world.communities["arc"]
    before = snapshot(ctx)

    reply = community_settings.set_identifiers(
        ctx, actor(ctx, world, "emilie"), arc, "ids.csv", b"E1;A\n\nE2;B\n"
    )

    assert not reply.ok
    assert "ligne 2 : ligne vide" in reply.text
    assert snapshot(ctx) == before and _rows(ctx, arc) == []


def test_the_domain_check_is_exact_and_case_sensitive(ctx, world):
    """CommunityManager::canJoin: `trim($d) == $userDomain`, no subdomain, case kept."""
    assert domain_accepts("@arcfrance.fr; gsk.com", "a@gsk.com")
    assert not domain_accepts("arcfrance.fr", "a@ARCFRANCE.fr")
    assert not domain_accepts("arcfrance.fr", "a@mail.arcfrance.fr")


PHP_READER = r"""<?php
$f = fopen($argv[1], 'r'); $r = [];
while (!feof($f)) { $l = fgetcsv($f, 0, ';'); if ($l) { $r[] = array_map(
    fn($x) => $x === null ? null : base64_encode($x), $l); } }
echo json_encode($r);
"""
CASES = [b"a;b\nc;d\n", b"a;b\n\nc;d", b"a;b\rc;d\r", b'"a;x";b\n', b'a;"b\nc";d\n', b'a;"b',
         b'x;"\r', b' ;b\n', b'a;  "q"z ;\n', b'"a\\";b"\n', b'a;"b""c"\r\n']  # fmt: skip


@pytest.mark.skipif(shutil.which("php") is None, reason="no PHP to compare with")
@pytest.mark.parametrize("content", CASES)
def test_records_are_php_fgetcsv_records(tmp_path, content):
    """The platform's upload loop (CommunitySecurityManager::__validateSecurityFile) with a real
    PHP: the bot reads exactly the records PHP's fgetcsv returns."""
    path = tmp_path / "ids.csv"
    path.write_bytes(content)
    script = tmp_path / "read.php"
    script.write_text(PHP_READER)
    out = subprocess.run(["php", str(script), str(path)], capture_output=True, check=True).stdout
    php = [[None if x is None else base64.b64decode(x) for x in r] for r in json.loads(out)]

    assert [r for _, _, r in _php_records(content)] == php
    assert parse_identifiers(content).pairs == sum(
        len(r) == 2 and all((x or b"").strip(b" \t\n\r\0\x0b") for x in r) for r in php
    )
