"""The chart use cases: rights, menus, images decoded, captions, CSV, synthesis, cache, no data.

On SQLite, PostgreSQL and MariaDB through `engine`; the clock is frozen at 17/01/2024 10:02.
"""

from __future__ import annotations

import datetime as dt
import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from matplotlib.image import imread
from sqlalchemy.orm import Session

from handlers.chat.actions import Press, callback_data, press
from handlers.chat.commands import run_command
from handlers.chat.identity import actor_for_user
from handlers.core.context import Context
from handlers.core.reply import Reply
from handlers.dashboard import charts
from handlers.dashboard.cache import CACHE
from handlers.dashboard.figures import chart_data, figures
from handlers.dashboard.request import ChartRequest
from storage import clock
from storage.codes import MembershipStatus
from storage.indicators import Indicator, Period
from storage.models import CommunityUser, User
from tests.support.indicator_world import IndicatorWorld, build_indicator_world

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def iworld(engine) -> IndicatorWorld:
    return build_indicator_world(engine)


@pytest.fixture(autouse=True)
def _empty_cache():
    CACHE.clear()
    yield
    CACHE.clear()


def who(ctx: Context, iworld: IndicatorWorld, person: str, language: str | None = None):
    actor = actor_for_user(ctx, iworld.users[person], "telegram")
    assert actor is not None
    if language:
        from dataclasses import replace

        actor = replace(actor, language=language)
    return actor


def refs(reply: Reply) -> list[tuple[str, str, str]]:
    for button in reply.all_buttons:
        callback_data(button.action, button.ref)  # every button fits Telegram's 64 bytes
    return [(b.label, b.action, b.ref) for b in reply.all_buttons]


def decoded(png: bytes):
    assert png.startswith(PNG)
    pixels = imread(io.BytesIO(png), format="png")
    assert pixels.shape == (600, 960, 4)  # 8x5 in at 120 dpi: readable on a phone
    return pixels


def okabe_blue_pixels(pixels) -> int:
    """Pixels of the bars' colour (#0072B2)."""
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return int(
        ((abs(r - 0) < 0.02) & (abs(g - 114 / 255) < 0.02) & (abs(b - 178 / 255) < 0.02)).sum()
    )


def test_a_referent_of_one_community_gets_its_menu_then_a_chart(ctx, iworld):
    ref = who(ctx, iworld, "ref")
    a = iworld.communities["A"]
    menu = run_command(ctx, ref, "graphique", [])
    assert menu.text == "**Tableau de bord : Arc France**\nChoisissez un indicateur :"
    assert refs(menu) == [
        ("CO₂ économisé", "chart", f"co2:m:r:c{a}"),
        ("Annonces publiées", "chart", f"ads:m:r:c{a}"),
        ("Utilisateurs", "chart", f"users:m:r:c{a}"),
        ("Utilisateurs solidaires", "chart", f"solidarity:m:r:c{a}"),
        ("Communautés", "chart", f"communities:m:r:c{a}"),
        ("Synthèse", "chart_sum", f"c{a}"),
    ]
    reply = press(ctx, ref, Press("chart", f"users:m:r:c{a}"))
    assert reply.ok
    # Last 12 months: 01/02/2023 to 17/01/2024; A's members m1 (February), m2 (March), and ref
    # before the range: 3 in total.
    expected = (
        "Utilisateurs — Arc France, du 01/02/2023 au 17/01/2024 : 2 utilisateurs sur la période "
        "(le plus : 1 utilisateur en févr. 2023), 3 utilisateurs au total. "
        "Compté : tous les inscrits, validés ou non. Données jusqu'au 17/01/2024 à 10:02."
    )
    assert reply.text == expected
    (image,) = reply.images
    assert image.caption == image.alt == expected
    assert image.filename == "users-month-20230201-20240117.png"
    assert okabe_blue_pixels(decoded(image.png)) > 500  # the bars are drawn
    assert refs(reply) == [
        ("Jours", "chart", f"users:d:r:c{a}"),
        ("Années 2023 / 2024", "chart", f"users:m:y:c{a}"),
        ("Chiffres (CSV)", "chart_csv", f"users:m:r:c{a}"),
        ("↩ Indicateurs", "chart_menu", f"c{a}"),
    ]


