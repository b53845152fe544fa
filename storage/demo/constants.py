"""How much the demo writes and over which dates, and the platform codes it writes as
plain ints.
"""

from __future__ import annotations

import datetime as dt

from storage.codes import (
    ACCEPTED_STATUSES,
    CARPOOL_ITEM_DISTANCE_SINCE,
    CarpoolItemStatus,
    MembershipStatus,
    ValidationType,
)

#: Extra rows per scale: (users, ads, carpool items).
SCALES: dict[int, tuple[int, int, int]] = {
    1: (10_000, 5_000, 20_000),
    2: (100_000, 50_000, 200_000),
    3: (1_000_000, 500_000, 2_000_000),
}
#: Communities in total from scale 1 on (the named ones included).
LARGE_COMMUNITIES = 80
#: Rows per executemany call (the fullest table's buffer; the others flush with it).
BATCH_SIZE = 10_000

# Platform codes that storage.codes does not name (only demo data writes them).
CARPOOL_ITEM_OUTWARD = 1  # carpool_item.type
PAYMENT_STATUS_INITIALIZED = 0  # carpool_item.debtor_status / creditor_status
TERRITORY_LEVEL_DEPARTEMENT = 6  # territory.admin_level, as in OpenStreetMap
TERRITORY_LEVEL_EPCI = 7  # intercommunalités (no OSM level; one below the départements)

# Codes as plain ints: PyMySQL would send IntEnum members as quoted strings.
_PENDING = int(MembershipStatus.PENDING)
_MEMBER = int(MembershipStatus.MEMBER)
_MODERATOR = int(MembershipStatus.MODERATOR)
_REFUSED = int(MembershipStatus.REFUSED)
_ACCEPTED = tuple(int(s) for s in ACCEPTED_STATUSES)
_MANUAL = int(ValidationType.MANUAL)
_DOMAIN = int(ValidationType.DOMAIN)
_PLANNED = int(CarpoolItemStatus.PLANNED)
_CARRIED_OUT = int(CarpoolItemStatus.CARRIED_OUT)
_NOT_CARRIED_OUT = int(CarpoolItemStatus.NOT_CARRIED_OUT)

USER_HISTORY_DAYS = 1095  # users registered over the last three years
ACTIVITY_DAYS = 730  # ads and carpools over the last two years
PENDING_WINDOW_DAYS = 40  # pending requests are recent
PRICE_PER_METRE = 0.00006  # 0.06 EUR per km, a usual carpooling price
#: The named sample's proposals and carpool items (at every scale; at scale 0 build_platform
#: adds the rest of the platform).
SAMPLE_PROPOSALS = 150
SAMPLE_ITEMS = 90
SAMPLE_CREW_ITEMS = 10  # at most per crew, so that several communities have carpools
#: Scale 0 only (build_platform): the platform around the sample, with Pass Pass's proportions
#: (the guide's synthesis at 31/01/2024: 14,581 users, 6,364 ads, 30 t of CO2, 76 communities):
#: users in all, communities in all (one for about 200 users), ads published per user.
PLATFORM_USERS = 13_000
PLATFORM_COMMUNITIES = 65
PLATFORM_ADS_PER_USER = 0.42
#: How fast the commuters adopt carpooling: crews formed by time t of the two years ~ t^this.
PLATFORM_ADOPTION = 2.0
#: Communities whose staff commute together: name -> (accepted members, their professional
#: e-mail domain, crews formed over the last two years).
PLATFORM_COMMUTERS: dict[str, tuple[int, str | None, int]] = {
    "Arc France": (420, "arcfrance.fr", 27),
    "LeNord covoiture": (330, "lenord.fr", 18),
}
#: Items before this day keep carpool_item.distance NULL (the column came in June 2023).
DISTANCE_SINCE = dt.date(*CARPOOL_ITEM_DISTANCE_SINCE)
ONE_DAY = dt.timedelta(days=1)
_RETRIES = 50  # draws of an author or a crew for one moment before giving the moment up
