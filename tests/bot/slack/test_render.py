"""Reply -> Block Kit, the configuration rules of the Slack front, and the manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.slack import render
from bot.slack.limits import redact
from handlers.core.i18n import t
from handlers.core.reply import Button, Reply


def test_bold_and_escaping():
    reply = Reply("**Arc <France> & co** : <@U123> _ok_")
    (section,) = render.blocks(reply, "fr")
    assert section["text"] == {
        "type": "mrkdwn",
        # `**` is the whole markup: `_ok_` is text, shown as typed (a date token with an
        # invalid format shows its fallback as plain text; Slack has no escape character).
        "text": "*Arc &lt;France&gt; &amp; co* : &lt;@U123&gt; "
        "<!date^00000000^{_}|_>ok<!date^00000000^{_}|_>",
    }


def test_long_text_is_split_on_lines_and_labels_are_cut():
    lines = [f"• ligne {n} " + "x" * 90 for n in range(100)]
    reply = Reply("\n".join(lines), ((Button("L" * 200, "card", "1", "primary"),),))
    blocks = render.blocks(reply, "fr")
    sections = [b for b in blocks if b["type"] == "section"]
    assert len(sections) > 1 and all(len(b["text"]["text"]) <= 3000 for b in sections)
    assert "\n".join(b["text"]["text"] for b in sections) == "\n".join(lines)
    (button,) = blocks[-1]["elements"]
    assert len(button["text"]["text"]) == 75 and button["style"] == "primary"
    assert button["value"] == "card|1"


def test_action_ids_are_unique_and_a_lone_select_member_stays_a_button():
    reply = Reply(
        "x",
        (
            (Button("Membre", "set_status", "5:1:0"), Button("Refusé", "set_status", "5:3:0")),
            (Button("Type de validation", "validation_set", "1:0"), Button("Retour", "card", "1")),
        ),
    )
    actions = [b for b in render.blocks(reply, "en") if b["type"] == "actions"]
    select, button, back = [e for b in actions for e in b["elements"]]
    assert select["type"] == "static_select"
    assert select["placeholder"]["text"] == "Change the status…"
    assert [o["value"] for o in select["options"]] == ["set_status|5:1:0", "set_status|5:3:0"]
    assert button["type"] == "button" and button["value"] == "validation_set|1:0"
    assert len({select["action_id"], button["action_id"], back["action_id"]}) == 3


def test_secrets_and_link_codes_are_redacted():
    assert redact("token xoxb-123-456-abc and xapp-1-A-2-zz") == "token [redacted] and [redacted]"
    assert redact("text=link+ABCDEFGHJK&x=1") == "text=link+[redacted]&x=1"
    assert redact("text=link abcdefghjk") == "text=link [redacted]"
    assert redact("communautes attente 12") == "communautes attente 12"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[slack]\nenabled = true\nbot_token = 'xoxb-1'\n", "needs signing_secret"),
        ("[slack]\nenabled = true\nbot_token = 'xoxb-1'\nsocket_mode = true\n", "needs app_token"),
        ("[slack]\ncommand = 'passpass'\n", "command must start with /"),
    ],
)
def test_bad_slack_configuration_is_explained(tmp_path, content, message):
    path = tmp_path / "bot.toml"
    path.write_text(content, "utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={})
    assert message in str(error.value)


def test_the_manifest_declares_the_command_the_endpoint_scopes_and_events():
    manifest = (Path(__file__).resolve().parents[3] / "slack-manifest.yml").read_text("utf-8")
    assert "command: /passpass" in manifest
    assert manifest.count("/slack/events") == 3  # command, events, interactivity
    for needed in ("commands", "chat:write", "im:write", "files:write", "files:read",
                   "users:read", "message.im", "message.channels",
                   "app_home_opened"):  # fmt: skip
        assert f"- {needed}" in manifest, needed
    assert "home_tab_enabled: true" in manifest  # else Slack sends no app_home_opened


def test_the_home_view_puts_each_sections_buttons_under_it_within_100_blocks():
    from handlers.chat.home import Home

    def section(n: int) -> Reply:
        return Reply(f"**Demande {n}** <@U1>", ((Button(f"✅ {n}", "approve", str(n)),),))

    view = render.home_view(Home("fr", (Reply("Titre"), section(1), section(2), Reply("Fin"))))
    assert view["type"] == "home"
    assert [b["type"] for b in view["blocks"]] == [
        "section", "section", "actions", "divider", "section", "actions", "divider", "section",
    ]  # fmt: skip
    assert view["blocks"][1]["text"]["text"] == "*Demande 1* &lt;@U1&gt;"  # data stays data
    assert view["blocks"][5]["elements"][0]["value"] == "approve|2"
    long = render.home_view(Home("fr", tuple(section(n) for n in range(60))))
    assert len(long["blocks"]) <= render.MAX_HOME_BLOCKS
    assert long["blocks"][-1]["type"] == "actions"  # a section is never cut from its buttons


def test_french_numbers_keep_their_no_break_space_in_mrkdwn():
    text = t("fr", "admin.delete_members", count=14581)
    assert render.mrkdwn(f"**{text}**") == "*14\u202f581 membres*"
