"""Configuration: the embedded default, TOML files, secrets from the environment, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def test_no_configuration_means_the_embedded_sqlite_file(tmp_path):
    config = load_config(None, environ={"XDG_DATA_HOME": str(tmp_path)})
    assert config.embedded
    assert config.database_url == f"sqlite:///{tmp_path}/referent-bot/referent-bot.sqlite3"
    assert config.settings().default_language == "fr"
    # laid out as the platform's folder (COMMUNITY_SECURITY_PATH)
    assert config.settings().security_folder == (
        tmp_path / "referent-bot" / "upload" / "communities" / "security"
    )


def test_the_example_documents_every_key_with_its_default():
    from bot.config import SECTIONS

    text = EXAMPLE.read_text("utf-8")
    config = load_config(EXAMPLE, environ={})
    for section, cls in SECTIONS.items():
        assert f"[{section}]" in text
        for name in cls.__dataclass_fields__:
            assert f"\n{name} = " in text, f"[{section}] {name} is not documented"
        assert getattr(config, section) == cls(), f"[{section}] example differs from defaults"


def test_file_and_environment(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text(
        '[database]\nurl = "postgresql+psycopg://bot@db/referent"\n'
        '[bot]\nlanguage = "en"\noperators = ["Staff@Example.org"]\n'
        '[telegram]\nenabled = true\nbot_username = "PassPassBot"\n',
        "utf-8",
    )
    config = load_config(
        None,
        environ={"REFERENT_BOT_CONFIG": str(path), "REFERENT_BOT_TELEGRAM_TOKEN": "123:secret"},
    )
    assert not config.embedded
    assert config.database_url == "postgresql+psycopg://bot@db/referent"
    assert config.telegram.token == "123:secret"
    assert config.settings().operators == frozenset({"staff@example.org"})
    assert config.settings().default_language == "en"
    assert "123:secret" not in repr(config), "secrets never appear in a repr (hence in logs)"


def test_environment_overrides_the_file(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text('[slack]\nbot_token = "xoxb-file"\n', "utf-8")
    config = load_config(path, environ={"REFERENT_BOT_SLACK_BOT_TOKEN": "xoxb-env"})
    assert config.slack.bot_token == "xoxb-env"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[databse]\nurl = 'x'\n", "unknown section(s) in"),
        ("[bot]\nlangage = 'fr'\n", "unknown key(s) in [bot]: langage"),
        ("[bot]\nlanguage = 'de'\n", "[bot] language must be one of fr, en"),
        ("[bot]\noperators = 'a@b.fr'\n", "[bot] operators must be a list of strings"),
        ("[telegram]\nenabled = 'yes'\n", "[telegram] enabled must be true or false"),
        ("[telegram]\nenabled = true\n", "[telegram] is enabled but has no token"),
        ("[slack]\nport = '3000'\n", "[slack] port must be a whole number"),
        ("[bot\n", "is not valid TOML"),
    ],
)
def test_bad_configuration_is_explained(tmp_path, content, message):
    path = tmp_path / "bot.toml"
    path.write_text(content, "utf-8")
    with pytest.raises(ConfigError, match=None) as error:
        load_config(path, environ={})
    assert message in str(error.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "nope.toml", environ={})


def test_operators_chats(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text(
        '[notifications]\noperators_chats = ["telegram:-1001234", "slack:T0HDF:C0OPS"]\n', "utf-8"
    )
    settings = load_config(path, environ={}).settings()
    assert settings.operator_chats == (("telegram", "", "-1001234"), ("slack", "T0HDF", "C0OPS"))
    path.write_text('[notifications]\noperators_chats = ["slack:C0OPS"]\n', "utf-8")
    with pytest.raises(ConfigError, match="neither telegram:CHAT_ID nor slack:TEAM_ID:CHANNEL_ID"):
        load_config(path, environ={})
