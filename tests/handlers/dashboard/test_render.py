"""Drawing without a database: PNG decoded, phone-sized, the palette, the process pool, the
console saving images."""

from __future__ import annotations

import io
import warnings

from matplotlib.image import imread

from bot.console import Console
from handlers.core.reply import Image, Reply
from handlers.dashboard.render import (
    OKABE_ITO,
    CardData,
    ChartData,
    make_render_pool,
    render_card_png,
    render_png,
)

MONTHS = tuple(f"{m:02d}/2023" for m in range(1, 13))
DATA = ChartData(
    title="CO₂ économisé",
    subtitle="Arc France · du 01/01/2023 au 31/12/2023 · données jusqu'au 31/12/2023",
    labels=MONTHS,
    series=(("par mois", tuple(float(m) for m in range(12))),),
    value_label="t de CO₂",
    total=tuple(float(sum(range(m + 1))) for m in range(12)),
    total_label="total",
    decimals=1,
)


def pixels_of(png: bytes):
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return imread(io.BytesIO(png), format="png")


def colour_count(pixels, hex_colour: str) -> int:
    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    close = (
        (abs(pixels[..., 0] - r) < 0.02)
        & (abs(pixels[..., 1] - g) < 0.02)
        & (abs(pixels[..., 2] - b) < 0.02)
    )
    return int(close.sum())


def test_bars_and_running_total_in_the_okabe_ito_palette():
    pixels = pixels_of(render_png(DATA))
    assert pixels.shape == (600, 960, 4)
    assert colour_count(pixels, OKABE_ITO[0]) > 5_000  # bars, blue
    assert colour_count(pixels, OKABE_ITO[1]) > 500  # the total's line, orange


def test_a_year_of_days_and_the_year_against_year_lines():
    days = tuple(f"{d:03d}" for d in range(366))
    data = ChartData("Utilisateurs", "2023", days, (("par jour", (1.0,) * 366),), "utilisateurs",
                     total=tuple(float(d) for d in range(366)), total_label="total")  # fmt: skip
    assert pixels_of(render_png(data)).shape == (600, 960, 4)
    two_years = (("2023", (1.0,) * 12), ("2024", (2.0, 3.0)))
    lines = ChartData(
        "Annonces publiées", "2023 / 2024", MONTHS, two_years, "annonces", kind="lines"
    )
    pixels = pixels_of(render_png(lines))
    assert colour_count(pixels, OKABE_ITO[0]) > 500 and colour_count(pixels, OKABE_ITO[1]) > 100


def test_synthesis_card():
    card = CardData("Synthèse", "Toute la plateforme · Données jusqu'au 31/01/2024.",
                    (("CO₂ économisé", "30 t"), ("Annonces publiées", "6 364"),
                     ("Utilisateurs", "14 581"), ("Utilisateurs solidaires", "0"),
                     ("Communautés", "76")))  # fmt: skip
    pixels = pixels_of(render_card_png(card))
    assert pixels.shape == (600, 960, 4)
    assert colour_count(pixels, OKABE_ITO[0]) > 50


def test_the_card_shows_each_change_under_its_figure():
    rows = (("Utilisateurs", "14\u202f581"), ("Communautés", "76"))
    plain = pixels_of(render_card_png(CardData("Synthèse", "Toute la plateforme", rows)))
    with_changes = pixels_of(
        render_card_png(
            CardData(
                "Synthèse", "Toute la plateforme", rows, ("sur un an : +12\u202f%", "sur un an : —")
            )
        )
    )
    # the changes' grey (a few antialiased pixels of other texts come close to it)
    assert colour_count(with_changes, "#555555") > colour_count(plain, "#555555") + 200


def test_french_thousands_separators_are_drawn_not_a_missing_glyph():
    """U+202F is in matplotlib's DejaVu Sans: no "Glyph missing" box on the axes or the card."""
    big = ChartData("Utilisateurs", "x", MONTHS, (("par mois", (14581.0,) * 12),), "utilisateurs",
                    language="fr")  # fmt: skip
    card = CardData("Synthèse", "x", (("Utilisateurs", "14\u202f581"),), ("+1\u202f200\u202f%",))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        render_png(big)
        render_card_png(card)
    assert not [w for w in caught if "missing" in str(w.message).lower()]


def test_the_process_pool_draws_the_same_chart():
    pool = make_render_pool(1)
    try:
        png = pool.submit(render_png, DATA).result(timeout=60)
    finally:
        pool.shutdown(wait=True)
    assert pixels_of(png).shape == (600, 960, 4)
    assert (pixels_of(png) == pixels_of(render_png(DATA))).all()


