"""The Telegram part of the configuration: webhook mode is never left without its secret."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_config


def write(tmp_path, text: str):
    path = tmp_path / "bot.toml"
    path.write_text(text, "utf-8")
    return path


def test_webhook_mode_needs_a_url_and_a_secret(tmp_path):
    path = write(tmp_path, '[telegram]\nenabled = true\nmode = "webhook"\n'
                 'webhook_url = "https://bot.example.org/telegram"\n')  # fmt: skip
    env = {"REFERENT_BOT_TELEGRAM_TOKEN": "1:x"}
    with pytest.raises(ConfigError, match="webhook mode needs webhook_url and webhook_secret"):
        load_config(path, environ=env)
    config = load_config(path, environ={**env, "REFERENT_BOT_TELEGRAM_WEBHOOK_SECRET": "s3cret"})
    assert config.telegram.webhook_secret == "s3cret"
    assert "s3cret" not in repr(config)
