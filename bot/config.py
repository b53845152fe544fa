"""Configuration: a TOML file (config.example.toml documents every key), secrets from the
environment if preferred, and an embedded default (an SQLite file) when there is no file at all.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handlers.core.context import PASS_PASS_BASE_URL, Settings
from handlers.core.i18n import LANGUAGES

ENV_CONFIG = "REFERENT_BOT_CONFIG"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: Secrets (and the database URL, which may hold a password) may come from these variables.
ENV_OVERRIDES = {
    ("database", "url"): "REFERENT_BOT_DATABASE_URL",
    ("telegram", "token"): "REFERENT_BOT_TELEGRAM_TOKEN",
    ("telegram", "webhook_secret"): "REFERENT_BOT_TELEGRAM_WEBHOOK_SECRET",
    ("slack", "bot_token"): "REFERENT_BOT_SLACK_BOT_TOKEN",
    ("slack", "signing_secret"): "REFERENT_BOT_SLACK_SIGNING_SECRET",
    ("slack", "app_token"): "REFERENT_BOT_SLACK_APP_TOKEN",
    ("email", "password"): "REFERENT_BOT_SMTP_PASSWORD",
}


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which key and why."""


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "referent-bot"


@dataclass(frozen=True)
class DatabaseConfig:
    #: SQLAlchemy URL. Empty: the embedded SQLite file in [bot] data_dir.
    url: str = field(default="", repr=False)


@dataclass(frozen=True)
class BotConfig:
    language: str = "fr"
    operators: tuple[str, ...] = ()
    data_dir: str = ""
    #: Deprecated alias of [platform] community_security_dir.
    community_security_dir: str = ""
    max_identifiers_file_kb: int = 5120
    link_code_minutes: int = 15
    log_level: str = "INFO"
    #: Deprecated: the embeddable widget's URL, `{id}` standing for the community's id.
    #: Empty (the default): [platform] base_url + the platform's route /communaute/widget/{id}.
    widget_url: str = ""
    #: On SIGTERM, how long the work under way may take to finish before the bot gives up.
    shutdown_seconds: int = 20
    #: The CPU of the threads that share the GIL: "auto" (the one `run` starts on), "off"
    #: (the OS moves them), or a CPU number (bot/affinity.py says why).
    cpu: str = "auto"


@dataclass(frozen=True)
class PlatformConfig:
    """Facts about the platform the bot's database belongs to (docs/platform.md)."""

    #: The zone of the platform's PHP server: its DATETIME columns are naive, in that zone.
    timezone: str = "Europe/Paris"
    #: The platform's public web address: community pages and widgets are derived from it.
    base_url: str = PASS_PASS_BASE_URL
    #: The platform API's COMMUNITY_SECURITY_PATH, where identifier files of secured
    #: communities are stored and read. Empty: see Config.settings().
    community_security_dir: str = ""


@dataclass(frozen=True)
class TelegramConfig:
    enabled: bool = False
    token: str = field(default="", repr=False)
    api_base_url: str = "https://api.telegram.org/bot"
    bot_username: str = ""
    mode: str = "polling"
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    listen_host: str = "127.0.0.1"
    listen_port: int = 8443


@dataclass(frozen=True)
class SlackConfig:
    enabled: bool = False
    bot_token: str = field(default="", repr=False)
    signing_secret: str = field(default="", repr=False)
    app_token: str = field(default="", repr=False)
    api_base_url: str = "https://slack.com/api/"
    socket_mode: bool = False
    host: str = "127.0.0.1"
    port: int = 3000
    command: str = "/passpass"


@dataclass(frozen=True)
class EmailConfig:
    """SMTP for the e-mails to members; on as soon as `host` is set."""

    host: str = ""
    port: int = 587
    #: "starttls", "tls" (implicit TLS, usually port 465) or "none".
    security: str = "starttls"
    user: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""
    timeout_seconds: int = 30
    #: First retry delay after a failure; doubled on each further failure (up to 6 hours).
    retry_seconds: int = 60
    poll_seconds: int = 5

    @property
    def enabled(self) -> bool:
        return bool(self.host)


@dataclass(frozen=True)
class NotificationsConfig:
    """Push of pending members, the operators' change feed and reminders."""

    #: The operators' chats or channels: "telegram:CHAT_ID" or "slack:TEAM_ID:CHANNEL_ID".
    operators_chats: tuple[str, ...] = ()
    #: Requests pending for more than this many days are summarised daily to the deciders...
    reminder_days: int = 3
    #: ... and past this many, to the operators too.
    operators_reminder_days: int = 7
    #: Seconds between two rounds of the watcher (a decision in the bot wakes it at once).
    poll_seconds: int = 2

    def chats(self) -> tuple[tuple[str, str, str], ...]:
        """(platform, team id, chat id) of each operators' chat."""
        parsed = []
        for entry in self.operators_chats:
            parts = entry.split(":")
            if parts[0] == "telegram" and len(parts) == 2 and parts[1]:
                parsed.append(("telegram", "", parts[1]))
            elif parts[0] == "slack" and len(parts) == 3 and parts[1] and parts[2]:
                parsed.append(("slack", parts[1], parts[2]))
            else:
                raise ConfigError(
                    f"[notifications] operators_chats: {entry!r} is neither "
                    "telegram:CHAT_ID nor slack:TEAM_ID:CHANNEL_ID"
                )
        return tuple(parsed)