def test_the_console_saves_images_and_files_and_prints_their_path(tmp_path):
    out = io.StringIO()
    console = Console(ctx=None, user_id=0, stdin=io.StringIO(), stdout=out, output_dir=tmp_path)  # type: ignore[arg-type]
    png = render_png(DATA)
    console.show(Reply("Voici", images=(Image(png, "CO₂ : 66 t", "CO₂ : 66 t", "co2.png"),),
                       files=(("co2.csv", b"period,series,value\n"),)))  # fmt: skip
    assert (tmp_path / "co2.png").read_bytes() == png
    assert (tmp_path / "co2.csv").read_bytes() == b"period,series,value\n"
    printed = out.getvalue()
    assert f"🖼 {tmp_path / 'co2.png'} — CO₂ : 66 t" in printed
    assert f"📄 {tmp_path / 'co2.csv'}" in printed


def test_a_shut_down_pool_falls_back_to_drawing_in_the_use_case_thread():
    from sqlalchemy.orm import sessionmaker

    from handlers.core.context import Context
    from handlers.dashboard import cache

    pool = make_render_pool(1)
    pool.shutdown(wait=True)
    ctx = Context(sessions=sessionmaker(), chart_renderer=pool)
    cache.CACHE.clear()
    try:
        assert pixels_of(cache.draw(ctx, render_png, DATA)).shape == (600, 960, 4)
    finally:
        cache.CACHE.clear()


def test_every_label_of_a_year_chart_with_a_running_month_fits_in_the_image():
    """The running month's longer label ("déc. … (au 04/12)") was cut by the image's edge."""
    import datetime as dt

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from handlers.dashboard.figures import Figures, chart_data
    from handlers.dashboard.render import draw_chart
    from handlers.dashboard.request import ChartRequest
    from storage.indicators import Indicator, Period

    request = ChartRequest(Indicator.CO2, Period.MONTH, "a", years=(2025, 2026))
    fig = Figures(request, "Arc France", dt.date(2025, 1, 1), dt.date(2026, 12, 31),
                  dt.datetime(2026, 12, 4, 17, 0), tuple(f"{m:02d}" for m in range(1, 13)),
                  (("2025", (0.5,) * 12), ("2026", (0.75,) * 12)), None)  # fmt: skip
    for lang, running in (("fr", "déc."), ("en", "Dec")):
        figure = draw_chart(chart_data(lang, fig))
        renderer = FigureCanvasAgg(figure).get_renderer()
        width, height = figure.bbox.width, figure.bbox.height
        labels = [label for axes in figure.axes for label in axes.get_xticklabels()]
        assert any(running in label.get_text() and "04/12" in label.get_text()
                   for label in labels)  # fmt: skip
        # the running month's point is hollow at the end of a dashed line, in 2026's colour
        [plot] = [line for line in figure.axes[0].lines if line.get_label() == "2026"]
        assert len(plot.get_xdata()) == 11  # the whole months
        [hollow] = [line for line in figure.axes[0].lines if line.get_markerfacecolor() == "white"]
        assert list(hollow.get_xdata()) == [11] and hollow.get_color() == plot.get_color()
        [dashed] = [line for line in figure.axes[0].lines if line.get_linestyle() == "--"]
        assert list(dashed.get_xdata()) == [10, 11] and dashed.get_color() == plot.get_color()
        for label in labels:
            box = label.get_window_extent(renderer)
            assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height, (
                lang,
                label.get_text(),
                box.bounds,
            )


def test_each_change_sits_with_its_figure_and_every_text_fits():
    """A change closer to its own figure than to the next row's, nothing overlapping, nothing
    out of the image."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from handlers.dashboard.render import draw_card

    rows = (("CO₂ économisé", "16,7 t"), ("Annonces publiées", "302"), ("Utilisateurs", "412"),
            ("Utilisateurs solidaires", "0"), ("Communautés", "1"))  # fmt: skip
    changes = ("sur un an : +659 %", "sur un an : +120 %", "sur un an : +166 %",
               "sur un an : —", "sur un an : 0 %")  # fmt: skip
    figure = draw_card(CardData("Synthèse au 04/12/2026", "Arc France", rows, changes))
    renderer = FigureCanvasAgg(figure).get_renderer()
    [axes] = figure.axes
    boxes = {t.get_text(): t.get_window_extent(renderer) for t in axes.texts}
    values = [boxes[value] for _, value in rows]
    below = [boxes[change] for change in changes]
    for index, (value, change) in enumerate(zip(values, below, strict=True)):
        own = value.y0 - change.y1  # y grows upwards
        assert own >= 0, rows[index]
        if index + 1 < len(values):
            assert values[index + 1].y1 <= change.y0, rows[index]  # no overlap with the next
            assert own < change.y0 - values[index + 1].y1, rows[index]
    for text, box in boxes.items():
        assert box.x0 >= 0 and box.y0 >= 0, text
        assert box.x1 <= figure.bbox.width and box.y1 <= figure.bbox.height, text