def test_a_referent_of_several_communities_picks_one_or_all(ctx, iworld, engine):
    with Session(engine) as session, session.begin():
        session.add(CommunityUser(community_id=iworld.communities["B"], user_id=iworld.users["ref"],
                                  status=int(MembershipStatus.MODERATOR),
                                  created_date=dt.datetime(2023, 6, 2)))  # fmt: skip
    ref = who(ctx, iworld, "ref")
    a, b = iworld.communities["A"], iworld.communities["B"]
    pick = run_command(ctx, ref, "graphique", [])
    assert pick.text == "Indicateurs de quelle communauté ?"
    assert refs(pick) == [
        ("Toutes mes communautés (2)", "chart_menu", "a"),
        ("Arc France", "chart_menu", f"c{a}"),
        ("LeNord covoiture", "chart_menu", f"c{b}"),
    ]
    assert press(ctx, ref, Press("chart_menu", "a")).text.startswith(
        "**Tableau de bord : Toutes mes communautés (2)**"
    )
    # A and B together: ads P1, P2 (A, active in February 2023, P2 until April), the paused
    # P5 (A, March to December 2023) and P6 (B, active from January 2024).
    reply = press(ctx, ref, Press("chart", "ads:m:r:a"))
    assert reply.text == (
        "Annonces publiées — Toutes mes communautés (2), du 01/02/2023 au 17/01/2024 : "
        "1 annonce active en janv. 2024 (le plus : 2 annonces actives en févr. 2023). "
        "Compté : les annonces non privées valables dans la période (un aller-retour compte "
        "pour une, les annonces en pause comprises). Données jusqu'au 17/01/2024 à 10:02."
    )
    decoded(reply.images[0].png)


def test_co2_caption_in_tonnes_with_the_best_month(ctx, iworld):
    operator = who(ctx, iworld, "operator")
    assert operator.is_operator
    reply = press(ctx, operator, Press("chart", "co2:m:r:a"))
    # 20.8 km in February 2023 (the matching's distance of two items from before June
    # 2023), 30 km in January 2024: 50.8 km * 213 g = 0.01082 t.
    assert reply.text == (
        "CO₂ économisé — Toute la plateforme, du 01/02/2023 au 17/01/2024 : 0,011 t de CO₂ sur "
        "la période (le plus : 0,006 t de CO₂ en janv. 2024), 0,011 t de CO₂ au total. "
        "Compté : 213 g de CO₂ par km de covoiturage réalisé (trajets confirmés). "
        "Données jusqu'au 17/01/2024 à 10:02."
    )
    decoded(reply.images[0].png)


