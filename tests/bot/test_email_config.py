"""[email] and [bot] widget_url in the configuration."""

from __future__ import annotations

import re

import pytest

from bot.config import ConfigError, load_config


def write(tmp_path, text: str):
    path = tmp_path / "bot.toml"
    path.write_text(text, "utf-8")
    return path


def test_email_is_on_when_a_host_is_set_and_the_password_comes_from_the_environment(tmp_path):
    path = write(
        tmp_path,
        '[email]\nhost = "smtp.example"\nport = 465\nsecurity = "tls"\nuser = "bot"\n'
        'sender = "bot@passpass.fr"\n[bot]\nwidget_url = "https://pp.fr/communaute/{id}/widget"\n',
    )

    config = load_config(path, environ={"REFERENT_BOT_SMTP_PASSWORD": "s3cret"})

    assert config.email.enabled
    assert (config.email.port, config.email.security, config.email.password) == (
        465,
        "tls",
        "s3cret",
    )
    assert "s3cret" not in repr(config)
    settings = config.settings()
    assert settings.email_enabled
    assert settings.widget_url == "https://pp.fr/communaute/{id}/widget"  # deprecated, kept
    assert settings.platform_url == "https://www.passpasscovoiturage.fr"  # [platform] base_url


def test_email_is_off_without_the_section(tmp_path):
    config = load_config(write(tmp_path, "[bot]\n"), environ={})

    assert not config.email.enabled
    assert not config.settings().email_enabled


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[email]\nhost = "h"\nsender = "a@b"\nsecurity = "ssl"\n', "security must be starttls"),
        ('[email]\nhost = "h"\n', "sender is empty"),
        ('[email]\nhost = "h"\nsender = "a@b"\nport = "25"\n', "port must be a whole number"),
        ('[bot]\nwidget_url = "https://pp.fr/widget"\n', "widget_url must contain {id}"),
        ('[email]\nhots = "h"\n', "unknown key(s) in [email]: hots"),
    ],
)
def test_bad_values_are_named(tmp_path, text, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(write(tmp_path, text), environ={})


def test_the_status_line_for_doctor_says_when_email_is_off_and_never_shows_the_password():
    from bot.config import EmailConfig
    from bot.email_sender import email_status

    assert email_status(EmailConfig()).startswith("e-mail: off ([email] host is not set)")
    on = EmailConfig(host="smtp.example", user="bot", password="s3cret", sender="a@b.fr")
    assert email_status(on) == "e-mail: on, starttls to smtp.example:587 as bot, from a@b.fr"