@dataclass(frozen=True)
class LoggingConfig:
    #: "text" (readable lines) or "json" (one object a line, for a log collector).
    format: str = "text"
    #: DEBUG, INFO, WARNING, ERROR; empty: [bot] log_level.
    level: str = ""
    #: Mask names, e-mail addresses, message texts and file names in every log line
    #: (bot.logs.PersonalDataRedactor). On unless turned off: logs travel further and live
    #: longer than the database (collectors, support tickets), so a deployment that never
    #: thought about it must not copy its members' personal data there (GDPR, data protection
    #: by default); whoever needs them to debug turns it off knowingly, for a while.
    redact_personal_data: bool = True


@dataclass(frozen=True)
class MetricsConfig:
    """The HTTP endpoint of /healthz, /readyz and /metrics (Prometheus), started by `run`."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 9464


@dataclass(frozen=True)
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    bot: BotConfig = field(default_factory=BotConfig)
    platform: PlatformConfig = field(default_factory=PlatformConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    slack: SlackConfig = field(default_factory=SlackConfig)
    email: EmailConfig = field(default_factory=EmailConfig)
    notifications: NotificationsConfig = field(default_factory=NotificationsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    #: The file it was read from; None for the embedded default.
    source: Path | None = None
    #: Where data goes when [bot] data_dir is empty ($XDG_DATA_HOME/referent-bot).
    default_data_dir: Path = field(default_factory=default_data_dir)

    @property
    def data_dir(self) -> Path:
        if self.bot.data_dir:
            return Path(self.bot.data_dir).expanduser()
        return self.default_data_dir

    @property
    def log_level(self) -> str:
        return (self.logging.level or self.bot.log_level or "INFO").upper()

    @property
    def embedded(self) -> bool:
        """True when the bot runs on its own SQLite file rather than a configured database."""
        return not self.database.url

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{self.data_dir / 'referent-bot.sqlite3'}"

    @property
    def security_folder(self) -> Path:
        """Where the platform reads identifier files (its API's COMMUNITY_SECURITY_PATH):
        [platform] community_security_dir, else the deprecated [bot] one, else the embedded
        default laid out as the platform's (`<data_dir>/upload/communities/security`)."""
        configured = self.platform.community_security_dir or self.bot.community_security_dir
        if configured:
            return Path(configured).expanduser()
        return self.data_dir / "upload" / "communities" / "security"

    def settings(self) -> Settings:
        folder = self.security_folder
        return Settings(
            operators=frozenset(e.strip().lower() for e in self.bot.operators),
            default_language=self.bot.language,
            security_folder=folder,
            max_identifiers_file_bytes=self.bot.max_identifiers_file_kb * 1024,
            link_code_minutes=self.bot.link_code_minutes,
            platform_url=self.platform.base_url,
            widget_url=self.bot.widget_url,
            email_enabled=self.email.enabled,
            operator_chats=self.notifications.chats(),
            reminder_days=self.notifications.reminder_days,
            operators_reminder_days=self.notifications.operators_reminder_days,
        )


SECTIONS = {"database": DatabaseConfig, "bot": BotConfig, "platform": PlatformConfig,
            "telegram": TelegramConfig,
            "slack": SlackConfig, "email": EmailConfig,
            "notifications": NotificationsConfig, "logging": LoggingConfig,
            "metrics": MetricsConfig}  # fmt: skip


def load_config(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read `path`, else $REFERENT_BOT_CONFIG, else the embedded default; then the environment."""
    environ = dict(os.environ if environ is None else environ)
    path = path or environ.get(ENV_CONFIG) or None
    data: dict = {}
    source = None
    if path:
        source = Path(path).expanduser()
        try:
            data = tomllib.loads(source.read_text("utf-8"))
        except FileNotFoundError as error:
            raise ConfigError(f"configuration file not found: {source}") from error
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{source} is not valid TOML: {error}") from error
    unknown = set(data) - set(SECTIONS)
    if unknown:
        raise ConfigError(f"unknown section(s) in {source}: {', '.join(sorted(unknown))}")
    sections = {}
    for name, cls in SECTIONS.items():
        values = dict(data.get(name) or {})
        for (section, key), variable in ENV_OVERRIDES.items():
            if section == name and environ.get(variable):
                values[key] = environ[variable]
        sections[name] = _build(cls, name, values)
    config = Config(source=source, default_data_dir=default_data_dir(environ), **sections)
    _validate(config)
    return config


def _build(cls, section: str, values: dict):
    known = {f.name: f for f in fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError(f"unknown key(s) in [{section}]: {', '.join(sorted(unknown))}")
    converted = {}
    for key, value in values.items():
        default = known[key].default
        expected = type(default)
        if expected is tuple:
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"[{section}] {key} must be a list of strings")
            value = tuple(value)
        elif expected is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"[{section}] {key} must be true or false")
        elif expected is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"[{section}] {key} must be a whole number")
        elif not isinstance(value, str):
            raise ConfigError(f"[{section}] {key} must be a string")
        converted[key] = value
    return cls(**converted)


def _validate(config: Config) -> None:
    try:
        ZoneInfo(config.platform.timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ConfigError(
            f"[platform] timezone: {config.platform.timezone!r} is not a time zone name "
            "(e.g. Europe/Paris, UTC)"
        ) from error
    if not config.platform.base_url.startswith(("https://", "http://")):
        raise ConfigError("[platform] base_url must start with https:// or http://")
    platform_dir = config.platform.community_security_dir
    bot_dir = config.bot.community_security_dir
    if platform_dir and bot_dir and Path(platform_dir).expanduser() != Path(bot_dir).expanduser():
        raise ConfigError(
            "[bot] community_security_dir (deprecated) and [platform] community_security_dir "
            "differ: keep only [platform] community_security_dir"
        )
    if config.bot.language not in LANGUAGES:
        raise ConfigError(f"[bot] language must be one of {', '.join(LANGUAGES)}")
    if config.telegram.mode not in ("polling", "webhook"):
        raise ConfigError("[telegram] mode must be polling or webhook")
    if config.telegram.enabled and not config.telegram.token:
        raise ConfigError(
            "[telegram] is enabled but has no token: set token or REFERENT_BOT_TELEGRAM_TOKEN"
        )
    if (
        config.telegram.enabled
        and config.telegram.mode == "webhook"
        and not (config.telegram.webhook_url and config.telegram.webhook_secret)
    ):
        raise ConfigError(
            "[telegram] webhook mode needs webhook_url and webhook_secret "
            "(or REFERENT_BOT_TELEGRAM_WEBHOOK_SECRET)"
        )
    if config.slack.enabled and not config.slack.bot_token:
        raise ConfigError(
            "[slack] is enabled but has no bot_token: set it or REFERENT_BOT_SLACK_BOT_TOKEN"
        )
    if config.slack.enabled and config.slack.socket_mode and not config.slack.app_token:
        raise ConfigError(
            "[slack] socket_mode needs app_token (xapp-...): set it or REFERENT_BOT_SLACK_APP_TOKEN"
        )
    if config.slack.enabled and not config.slack.socket_mode and not config.slack.signing_secret:
        raise ConfigError(
            "[slack] in HTTP mode needs signing_secret to verify Slack's requests: set it or "
            "REFERENT_BOT_SLACK_SIGNING_SECRET"
        )
    if not config.slack.command.startswith("/"):
        raise ConfigError("[slack] command must start with / (as in slack-manifest.yml)")
    if config.bot.link_code_minutes <= 0:
        raise ConfigError("[bot] link_code_minutes must be positive")
    config.notifications.chats()  # raises on a malformed entry
    if min(config.notifications.reminder_days, config.notifications.operators_reminder_days,
           config.notifications.poll_seconds) <= 0:  # fmt: skip
        raise ConfigError("[notifications] days and poll_seconds must be positive")
    if config.bot.widget_url and "{id}" not in config.bot.widget_url:
        raise ConfigError("[bot] widget_url must contain {id} (the community's id)")
    if config.email.security not in ("starttls", "tls", "none"):
        raise ConfigError("[email] security must be starttls, tls or none")
    if config.email.enabled and not config.email.sender:
        raise ConfigError("[email] host is set but sender is empty: set the From address")
    if config.logging.format not in ("text", "json"):
        raise ConfigError("[logging] format must be text or json")
    for key, level in (
        ("[logging] level", config.logging.level),
        ("[bot] log_level", config.bot.log_level),
    ):
        if level and level.upper() not in LOG_LEVELS:
            raise ConfigError(f"{key} must be one of {', '.join(LOG_LEVELS)}")
    if not 0 <= config.metrics.port <= 65535:
        raise ConfigError("[metrics] port must be between 0 and 65535")
    if config.bot.shutdown_seconds <= 0:
        raise ConfigError("[bot] shutdown_seconds must be positive")
    if config.bot.cpu not in ("auto", "off") and not (
        config.bot.cpu.isascii() and config.bot.cpu.isdigit()
    ):
        raise ConfigError('[bot] cpu must be "auto", "off" or a CPU number such as "0"')
    if config.email.port <= 0 or config.email.retry_seconds <= 0 or config.email.poll_seconds <= 0:
        raise ConfigError("[email] port, retry_seconds and poll_seconds must be positive")