def test_daily_chart_and_year_against_year(ctx, iworld):
    operator = who(ctx, iworld, "operator")
    daily = press(ctx, operator, Press("chart", "users:d:r:a"))
    # Last 31 days: 18/12/2023 to 17/01/2024: b1 (3 January) and x (10 January).
    assert daily.text.startswith(
        "Utilisateurs — Toute la plateforme, du 18/12/2023 au 17/01/2024 : 2 utilisateurs sur la "
        "période (le plus : 1 utilisateur en 03/01/2024), 8 utilisateurs au total."
    )
    decoded(daily.images[0].png)
    years = press(ctx, operator, Press("chart", "ads:m:y:a"))
    assert years.text == (
        "Annonces publiées — Toute la plateforme, année contre année : 2023 : jusqu'à 2 "
        "annonces actives ; 2024 : jusqu'à 2 annonces actives. Le mois en cours, janv. 2024, est "
        "compté jusqu'au 17/01/2024 seulement. Compté : les annonces non privées "
        "valables dans la période (un aller-retour compte pour une, les annonces en pause "
        "comprises). Données jusqu'au 17/01/2024 à 10:02."
    )
    pixels = decoded(years.images[0].png)
    assert okabe_blue_pixels(pixels) > 100  # 2023's line (the first series' colour)
    assert ("Évolution", "chart", "ads:m:r:a") in refs(years)
    request = ChartRequest(Indicator.USERS, Period.MONTH, "a", years=(2023, 2024))
    fig = figures(ctx, operator, request)
    assert fig.keys == tuple(f"{m:02d}" for m in range(1, 13))
    assert fig.series == (
        ("2023", (2, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
        ("2024", (2,)),  # up to the data's date
    )
    days = figures(ctx, operator, ChartRequest(Indicator.USERS, Period.DAY, "a",
                                                             years=(2023, 2024)))  # fmt: skip
    assert (
        len(days.keys) == 366 and days.series[1][1] == (0,) * 2 + (1,) + (0,) * 6 + (1,) + (0,) * 7
    )


def test_territory_filter_is_for_operators(ctx, iworld):
    t1 = iworld.territories["T1"]
    operator = who(ctx, iworld, "operator")
    menu = run_command(ctx, operator, "graphique", [])
    assert refs(menu) == [
        ("Toute la plateforme", "chart_menu", "a"),
        ("Nord", "chart_menu", f"t{t1}"),
        ("Somme", "chart_menu", f"t{iworld.territories['T2']}"),
    ]
    reply = press(ctx, operator, Press("chart", f"users:m:r:t{t1}"))
    assert reply.ok and reply.text.startswith("Utilisateurs — Nord, du 01/02/2023")
    assert "3 utilisateurs au total" in reply.text
    refused = press(ctx, who(ctx, iworld, "ref"), Press("chart", f"users:m:r:t{t1}"))
    assert refused.ok is False and not refused.images
    assert refused.text == (
        "Le filtre de territoire est réservé aux opérateurs de la plateforme et aux "
        "administrateurs de ce territoire."
    )
    unknown = press(ctx, operator, Press("chart_menu", "t999999"))
    assert unknown.ok is False and unknown.text == "Le territoire n° 999999 n'existe pas."


def test_members_and_other_referents_are_refused(ctx, iworld):
    a = iworld.communities["A"]
    member = who(ctx, iworld, "m1")
    refused = run_command(ctx, member, "graphique", [])
    assert refused.ok is False
    assert refused.text.startswith("Les indicateurs sont réservés aux référents")
    for action, ref in (
        ("chart", f"co2:m:r:c{a}"),
        ("chart_csv", f"co2:m:r:c{a}"),
        ("chart_sum", f"c{a}"),
        ("chart_menu", f"c{a}"),
    ):
        for person in ("m1", "mod2"):
            reply = press(ctx, who(ctx, iworld, person), Press(action, ref))
            assert reply.ok is False, (person, action, ref)
            assert not reply.images and not reply.files
    assert press(ctx, member, Press("chart", "co2:m:r:a")).ok is False
    # "All mine" is only ever the actor's own communities: B for mod2.
    mine = press(ctx, who(ctx, iworld, "mod2"), Press("chart", "co2:m:r:a"))
    assert mine.text.startswith("CO₂ économisé — LeNord covoiture,")
    other = press(ctx, who(ctx, iworld, "mod2"), Press("chart", f"co2:m:r:c{a}"))
    assert other.text.startswith(
        f"Communauté n° {a} : introuvable parmi celles que vous administrez"
    )
    # The operator sees any community.
    assert press(ctx, who(ctx, iworld, "operator"), Press("chart", f"co2:m:r:c{a}")).images


def test_forged_or_malformed_buttons_are_refused(ctx, iworld):
    operator = who(ctx, iworld, "operator")
    for ref in ("", "co2", "co2:m:r", "nope:m:r:a", "co2:w:r:a", "co2:m:z:a", "co2:m:r:c",
                "co2:m:r:c99999999999", "co2:m:r:x1", "co2:m:r:c-1", "co2:m:r:c²"):  # fmt: skip
        reply = press(ctx, operator, Press("chart", ref))
        assert reply.ok is False and "bouton n'est pas valide" in reply.text, ref
    assert press(ctx, operator, Press("chart_menu", "c1:2")).ok is False
    assert run_command(ctx, operator, "graphique", ["99999999999"]).ok is False


def test_no_data_gives_a_clear_message_not_an_empty_plot(ctx, iworld):
    operator = who(ctx, iworld, "operator")
    request = ChartRequest(Indicator.CO2, Period.DAY, "a", dt.date(2023, 5, 1),
                                  dt.date(2023, 5, 31))  # fmt: skip
    reply = charts.chart(ctx, operator, request)
    assert reply.ok and not reply.images
    assert reply.text.startswith(
        "Aucune donnée pour « CO₂ économisé » (Toute la plateforme) du 01/05/2023 au 31/05/2023"
    )
    # C has no solidarity user at all.
    c = iworld.communities["C"]
    x = who(ctx, iworld, "x")
    none = press(ctx, x, Press("chart", f"solidarity:m:r:c{c}"))
    assert none.ok and not none.images and none.text.startswith("Aucune donnée")
    assert ("Chiffres (CSV)", "chart_csv", f"solidarity:m:r:c{c}") in refs(none)
    # A month nobody joined still has members: the running total is drawn.
    request = ChartRequest(Indicator.USERS, Period.MONTH, f"c{c}", dt.date(2024, 1, 11),
                                  dt.date(2024, 1, 17))  # fmt: skip
    assert charts.chart(ctx, x, request).images


def test_csv_holds_the_numbers_behind_the_chart(ctx, iworld):
    ref = who(ctx, iworld, "ref")
    a = iworld.communities["A"]
    reply = press(ctx, ref, Press("chart_csv", f"users:m:r:c{a}"))
    ((name, content),) = reply.files
    assert name == "users-month-20230201-20240117.csv"
    assert reply.text == (
        f"Les chiffres du graphique : {name} (période, série, valeur en utilisateurs)."
    )
    lines = content.decode("utf-8").splitlines()
    assert lines[0] == "period,series,value"
    assert lines[1:4] == ["2023-02,par mois,1", "2023-03,par mois,1", "2023-04,par mois,0"]
    assert "2024-01,total,3" in lines and len(lines) == 1 + 12 * 2
    years = press(ctx, ref, Press("chart_csv", f"co2:m:y:c{a}")).files[0][1].decode().splitlines()
    assert "2023-02,2023,0.004430" in years and "2024-01,2024,0.005325" in years


def test_synthesis_card_gives_the_five_figures(ctx, iworld):
    operator = who(ctx, iworld, "operator")
    reply = press(ctx, operator, Press("chart_sum", "a"))
    # Ads: those active on the day (P6; P7's one trip was on the 15th).
    assert reply.text == (
        "**Synthèse au 17/01/2024 : Toute la plateforme**\nDonnées jusqu'au 17/01/2024 à 10:02.\n"
        # against 17/01/2023: 2 users (operator, ref), 1 community (A), nothing else yet
        "• CO₂ économisé : 0,011 t (sur un an : —)\n• Annonces publiées : 1 (sur un an : —)\n"
        "• Utilisateurs : 8 (sur un an : +300\u202f%)\n"
        "• Utilisateurs solidaires : 2 (sur un an : —)\n"
        "• Communautés : 3 (sur un an : +200\u202f%)\n"
        "Ce qui est compté : CO₂ : 213 g par km de covoiturage réalisé ; annonces : non privées "
        "et valables ce jour-là ; utilisateurs : tous les inscrits, validés ou non ; utilisateurs "
        "solidaires : les passagers solidaires (bénéficiaires) ; communautés : toutes celles "
        "présentes."
    )
    (image,) = reply.images
    decoded(image.png)
    assert (
        "Utilisateurs : 8 (sur un an : +300\u202f%)" in image.alt
        and "Données jusqu'au 17/01/2024 à 10:02" in image.alt
    )
    # Other dates: today, the ends of the last three months, or a typed one.
    assert refs(reply) == [
        ("Aujourd'hui", "chart_sum", "a"),
        ("31/12/2023", "chart_sum", "a:20231231"),
        ("30/11/2023", "chart_sum", "a:20231130"),
        ("31/10/2023", "chart_sum", "a:20231031"),
        ("Autre date…", "chart_sum", "a"),
        ("↩ Indicateurs", "chart_menu", "a"),
    ]
    assert reply.all_buttons[4].input is not None
    end_of_2023 = press(ctx, operator, Press("chart_sum", "a:20231231"))
    assert end_of_2023.text.startswith("**Synthèse au 31/12/2023 : Toute la plateforme**")
    # b1 and x registered in January 2024; only the operator by 31/12/2022
    assert "• Utilisateurs : 6 (sur un an : +500\u202f%)\n" in end_of_2023.text
    a = iworld.communities["A"]
    ref = who(ctx, iworld, "ref")
    mine = press(ctx, ref, Press("chart_sum", f"c{a}", text=" 14/02/2023 "))
    assert mine.text.startswith("**Synthèse au 14/02/2023 : Arc France**")
    assert "• Utilisateurs : 2" in mine.text and "• Annonces publiées : 0" in mine.text


def test_monthly_axes_name_the_month(ctx, iworld):
    operator = who(ctx, iworld, "operator")
    request = ChartRequest(Indicator.USERS, Period.MONTH, "a")
    fig = figures(ctx, operator, request)
    labels = chart_data("fr", fig).labels
    assert labels[0] == "févr. 2023" and labels[-1] == "janv. 2024"
    assert chart_data("en", fig).labels[:2] == ("Feb 2023", "Mar 2023")
    days = figures(ctx, operator, ChartRequest(Indicator.USERS, Period.DAY, "a"))
    assert chart_data("fr", days).labels[-1] == "17/01"  # days keep dd/mm


def test_the_year_chart_marks_the_running_month_as_partial(ctx, iworld):
    clock.set_now(dt.datetime(2024, 12, 3, 9, 30))  # the frozen_clock fixture resets it
    operator = who(ctx, iworld, "operator")
    reply = press(ctx, operator, Press("chart", "users:m:y:a"))
    assert "Le mois en cours, déc. 2024, est compté jusqu'au 03/12/2024 seulement." in reply.text
    decoded(reply.images[0].png)
    fig = figures(ctx, operator, ChartRequest(Indicator.USERS, Period.MONTH, "a",
                                              years=(2023, 2024)))  # fmt: skip
    data = chart_data("fr", fig)
    assert data.labels[-1] == "déc. (au 03/12)" and data.labels[-2] == "nov."
    assert data.partial_series == "2024"  # its last point drawn hollow, the line to it dashed
    assert chart_data("en", fig).labels[-1] == "Dec (to 03/12)"
    english = press(ctx, who(ctx, iworld, "operator", "en"), Press("chart", "users:m:y:a"))
    assert "The current month, Dec 2024, is counted up to 03/12/2024 only." in english.text
    # Years that are all past: no month is running, nothing is marked.
    past = figures(ctx, operator, ChartRequest(Indicator.USERS, Period.MONTH, "a",
                                               years=(2022, 2023)))  # fmt: skip
    assert chart_data("fr", past).labels[-1] == "déc."
    assert chart_data("fr", past).partial_series is None


def test_the_synthesis_compares_with_the_same_date_a_year_before(ctx, iworld):
    clock.set_now(dt.datetime(2024, 4, 15, 12, 0))
    operator = who(ctx, iworld, "operator")
    reply = press(ctx, operator, Press("chart_sum", "a"))
    # Ads active on 15/04/2023: P2 (until 30/04) and the paused P5; on 15/04/2024: P6.
    assert "• Annonces publiées : 1 (sur un an : \u221250\u202f%)\n" in reply.text
    assert "• Utilisateurs : 8 (sur un an : +33\u202f%)\n" in reply.text  # 6 on 15/04/2023
    assert "Annonces publiées : 1 (sur un an : \u221250\u202f%)" in reply.images[0].alt
    decoded(reply.images[0].png)
    english = press(ctx, who(ctx, iworld, "operator", "en"), Press("chart_sum", "a"))
    assert "• Published ads: 1 (year on year: \u221250%)\n" in english.text
    # 29 February: compared with 28 February of the year before.
    leap = press(ctx, operator, Press("chart_sum", "a", text="29/02/2024"))
    assert leap.ok and "**Synthèse au 29/02/2024" in leap.text
    assert charts.year_before(dt.date(2024, 2, 29)) == dt.date(2023, 2, 28)
    assert charts.year_before(dt.date(2024, 3, 1)) == dt.date(2023, 3, 1)


def test_the_change_in_words():
    assert charts.change("fr", 112, 100) == "+12\u202f%"
    assert charts.change("fr", 97, 100) == "\u22123\u202f%"  # a minus sign, not a hyphen
    assert charts.change("en", 97, 100) == "\u22123%"
    assert charts.change("fr", 100, 100) == "0\u202f%"
    assert charts.change("fr", 5, 0) == charts.change("en", 0, 0) == "—"
    assert charts.change("fr", 15000, 1) == "+1\u202f499\u202f900\u202f%"


def test_synthesis_refuses_a_bad_or_future_date_clearly(ctx, iworld):
    a = iworld.communities["A"]
    ref = who(ctx, iworld, "ref")
    for typed in ("31/02/2023", "demain", "2023-02-14", "14/02/23"):
        reply = press(ctx, ref, Press("chart_sum", f"c{a}", text=typed))
        assert not reply.ok and not reply.images
        assert reply.text == (
            f"« {typed} » n'est pas une date : écrivez-la jj/mm/aaaa, par exemple 31/01/2024."
        )
    future = press(ctx, ref, Press("chart_sum", f"c{a}", text="18/01/2024"))
    assert not future.ok and future.text.startswith("Le 18/01/2024 est dans le futur")
    english = press(ctx, who(ctx, iworld, "ref", "en"), Press("chart_sum", f"c{a}", text="x"))
    assert english.text == '"x" is not a date: write it dd/mm/yyyy, for example 31/01/2024.'
    # A forged date in a button is refused like any malformed button.
    for forged in (f"c{a}:2024011", f"c{a}:20240132", f"c{a}:abcdefgh"):
        assert not press(ctx, ref, Press("chart_sum", forged)).ok


def test_english_captions(ctx, iworld):
    operator = who(ctx, iworld, "operator", language="en")
    reply = press(ctx, operator, Press("chart", "communities:m:r:a"))
    assert reply.text == (
        "Communities — The whole platform, 01/02/2023 to 17/01/2024: 2 communities over the "
        "period (highest: 1 community in Jun 2023), 3 communities in total. "
        "Counted: the communities present, by creation date. Data up to 17/01/2024 at 10:02."
    )


def test_unchanged_data_comes_from_the_cache_and_the_renderer_is_used(ctx, iworld, engine):
    operator = who(ctx, iworld, "operator")
    with ThreadPoolExecutor(1) as pool:
        submitted: list[object] = []
        original = pool.submit

        def submit(fn, *args):
            submitted.append(fn)
            return original(fn, *args)

        pool.submit = submit  # type: ignore[method-assign]
        pooled = Context(ctx.sessions, ctx.settings, chart_renderer=pool)
        first = press(ctx=pooled, actor=operator, p=Press("chart", "users:m:r:a"))
        assert len(submitted) == 1 and CACHE.misses == 1
        again = press(ctx=pooled, actor=operator, p=Press("chart", "users:m:r:a"))
        assert len(submitted) == 1 and CACHE.hits == 1
        assert again.images[0].png == first.images[0].png
        with Session(engine) as session, session.begin():
            session.add(User(email="new@test.fr", gender=1, status=1, phone_display=1,
                             created_date=dt.datetime(2024, 1, 16, 9)))  # fmt: skip
        changed = press(ctx=pooled, actor=operator, p=Press("chart", "users:m:r:a"))
        assert len(submitted) == 2 and "9 utilisateurs au total" in changed.text
        assert changed.images[0].png != first.images[0].png


def test_the_year_caption_says_totals_with_the_decimals_of_totals():
    """Months under 10 t but a year over it: the caption says each year's total as the range
    caption says a total (one decimal), not with the months' two."""
    from handlers.dashboard.figures import Figures, caption

    request = ChartRequest(Indicator.CO2, Period.MONTH, "a", years=(2025, 2026))
    months = (1.25, 1.5, 1.75, 1.0, 1.5, 1.25, 1.5, 1.75, 1.0, 1.5)  # 14.0 t
    fig = Figures(request, "Arc France", dt.date(2025, 1, 1), dt.date(2026, 12, 31),
                  dt.datetime(2026, 12, 4, 17, 0), tuple(f"{m:02d}" for m in range(1, 13)),
                  (("2025", (0.5, 0.75, 1.5)), ("2026", months)), None)  # fmt: skip
    french = caption("fr", fig)
    assert "année contre année : 2025 : 2,8 t de CO₂ ; 2026 : 14,0 t de CO₂. " in french
    assert "year against year: 2025: 2.8 t of CO₂; 2026: 14.0 t of CO₂. " in caption("en", fig)
