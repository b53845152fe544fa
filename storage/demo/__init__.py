"""Demo data for the platform's tables: a small, realistic Hauts-de-France sample, or large data.

Why: a referent trying the bot, a developer, and the benchmarks all need a database that looks like
Pass Pass covoiturage's: the communities of the referent guide, members in every status with the
dates the platform would have written, pending requests to decide, ads, carpools carried out,
territories for the dashboard's filters.

Every scale starts with the named sample (the guide's 10 communities and people, ~230 users,
150 ads, 90 carpool items). Scale 0, the default, grows it into a platform with Pass Pass's
proportions (the guide's synthesis at 31/01/2024: 14,581 users, 6,364 ads, 30 t of CO2, 76
communities): most users registered but inactive, many in no community, and the staff of Arc
France and LeNord covoiture commuting together most working days, so that those communities
of a few hundred members save tonnes of CO2 a month while the lifetime figures stay near 2 kg
of CO2 and 0.4 ads per user. Scales 1-3 (the benchmarks' data) add large data to the sample
instead, and keep their sizes:

=====  ==========  =======  =============  ===========
scale  users       ads      carpool items  communities
=====  ==========  =======  =============  ===========
0      13 000      ~8 500   ~6 000         65
1      +10 000     +5 000   +20 000        80
2      +100 000    +50 000  +200 000       80
3      +1 000 000  +500 000 +2 000 000     80
=====  ==========  =======  =============  ===========

(ads here are proposals, an outward and its return counted twice; the ads indicator counts
about 5,150 published ads at scale 0.)

Rows go in with explicit ids through SQLAlchemy Core executemany, in batches, one transaction per
batch; rows are generated batch by batch so memory stays bounded (only a few integer arrays per
user are kept). Everything is drawn from `random.Random(seed)` and dated relative to
`storage.clock.now()`, so a seed and a clock give the same database on every dialect.
"""

from __future__ import annotations

from storage.demo.constants import (
    CARPOOL_ITEM_OUTWARD,
    PAYMENT_STATUS_INITIALIZED,
    PLATFORM_COMMUNITIES,
    PLATFORM_USERS,
    SCALES,
    TERRITORY_LEVEL_DEPARTEMENT,
)
from storage.demo.fill import DemoError, DemoSummary, fill_demo
from storage.demo.roles import demo_login_hint
from storage.demo.sample import NAMED_COMMUNITIES

__all__ = [
    "CARPOOL_ITEM_OUTWARD",
    "NAMED_COMMUNITIES",
    "PAYMENT_STATUS_INITIALIZED",
    "PLATFORM_COMMUNITIES",
    "PLATFORM_USERS",
    "SCALES",
    "TERRITORY_LEVEL_DEPARTEMENT",
    "DemoError",
    "DemoSummary",
    "demo_login_hint",
    "fill_demo",
]
