"""The fronts' fixtures, for the scenarios here that a referent lives on every front (typing
the exact name after `supprimer`: tests/handlers/community/test_delete.py)."""

from tests.bot.slack.conftest import bot, fake, sqlite_engine  # noqa: F401
from tests.bot.telegram.conftest import api, front  # noqa: F401
