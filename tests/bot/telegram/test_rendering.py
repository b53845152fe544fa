"""Rendering a Reply for Telegram: HTML with user data escaped, texts cut below the limit."""

from __future__ import annotations

from bot.telegram.front import file_url
from bot.telegram.render import TEXT_LIMIT, rendered_size, split_text, to_html
from handlers.core.i18n import number, t


def test_html_rendering_escapes_user_data():
    # Bold is the whole markup (no catalog used `_italic_`, and `_` is common in data).
    assert to_html("**Dupont & <Fils>** a_b_c _vraiment_") == (
        "<b>Dupont &amp; &lt;Fils&gt;</b> a_b_c _vraiment_"
    )


def test_long_text_is_split_between_lines_below_the_limit():
    lines = [f"• Membre {n:04d} <&> — membre — rejoint le 17/01/2024" for n in range(400)]
    pieces = split_text("\n".join(lines))
    assert len(pieces) > 1
    assert all(len(to_html(p)) <= TEXT_LIMIT for p in pieces)
    assert "\n".join(pieces).split("\n") == lines
    huge = "x" * 10000
    assert "".join(split_text(huge)) == huge
    assert all(len(p) <= TEXT_LIMIT for p in split_text(huge))


def test_the_file_url_follows_the_api_url():
    assert file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"


def test_emoji_outside_the_bmp_count_twice_as_telegram_counts_them():
    text = "🔎" * 3000  # 6000 UTF-16 units on one line
    pieces = split_text(text)
    assert "".join(pieces) == text
    assert all(rendered_size(p) <= TEXT_LIMIT for p in pieces)
    assert len(pieces) == 2


def test_french_numbers_keep_their_no_break_space_in_html():
    text = t("fr", "members.range", first=number("fr", 1), last=number("fr", 10),
             total=number("fr", 14581))  # fmt: skip
    assert to_html(f"**{text}**") == "<b>1-10 de 14\u202f581</b>"
