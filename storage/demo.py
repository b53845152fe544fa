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

import datetime as dt
import math
import random
import unicodedata
from array import array
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, func, insert, literal, select, text

from storage import clock
from storage.codes import (
    ACCEPTED_STATUSES,
    CARPOOL_ITEM_DISTANCE_SINCE,
    AskStatus,
    AuthItemId,
    CarpoolItemStatus,
    CriteriaFrequency,
    Gender,
    MembershipStatus,
    PhoneDisplay,
    ProposalType,
    UserStatus,
    ValidationType,
)
from storage.models import (
    Community,
    CommunityUser,
    Language,
    PlatformBase,
    Territory,
    User,
    UserAuthAssignment,
)
from storage.roles import ensure_auth_items


class DemoError(RuntimeError):
    """The database cannot receive demo data; the message says why."""


@dataclass(frozen=True)
class DemoSummary:
    """Rows written by `fill_demo`, per kind."""

    users: int
    communities: int
    memberships: int
    ads: int
    carpool_items: int
    solidary_users: int
    territories: int


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

# --------------------------------------------------------------------------- reference data


@dataclass(frozen=True)
class _Town:
    name: str
    postal_code: str
    departement: str
    latitude: float
    longitude: float
    weight: int  # population in thousands, to draw homes
    epci: str | None = None


#: code -> (name, (min_lat, max_lat, min_lon, max_lon)), rough bounding boxes.
DEPARTEMENTS: dict[str, tuple[str, tuple[float, float, float, float]]] = {
    "59": ("Nord", (50.02, 51.09, 2.07, 4.23)),
    "62": ("Pas-de-Calais", (50.02, 51.01, 1.55, 3.19)),
    "80": ("Somme", (49.57, 50.37, 1.38, 3.21)),
    "60": ("Oise", (49.06, 49.76, 1.69, 3.17)),
    "02": ("Aisne", (48.84, 50.07, 2.96, 4.26)),
}

EPCIS: dict[str, str] = {
    "MEL": "Métropole Européenne de Lille",
    "CUD": "Communauté urbaine de Dunkerque",
    "CUA": "Communauté urbaine d'Arras",
    "CALL": "Communauté d'agglomération de Lens-Liévin",
    "CAPSO": "Communauté d'agglomération du Pays de Saint-Omer",
    "VM": "Valenciennes Métropole",
    "CAPH": "Communauté d'agglomération de la Porte du Hainaut",
    "DA": "Douaisis Agglo",
    "AM": "Amiens Métropole",
    "CAB": "Communauté d'agglomération du Beauvaisis",
    "ARC": "Agglomération de la Région de Compiègne",
}

TOWNS: tuple[_Town, ...] = (
    _Town("Lille", "59000", "59", 50.6292, 3.0573, 236, "MEL"),
    _Town("Roubaix", "59100", "59", 50.6942, 3.1746, 98, "MEL"),
    _Town("Tourcoing", "59200", "59", 50.7239, 3.1612, 98, "MEL"),
    _Town("Villeneuve-d'Ascq", "59650", "59", 50.6233, 3.1450, 62, "MEL"),
    _Town("Marcq-en-Barœul", "59700", "59", 50.6711, 3.0970, 39, "MEL"),
    _Town("Wattrelos", "59150", "59", 50.7018, 3.2170, 41, "MEL"),
    _Town("Armentières", "59280", "59", 50.6881, 2.8806, 25, "MEL"),
    _Town("Dunkerque", "59140", "59", 51.0343, 2.3768, 87, "CUD"),
    _Town("Grande-Synthe", "59760", "59", 51.0150, 2.3020, 20, "CUD"),
    _Town("Gravelines", "59820", "59", 50.9865, 2.1281, 11, "CUD"),
    _Town("Valenciennes", "59300", "59", 50.3570, 3.5235, 43, "VM"),
    _Town("Saint-Amand-les-Eaux", "59230", "59", 50.4486, 3.4283, 16, "CAPH"),
    _Town("Douai", "59500", "59", 50.3714, 3.0800, 40, "DA"),
    _Town("Cambrai", "59400", "59", 50.1760, 3.2356, 32),
    _Town("Maubeuge", "59600", "59", 50.2775, 3.9734, 29),
    _Town("Hazebrouck", "59190", "59", 50.7245, 2.5389, 22),
    _Town("Arras", "62000", "62", 50.2910, 2.7775, 41, "CUA"),
    _Town("Lens", "62300", "62", 50.4320, 2.8333, 32, "CALL"),
    _Town("Liévin", "62800", "62", 50.4229, 2.7786, 31, "CALL"),
    _Town("Calais", "62100", "62", 50.9513, 1.8587, 67),
    _Town("Boulogne-sur-Mer", "62200", "62", 50.7264, 1.6147, 40),
    _Town("Béthune", "62400", "62", 50.5303, 2.6408, 25),
    _Town("Saint-Omer", "62500", "62", 50.7500, 2.2522, 14, "CAPSO"),
    _Town("Arques", "62510", "62", 50.7350, 2.3030, 10, "CAPSO"),
    _Town("Amiens", "80000", "80", 49.8941, 2.2958, 134, "AM"),
    _Town("Abbeville", "80100", "80", 50.1054, 1.8332, 23),
    _Town("Beauvais", "60000", "60", 49.4300, 2.0800, 56, "CAB"),
    _Town("Compiègne", "60200", "60", 49.4179, 2.8261, 40, "ARC"),
    _Town("Creil", "60100", "60", 49.2597, 2.4750, 36),
    _Town("Saint-Quentin", "02100", "02", 49.8465, 3.2876, 53),
    _Town("Laon", "02000", "02", 49.5641, 3.6199, 24),
    _Town("Soissons", "02200", "02", 49.3817, 3.3236, 28),
    _Town("Château-Thierry", "02400", "02", 49.0464, 3.4030, 14),
)
_TOWN_INDEX = {town.name: i for i, town in enumerate(TOWNS)}

STREETS = (
    "Rue de la République",
    "Rue Jean Jaurès",
    "Rue Victor Hugo",
    "Rue Pasteur",
    "Rue du Général de Gaulle",
    "Avenue Foch",
    "Rue Faidherbe",
    "Rue Nationale",
    "Rue de Paris",
    "Rue Léon Gambetta",
    "Rue Carnot",
    "Boulevard de la Liberté",
    "Rue des Écoles",
    "Rue de l'Église",
    "Rue du Moulin",
    "Rue Roger Salengro",
    "Rue Jules Ferry",
    "Rue Émile Zola",
    "Place du Marché",
    "Rue des Tilleuls",
    "Allée des Peupliers",
    "Rue Anatole France",
    "Rue Jean Moulin",
    "Chemin des Prés",
)

FEMALE_NAMES = (
    "Marie", "Camille", "Léa", "Manon", "Chloé", "Sarah", "Julie", "Émilie", "Hélène", "Adèle",
    "Mathilde", "Céline", "Nathalie", "Sandrine", "Isabelle", "Aurélie", "Élodie", "Margaux",
    "Inès", "Louise", "Zoé", "Clémence", "Océane", "Maëlle", "Anaïs", "Laëtitia", "Valérie",
    "Sophie", "Christelle", "Audrey", "Noémie", "Justine", "Pauline", "Amélie", "Gaëlle",
    "Françoise", "Séverine", "Cécile", "Agnès", "Bérénice", "Lucie", "Fatima", "Yasmine", "Aïcha",
)  # fmt: skip
MALE_NAMES = (
    "Thomas", "Nicolas", "Julien", "Maxime", "Antoine", "Alexandre", "Hugo", "Lucas", "Théo",
    "François", "Aurélien", "Jérôme", "Stéphane", "Sébastien", "Frédéric", "Benoît", "Grégory",
    "Cédric", "Jean-Marc", "Jean-François", "Pierre", "Olivier", "Fabrice", "Mickaël", "Loïc",
    "Gaël", "Rémi", "Xavier", "Yannick", "Ludovic", "Mathéo", "Noé", "Raphaël", "Clément",
    "Baptiste", "Florian", "Karim", "Mehdi", "Youssef", "Bruno", "Hervé", "Pascal", "Didier",
)  # fmt: skip
FAMILY_NAMES = (
    "Martin", "Lefebvre", "Dubois", "Leroy", "Lemaire", "Dupont", "Duhamel", "Delattre",
    "Lecomte", "Vandenbussche", "Vanhoutte", "Deschamps", "Delporte", "Declercq", "Dewitte",
    "Vasseur", "Caron", "Lebrun", "Carpentier", "Leclercq", "Delannoy", "Dubus", "Hennebert",
    "Béghin", "Bécu", "Déprez", "Lefèvre", "Mercier", "Fournier", "Gosselin", "Tison", "Deroo",
    "Hochart", "Bouchez", "Boulanger", "Carlier", "Wattiez", "Verhaeghe", "Ducrocq", "Lemoine",
    "Lévêque", "Bernard", "Petit", "Moreau", "Benali", "Amrani", "Haddad", "Nowak", "Kowalski",
    "Coppens", "Poulain", "Masson", "Barbier", "Bailleul", "Cuvelier", "Lhomme", "Gérard",
    "Noël", "Hébert", "Desmet", "Van de Velde", "Dumont", "Lenglet", "Flament", "Delbecq",
)  # fmt: skip
#: Personal e-mail domains and their weights.
MAIL_DOMAINS = (
    ("gmail.com", 44),
    ("orange.fr", 15),
    ("hotmail.fr", 10),
    ("free.fr", 8),
    ("outlook.fr", 6),
    ("yahoo.fr", 6),
    ("sfr.fr", 5),
    ("laposte.net", 5),
    ("wanadoo.fr", 1),
)

# --------------------------------------------------------------------------- the named sample


@dataclass(frozen=True)
class _Person:
    """A named user of the sample; `key` is the e-mail."""

    email: str
    given: str
    family: str
    gender: Gender
    town: str


CAST: tuple[_Person, ...] = (
    _Person("jean-marc.mercier@arcfrance.fr", "Jean-Marc", "Mercier", Gender.MALE, "Arques"),
    _Person("emilie.fournier@arcfrance.fr", "Emilie", "Fournier", Gender.FEMALE, "Saint-Omer"),
    _Person("eddy.lemaire@lenord.fr", "Eddy", "Lemaire", Gender.MALE, "Lille"),
    _Person("olivier.tison@orange.fr", "Olivier", "Tison", Gender.MALE, "Dunkerque"),
    _Person(
        "cyrielle.x.gosselin@gsk.com", "Cyrielle", "Gosselin", Gender.FEMALE, "Saint-Amand-les-Eaux"
    ),
    _Person(
        "sandrine.vasseur@univ-lille.fr", "Sandrine", "Vasseur", Gender.FEMALE, "Villeneuve-d'Ascq"
    ),  # noqa: E501
    _Person("karim.haddad@chu-amiens.fr", "Karim", "Haddad", Gender.MALE, "Amiens"),
    _Person("celine.poulain@free.fr", "Céline", "Poulain", Gender.FEMALE, "Compiègne"),
    _Person("benoit.delannoy@hautsdefrance.fr", "Benoît", "Delannoy", Gender.MALE, "Lille"),
    _Person(
        "gregory.wattiez@valenciennes-metropole.fr",
        "Grégory",
        "Wattiez",
        Gender.MALE,
        "Valenciennes",
    ),
    # Members of Arc France shown in the referent guide.
    _Person("pierre.lefebvre@arcfrance.fr", "Pierre", "Lefebvre", Gender.MALE, "Arques"),
    _Person("fabrice.carlier@arcfrance.fr", "FABRICE", "CARLIER", Gender.MALE, "Saint-Omer"),
    _Person("helene.bouchez@arcfrance.fr", "Hélène", "Bouchez", Gender.FEMALE, "Arques"),
    _Person("francois.boulanger@gmail.com", "François", "Boulanger", Gender.MALE, "Hazebrouck"),
    _Person("tuline.benali@arcfrance.fr", "Tuline", "Benali", Gender.FEMALE, "Saint-Omer"),
    _Person("nathalie.delattre@orange.fr", "Nathalie", "Delattre", Gender.FEMALE, "Arques"),
    _Person("lila.amrani@arcfrance.fr", "Lila", "Amrani", Gender.FEMALE, "Saint-Omer"),
    _Person("nicolas.duhamel@free.fr", "Nicolas", "Duhamel", Gender.MALE, "Béthune"),
    _Person("marion.hochart@arcfrance.fr", "Marion", "Hochart", Gender.FEMALE, "Arques"),
    _Person("aurelien.gilson@arcfrance.fr", "Aurélien", "Gilson", Gender.MALE, "Saint-Omer"),
    _Person("adele.dias@gmail.com", "Adèle", "Dias", Gender.FEMALE, "Calais"),
)

_CAST_NAMES = frozenset((p.given, p.family) for p in CAST)

#: Platform admins of the sample, to try in the console: e-mail -> (role, département code of
#: the territory it is limited to, or None). Benoît (Région Hauts-de-France) administers every
#: community; Eddy (Département du Nord) those of the Nord.
DEMO_ADMINS: dict[str, tuple[AuthItemId, str | None]] = {
    "benoit.delannoy@hautsdefrance.fr": (AuthItemId.ADMIN, None),
    "eddy.lemaire@lenord.fr": (AuthItemId.ADMIN, "59"),
}

_ARC_FRANCE_DESCRIPTION = (
    "Afin de préserver la planète et de bâtir un monde meilleur pour la future génération, "
    "Arc France vise une réduction de 37% de ses émissions de carbone d'ici 2030."
)
# The guide's "présentation courte" of LeNord covoiture is longer than description's 255
# characters: its first sentence is the description, the whole text the full description.
_LENORD_DESCRIPTION = (
    "Créé dans le cadre du Plan de Déplacements de l'Administration, « LeNord covoiture » est "
    "dédié aux agents du Département du Nord intéressés par le covoiturage."
)
_LENORD_FULL = _LENORD_DESCRIPTION + (
    " Les agents de la collectivité sont regroupés dans de nombreux sites sur l'ensemble du "
    "territoire départemental (Flandre maritime, Flandre intérieure, Métropole lilloise, "
    "Douaisis, Valenciennois, Cambrésis, Sambre-Avesnois)."
)


@dataclass(frozen=True)
class _NamedCommunity:
    name: str
    description: str
    full_description: str
    validation: ValidationType
    domain: str | None
    street: str
    postal_code: str
    town: str
    referent: str  # e-mail of a CAST person
    moderators: tuple[str, ...]  # CAST e-mails
    members: tuple[str, ...]  # CAST e-mails, status member
    n_members: int  # status 1 in all (named members included)
    n_pending: int
    n_refused: int
    n_extra_moderators: int
    age_days: int
    area: tuple[str, ...]  # towns where most members live
    members_hidden: bool = False
    proposals_hidden: bool = False
    weight: int = 5  # share of the large-scale members


NAMED_COMMUNITIES: tuple[_NamedCommunity, ...] = (
    _NamedCommunity(
        "Arc France",
        _ARC_FRANCE_DESCRIPTION,
        _ARC_FRANCE_DESCRIPTION
        + " Salariés des sites d'Arques et des environs, partagez vos trajets domicile-travail.",
        ValidationType.MANUAL,
        "arcfrance.fr",
        "104 Avenue du Général de Gaulle",
        "62510",
        "Arques",
        "jean-marc.mercier@arcfrance.fr",
        ("emilie.fournier@arcfrance.fr",),
        (
            "pierre.lefebvre@arcfrance.fr",
            "fabrice.carlier@arcfrance.fr",
            "helene.bouchez@arcfrance.fr",
            "francois.boulanger@gmail.com",
            "tuline.benali@arcfrance.fr",
            "nathalie.delattre@orange.fr",
            "lila.amrani@arcfrance.fr",
            "nicolas.duhamel@free.fr",
            "marion.hochart@arcfrance.fr",
            "aurelien.gilson@arcfrance.fr",
            "adele.dias@gmail.com",
        ),
        26,
        6,
        2,
        0,
        980,
        ("Arques", "Saint-Omer", "Hazebrouck", "Béthune", "Calais"),
        weight=6,
    ),
    _NamedCommunity(
        "LeNord covoiture",
        _LENORD_DESCRIPTION,
        _LENORD_FULL,
        ValidationType.AUTOMATIC,
        None,
        "51 Rue Gustave Delory",
        "59000",
        "Lille",
        "eddy.lemaire@lenord.fr",
        (),
        (),
        38,
        1,
        2,
        2,
        1060,
        ("Lille", "Roubaix", "Tourcoing", "Douai", "Valenciennes", "Dunkerque", "Cambrai"),
        weight=12,
    ),
    _NamedCommunity(
        "Communauté urbaine de Dunkerque - habitants",
        "Les habitants de la Communauté urbaine de Dunkerque partagent leurs trajets du quotidien.",
        "Communauté ouverte à tous les habitants des communes de la Communauté urbaine de "
        "Dunkerque : trajets domicile-travail, loisirs, rendez-vous. Inscription libre.",
        ValidationType.AUTOMATIC,
        None,
        "Pertuis de la Marine",
        "59140",
        "Dunkerque",
        "olivier.tison@orange.fr",
        (),
        (),
        26,
        1,
        1,
        1,
        1050,
        ("Dunkerque", "Grande-Synthe", "Gravelines"),
        weight=8,
    ),
    _NamedCommunity(
        "GSK Saint Amand les Eaux",
        "Covoiturage des collaborateurs du site GSK de Saint-Amand-les-Eaux.",
        "Vous travaillez sur le site de Saint-Amand-les-Eaux ? Trouvez un covoitureur pour vos "
        "trajets domicile-travail, en horaires de journée comme en équipes postées.",
        ValidationType.AUTOMATIC,
        None,
        "189 Route de Valenciennes",
        "59230",
        "Saint-Amand-les-Eaux",
        "cyrielle.x.gosselin@gsk.com",
        (),
        (),
        18,
        1,
        1,
        1,
        1025,
        ("Saint-Amand-les-Eaux", "Valenciennes", "Douai", "Lille"),
        weight=4,
    ),
    _NamedCommunity(
        "Audomarois en covoiturage",
        "Covoiturer dans le Pays de Saint-Omer : trajets du quotidien entre voisins.",
        "Communauté animée par des habitants de l'Audomarois pour se rendre au travail, à la gare "
        "ou au marché ensemble. Les demandes d'adhésion sont validées par la référente.",
        ValidationType.MANUAL,
        None,
        "Place Foch",
        "62500",
        "Saint-Omer",
        "emilie.fournier@arcfrance.fr",
        (),
        ("tuline.benali@arcfrance.fr", "helene.bouchez@arcfrance.fr"),
        12,
        4,
        1,
        1,
        610,
        ("Saint-Omer", "Arques", "Hazebrouck"),
        weight=3,
    ),
    _NamedCommunity(
        "Université de Lille - personnels",
        "Covoiturage des personnels de l'Université de Lille, tous campus confondus.",
        "Réservée aux personnels de l'université : l'adhésion est automatique avec une adresse "
        "électronique @univ-lille.fr.",
        ValidationType.DOMAIN,
        "univ-lille.fr",
        "42 Rue Paul Duez",
        "59000",
        "Villeneuve-d'Ascq",
        "sandrine.vasseur@univ-lille.fr",
        (),
        (),
        16,
        1,
        2,
        1,
        900,
        ("Villeneuve-d'Ascq", "Lille", "Roubaix", "Marcq-en-Barœul"),
        weight=7,
    ),
    _NamedCommunity(
        "CHU Amiens-Picardie",
        "Covoiturage des agents du CHU Amiens-Picardie.",
        "Communauté sécurisée : l'adhésion est réservée aux agents figurant dans le fichier des "
        "identifiants transmis par la direction des ressources humaines.",
        ValidationType.SECURED,
        None,
        "1 Rond-point du Professeur Christian Cabrol",
        "80054",
        "Amiens",
        "karim.haddad@chu-amiens.fr",
        (),
        (),
        12,
        1,
        2,
        1,
        760,
        ("Amiens", "Abbeville"),
        weight=5,
    ),
    _NamedCommunity(
        "Parents d'élèves du lycée Pierre d'Ailly",
        "Entre parents, organisons les trajets de nos enfants vers le lycée.",
        "Communauté privée des parents d'élèves : les membres et les annonces ne sont visibles "
        "que des membres validés.",
        ValidationType.MANUAL,
        None,
        "136 Boulevard des États-Unis",
        "60200",
        "Compiègne",
        "celine.poulain@free.fr",
        (),
        (),
        9,
        3,
        1,
        0,
        540,
        ("Compiègne", "Creil", "Soissons"),
        members_hidden=True,
        proposals_hidden=True,
        weight=2,
    ),
    _NamedCommunity(
        "Région Hauts-de-France - agents",
        "Covoiturage des agents de la Région Hauts-de-France.",
        "Pour les agents des sites de Lille, Amiens et des antennes : adhésion validée par un "
        "modérateur, avec une adresse professionnelle de préférence.",
        ValidationType.MANUAL,
        "hautsdefrance.fr;@region-hdf.fr",
        "151 Avenue du Président Hoover",
        "59800",
        "Lille",
        "benoit.delannoy@hautsdefrance.fr",
        (),
        (),
        15,
        5,
        2,
        1,
        830,
        ("Lille", "Amiens", "Arras", "Villeneuve-d'Ascq", "Beauvais"),
        proposals_hidden=True,
        weight=6,
    ),
    _NamedCommunity(
        "Valenciennes Métropole - domicile-travail",
        "Partagez vos trajets domicile-travail dans le Valenciennois.",
        "Communauté ouverte aux habitants et salariés des communes de Valenciennes Métropole.",
        ValidationType.AUTOMATIC,
        None,
        "2 Place de l'Hôpital Général",
        "59300",
        "Valenciennes",
        "gregory.wattiez@valenciennes-metropole.fr",
        (),
        (),
        14,
        1,
        1,
        2,
        700,
        ("Valenciennes", "Saint-Amand-les-Eaux", "Maubeuge", "Cambrai"),
        weight=5,
    ),
)

#: Templates of the large-scale communities: (name, validation, domain, members/ads hidden).
_TEMPLATES: tuple[tuple[str, ValidationType, str | None, bool], ...] = (
    ("Covoiturage {town}", ValidationType.AUTOMATIC, None, False),
    ("Agents de la ville {of_town}", ValidationType.MANUAL, "ville-{slug}.fr", False),
    ("Centre hospitalier {of_town}", ValidationType.SECURED, None, False),
    ("Zone d'activités {of_town}", ValidationType.AUTOMATIC, None, False),
    ("Parents d'élèves {of_town}", ValidationType.MANUAL, None, True),
    ("IUT {of_town}", ValidationType.DOMAIN, "iut-{slug}.fr", False),
    ("Club sportif {of_town}", ValidationType.MANUAL, None, False),
    ("Gare {of_town} - covoiturage", ValidationType.AUTOMATIC, None, False),
)

# --------------------------------------------------------------------------- helpers


def _ascii(text_: str) -> str:
    """Lower-case ASCII for e-mail local parts and domains."""
    folded = text_.replace("œ", "oe").replace("Œ", "Oe")
    folded = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    out = "".join(c if c.isalnum() or c == "-" else "-" for c in folded.lower())
    return "-".join(part for part in out.split("-") if part)


def _of(town: str) -> str:
    """French "de Lille" / "d'Arras"."""
    return f"d'{town}" if town[0] in "AEIOUÉÈÂ" else f"de {town}"


def _first_domain(domain: str | None) -> str | None:
    """The first of a community's `;`-separated domains, as the platform reads them."""
    if not domain:
        return None
    return domain.split(";")[0].strip().lstrip("@")


def _rect_wkt(box: tuple[float, float, float, float]) -> str:
    min_lat, max_lat, min_lon, max_lon = box
    ring = (
        f"{min_lon} {min_lat}, {max_lon} {min_lat}, {max_lon} {max_lat}, "
        f"{min_lon} {max_lat}, {min_lon} {min_lat}"
    )
    return f"MULTIPOLYGON((({ring})))"


@dataclass
class _Comm:
    """What the generator remembers of a community."""

    id: int
    creator: int
    created: dt.datetime
    validation: int
    domain: str | None  # first domain, for e-mails
    town: int
    weight: float


class _Writer:
    """Buffers rows per table and writes them with executemany, parents before children.

    Why flush every table together: a child row (an address) must never reach the database
    before its parent (its user), and foreign keys are checked on SQLite and PostgreSQL.
    """

    def __init__(self, connection: Connection, progress: Callable[[str], None] | None) -> None:
        self.connection = connection
        self.tables = [t for t in PlatformBase.metadata.sorted_tables if t.name != "territory"]
        self.buffers: dict[str, list[dict]] = {t.name: [] for t in self.tables}
        self.counts: dict[str, int] = {t.name: 0 for t in self.tables}
        self.progress = progress

    def add(self, table: str, row: dict) -> None:
        buffer = self.buffers[table]
        buffer.append(row)
        if len(buffer) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        """Write every buffer in dependency order and commit: one transaction per batch."""
        for table in self.tables:
            rows = self.buffers[table.name]
            if rows:
                self.connection.execute(table.insert(), rows)
                self.counts[table.name] += len(rows)
                self.buffers[table.name] = []
        self.connection.commit()
        if self.progress is not None:
            self.progress(
                f"users {self.counts['user']:,}, ads {self.counts['proposal']:,}, "
                f"carpool items {self.counts['carpool_item']:,}"
            )


# --------------------------------------------------------------------------- the generator


class _Demo:
    def __init__(self, connection: Connection, seed: int, progress: Callable[[str], None] | None):
        self.rng = random.Random(seed)
        self.now = clock.now()
        self.today = self.now.date()
        self.origin = self.now - dt.timedelta(days=USER_HISTORY_DAYS)
        self.activity_start = self.now - dt.timedelta(days=ACTIVITY_DAYS)
        self.connection = connection
        self.dialect = connection.dialect.name
        self.writer = _Writer(connection, progress)
        self.next_id = {t: self._max_id(t) + 1 for t in self._id_tables()}
        self.emails: set[str] = set()
        self.searches = 0  # private proposals of the carpools' matchings (not ads)
        self.ad_calls = 0  # ads written (an outward/return pair is one)
        self.comms: dict[int, _Comm] = {}
        #: Identifier files of the secured communities: stored name -> content.
        self.security_files: dict[str, bytes] = {}
        self.territories = 0
        self.town_territories: list[tuple[int, ...]] = []
        self.language_ids: tuple[int, int] = (0, 0)
        self.town_cum = self._cumulative([t.weight for t in TOWNS])
        self.mail_domains = [d for d, _ in MAIL_DOMAINS]
        self.mail_cum = self._cumulative([w for _, w in MAIL_DOMAINS])
        self.ascii_cache: dict[str, str] = {}
        # The sample's people, kept in memory (a few hundred).
        self.created_of: dict[int, dt.datetime] = {}
        self.accepted: list[tuple[int, int, dt.datetime]] = []  # (community, user, accepted)
        self.pool: list[int] = []  # members who may join one more open community
        self.cast_ids: dict[str, int] = {}

    # ---- ids and small helpers

    @staticmethod
    def _id_tables() -> list[str]:
        return [t.name for t in PlatformBase.metadata.sorted_tables if "id" in t.c]

    def _max_id(self, table: str) -> int:
        column = PlatformBase.metadata.tables[table].c.id
        return self.connection.execute(select(func.max(column))).scalar() or 0

    def take_id(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value

    @staticmethod
    def _cumulative(weights: Sequence[float]) -> list[float]:
        out, total = [], 0.0
        for w in weights:
            total += w
            out.append(total)
        return out

    def pick(self, cum: list[float]) -> int:
        return bisect(cum, self.rng.random() * cum[-1])

    def asc(self, value: str) -> str:
        cached = self.ascii_cache.get(value)
        if cached is None:
            cached = self.ascii_cache[value] = _ascii(value)
        return cached

    def between(self, lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
        """A second between lo and hi (lo when the range is empty)."""
        span = int((hi - lo).total_seconds())
        if span <= 0:
            return lo
        return lo + dt.timedelta(seconds=self.rng.randrange(span))

    def activity_moment(self) -> dt.datetime:
        """When an ad is published or a carpool starts: over two years, growing over time."""
        r = self.rng.random()
        share = r if self.rng.random() < 0.5 else math.sqrt(r)  # density 1/2 + t
        seconds = int((self.now - self.activity_start).total_seconds() * share)
        return self.activity_start + dt.timedelta(seconds=seconds)

    def crew_start(self) -> dt.date:
        return min(self.activity_moment().date(), self.today - dt.timedelta(days=3))

    def soon_after(self, lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
        """A second between lo and hi, nearer lo: people join soon after they register."""
        span = int((hi - lo).total_seconds())
        if span <= 0:
            return lo
        return lo + dt.timedelta(seconds=int(span * self.rng.random() ** 2))

    def personal_domain(self) -> str:
        return self.mail_domains[self.pick(self.mail_cum)]

    # ---- reference rows

    def write_reference(self) -> None:
        """Languages and territories, shared by every scale."""
        existing = dict(
            self.connection.execute(
                select(Language.code, Language.id).where(Language.code.in_(("fr", "en")))
            ).all()
        )
        ids = []
        for code in ("fr", "en"):
            if code not in existing:
                existing[code] = self.take_id("language")
                self.writer.add("language", {"id": existing[code], "code": code})
            ids.append(existing[code])
        self.language_ids = (ids[0], ids[1])

        rows: list[dict] = []
        dep_ids: dict[str, int] = {}
        for code, (name, box) in DEPARTEMENTS.items():
            dep_ids[code] = self.take_id("territory")
            rows.append(self._territory_row(dep_ids[code], name, TERRITORY_LEVEL_DEPARTEMENT, box))
        epci_ids: dict[str, int] = {}
        for key, name in EPCIS.items():
            towns = [t for t in TOWNS if t.epci == key]
            box = (
                min(t.latitude for t in towns) - 0.07,
                max(t.latitude for t in towns) + 0.07,
                min(t.longitude for t in towns) - 0.09,
                max(t.longitude for t in towns) + 0.09,
            )
            epci_ids[key] = self.take_id("territory")
            rows.append(self._territory_row(epci_ids[key], name, TERRITORY_LEVEL_EPCI, box))
        self._insert_territories(rows)
        self.territories = len(rows)
        self.departement_ids = dep_ids
        for town in TOWNS:
            links = (dep_ids[town.departement],)
            if town.epci:
                links += (epci_ids[town.epci],)
            self.town_territories.append(links)

    def _territory_row(
        self, id_: int, name: str, level: int, box: tuple[float, float, float, float]
    ) -> dict:
        created = self.origin - dt.timedelta(days=200)
        return {
            "id": id_,
            "name": name,
            "admin_level": level,
            "created_date": created,
            "wkt": _rect_wkt(box),
            "min_lat": box[0],
            "max_lat": box[1],
            "min_lon": box[2],
            "max_lon": box[3],
        }

    def _insert_territories(self, rows: list[dict]) -> None:
        """On the platform's MariaDB the NOT NULL geometry needs a dialect-specific INSERT."""
        if self.dialect == "mysql":
            self.connection.execute(
                text(
                    "INSERT INTO territory (id, name, geo_json_detail, admin_level, created_date,"
                    " updated_date, min_latitude, max_latitude, min_longitude, max_longitude)"
                    " VALUES (:id, :name, ST_GeomFromText(:wkt), :admin_level, :created_date,"
                    " :created_date, :min_lat, :max_lat, :min_lon, :max_lon)"
                ),
                rows,
            )
        else:
            table = PlatformBase.metadata.tables["territory"]
            self.connection.execute(
                table.insert(),
                [{k: r[k] for k in ("id", "name", "admin_level", "created_date")} for r in rows],
            )

    # ---- rows shared by both layers

    def add_user(
        self,
        given: str,
        family: str,
        gender: int,
        email: str,
        created: dt.datetime,
        town: int,
        uid: int | None = None,
        solidary: bool = False,
    ) -> int:
        """A user, their home address and its territories."""
        rng = self.rng
        now = self.now
        if uid is None:
            uid = self.take_id("user")
        solidary_id = None
        if solidary:
            solidary_id = self.take_id("solidary_user")
            beneficiary = rng.random() < 0.7
            self.writer.add(
                "solidary_user",
                {
                    "id": solidary_id,
                    "beneficiary": beneficiary,
                    "volunteer": not beneficiary,
                    "created_date": created,
                },
            )
        validated = None
        if rng.random() < 0.92:
            validated = min(created + dt.timedelta(seconds=rng.randrange(120, 259_200)), now)
        r = rng.random()
        language = self.language_ids[0] if r < 0.7 else self.language_ids[1] if r < 0.74 else None
        self.writer.add(
            "user",
            {
                "id": uid,
                "given_name": given,
                "family_name": family,
                "email": email,
                "gender": gender,
                "status": int(UserStatus.ACTIVE),
                "created_date": created,
                "validated_date": validated,
                "phone_display": int(PhoneDisplay.RESTRICTED),
                "solidary_user_id": solidary_id,
                "last_activity_date": created
                + dt.timedelta(seconds=int((now - created).total_seconds() * rng.random() ** 0.3)),
                "language_id": language,
            },
        )
        street = f"{rng.randint(1, 180)} {STREETS[rng.randrange(len(STREETS))]}"
        self.add_place(town, created, street=street, home_of=uid)
        return uid

    def town_communities(self, count: int):
        """`count` distinct (town, template) pairs drawn at once, each as (town, town name, name,
        domain, validation, hidden): the generic communities of scale 0's platform and of
        scales 1-3."""
        combos = [(t, i) for t in range(len(TOWNS)) for i in range(len(_TEMPLATES))]
        for town, template in self.rng.sample(combos, count):
            pattern, validation, domain_pattern, hidden = _TEMPLATES[template]
            town_name = TOWNS[town].name
            name = pattern.format(town=town_name, of_town=_of(town_name))
            domain = domain_pattern.format(slug=self.asc(town_name)) if domain_pattern else None
            yield town, town_name, name, domain, validation, hidden

    def add_town_community(
        self,
        name: str,
        town: int,
        town_name: str,
        validation: ValidationType,
        domain: str | None,
        creator: int,
        created: dt.datetime,
        hidden: bool,
        weight: float | None,
    ) -> _Comm:
        """A generic community of a town (scale 0's platform, scales 1-3): its texts, a street
        drawn, then its weight (None: drawn from a Pareto law, after the street)."""
        rng = self.rng
        street = f"{rng.randint(1, 120)} {STREETS[rng.randrange(len(STREETS))]}"
        return self.add_community(
            name,
            f"Communauté « {name} » : partagez vos trajets du quotidien.",
            f"Bienvenue dans la communauté « {name} ». Publiez vos annonces, trouvez des "
            f"covoitureurs autour {_of(town_name)} et réduisez ensemble vos émissions de CO2.",
            validation,
            domain,
            street,
            TOWNS[town].postal_code,
            town,
            creator,
            created,
            hidden,
            hidden,
            min(rng.paretovariate(1.1), 25.0) if weight is None else weight,
        )

    def add_community(
        self,
        name: str,
        description: str,
        full_description: str,
        validation: ValidationType,
        domain: str | None,
        street: str,
        postal_code: str,
        town: int,
        creator: int,
        created: dt.datetime,
        members_hidden: bool,
        proposals_hidden: bool,
        weight: float,
    ) -> _Comm:
        rng = self.rng
        t = TOWNS[town]
        address_id = self.take_id("address")
        self.writer.add(
            "address",
            {
                "id": address_id,
                "street_address": street,
                "postal_code": postal_code,
                "address_locality": t.name,
                "address_country": "France",
                "latitude": round(t.latitude + rng.uniform(-0.01, 0.01), 6),
                "longitude": round(t.longitude + rng.uniform(-0.01, 0.01), 6),
                "user_id": None,
                "home": False,
                "created_date": created,
            },
        )
        for territory_id in self.town_territories[town]:
            self.writer.add(
                "address_territory", {"address_id": address_id, "territory_id": territory_id}
            )
        cid = self.take_id("community")
        updated = self.between(created, self.now - dt.timedelta(days=30))
        self.writer.add(
            "community",
            {
                "id": cid,
                "user_id": creator,
                "name": name,
                "members_hidden": members_hidden,
                "description": description,
                "full_description": full_description,
                "created_date": created,
                "proposals_hidden": proposals_hidden,
                "updated_date": updated,
                "address_id": address_id,
                "validation_type": int(validation),
                "domain": domain,
                "status": None,
            },
        )
        if validation == ValidationType.SECURED:
            # Named as the platform names an upload: time()-communityId, plus the original
            # name's extension (CommunitySecurityManager::createSecurity, Vich's PropertyNamer).
            rng.getrandbits(64)  # the draw the former random name took: the figures stay the same
            filename = f"{int(updated.replace(tzinfo=dt.UTC).timestamp())}-{cid}.csv"
            pairs = random.Random(cid)
            self.writer.add(
                "community_security",
                {
                    "id": self.take_id("community_security"),
                    "community_id": cid,
                    "filename": filename,
                    "original_name": f"identifiants_{self.asc(t.name)}.csv",
                },
            )
            self.security_files[filename] = "".join(
                f"{pairs.randrange(100000, 999999)};{pairs.randrange(1, 29):02d}/"
                f"{pairs.randrange(1, 13):02d}/{pairs.randrange(1950, 2005)}\n"
                for _ in range(20)
            ).encode()
        comm = _Comm(cid, creator, created, int(validation), _first_domain(domain), town, weight)
        self.comms[cid] = comm
        return comm

    def add_membership(
        self, comm: _Comm, uid: int, status: int, joined: dt.datetime
    ) -> dt.datetime | None:
        """A community_user row with the dates the platform keeps; returns accepted_date."""
        rng = self.rng
        now = self.now
        accepted = refused = None
        if status == _PENDING:
            updated = joined
            admin = None
        else:
            admin = comm.creator
            decided = joined
            if uid != comm.creator and (comm.validation == _MANUAL or status == _REFUSED):
                decided = min(joined + dt.timedelta(seconds=rng.randrange(600, 432_000)), now)
            if status == _REFUSED:
                refused = updated = decided
            else:
                accepted = updated = decided
                if status == _MODERATOR and uid != comm.creator:
                    updated = min(decided + dt.timedelta(days=rng.randint(0, 60)), now)
        self.writer.add(
            "community_user",
            {
                "id": self.take_id("community_user"),
                "community_id": comm.id,
                "user_id": uid,
                "admin_id": admin,
                "status": status,
                "created_date": joined,
                "accepted_date": accepted,
                "refused_date": refused,
                "updated_date": updated,
            },
        )
        return accepted

    def add_place(
        self,
        town: int,
        created: dt.datetime,
        street: str | None = None,
        home_of: int | None = None,
    ) -> int:
        """An address in `town` with its territories (a user's home with `home_of`, else an
        ad's origin or destination); returns its id."""
        rng = self.rng
        t = TOWNS[town]
        address_id = self.take_id("address")
        self.writer.add(
            "address",
            {
                "id": address_id,
                "street_address": street,
                "postal_code": t.postal_code,
                "address_locality": t.name,
                "address_country": "France",
                "latitude": round(t.latitude + rng.uniform(-0.02, 0.02), 6),
                "longitude": round(t.longitude + rng.uniform(-0.03, 0.03), 6),
                "user_id": home_of,
                "home": home_of is not None,
                "created_date": created,
            },
        )
        for territory_id in self.town_territories[town]:
            self.writer.add(
                "address_territory", {"address_id": address_id, "territory_id": territory_id}
            )
        return address_id

    def add_ad(self, uid: int, cid: int | None, created: dt.datetime) -> int:
        """One ad (one-way) or an outward/return pair; returns the number of proposals.

        Each proposal has its origin (position 0) and destination waypoints, as the platform
        writes them: from a town drawn by population to the community's town (a community ad)
        or another town; the return trip goes back between the same two addresses.
        """
        rng = self.rng
        self.ad_calls += 1
        origin = self.add_place(self.pick(self.town_cum), created)
        target = self.comms[cid].town if cid is not None else self.pick(self.town_cum)
        ends = (origin, self.add_place(target, created))
        regular = rng.random() < 0.6
        role = rng.random()
        driver, passenger = role < 0.65, role >= 0.45
        private = rng.random() < 0.06
        # proposal.active stays NULL (only real-time carpooling writes it); paused is false
        # unless the author paused the ad (Proposal's constructor, AdManager::updateAd).
        paused = rng.random() < 0.04
        if regular:
            frequency = int(CriteriaFrequency.REGULAR)
            from_date = created.date()
            to_date: dt.date | None = from_date + dt.timedelta(days=365)
        else:
            frequency = int(CriteriaFrequency.PUNCTUAL)
            from_date = created.date() + dt.timedelta(days=rng.randint(0, 30))
            to_date = None
        updated = self.between(created, self.now) if rng.random() < 0.3 else created
        seats_driver = (1, 2, 3, 3, 3, 4)[rng.randrange(6)]
        seats_passenger = 1 if rng.random() < 0.9 else 2
        if rng.random() < 0.55:
            types = (int(ProposalType.OUTWARD), int(ProposalType.RETURN))
        else:
            types = (int(ProposalType.ONE_WAY),)
        for type_ in types:
            criteria_id = self.take_id("criteria")
            self.writer.add(
                "criteria",
                {
                    "id": criteria_id,
                    "frequency": frequency,
                    "seats_driver": seats_driver,
                    "seats_passenger": seats_passenger,
                    "from_date": from_date,
                    "to_date": to_date,
                    "driver": driver,
                    "passenger": passenger,
                    "created_date": created,
                },
            )
            pid = self.take_id("proposal")
            self.writer.add(
                "proposal",
                {
                    "id": pid,
                    "user_id": uid,
                    "created_date": created,
                    "type": type_,
                    "criteria_id": criteria_id,
                    "private": private,
                    "paused": paused,
                    "active": None,
                    "updated_date": updated,
                },
            )
            if cid is not None and not private:
                self.writer.add("proposal_community", {"proposal_id": pid, "community_id": cid})
            start, finish = ends if type_ != int(ProposalType.RETURN) else ends[::-1]
            for position, address_id in enumerate((start, finish)):
                self.writer.add(
                    "waypoint",
                    {
                        "id": self.take_id("waypoint"),
                        "proposal_id": pid,
                        "address_id": address_id,
                        "position": position,
                        "destination": position == 1,
                    },
                )
        return len(types)

    def add_search(self, uid: int, created: dt.datetime, day: dt.date, driver: bool) -> int:
        """A search as the platform records it: a private one-way proposal with its criteria
        and waypoints (a matching joins two of them); returns its id."""
        criteria_id = self.take_id("criteria")
        self.writer.add(
            "criteria",
            {
                "id": criteria_id,
                "frequency": int(CriteriaFrequency.PUNCTUAL),
                "seats_driver": 3,
                "seats_passenger": 1,
                "from_date": day,
                "to_date": None,
                "driver": driver,
                "passenger": not driver,
                "created_date": created,
            },
        )
        pid = self.take_id("proposal")
        self.searches += 1
        self.writer.add(
            "proposal",
            {
                "id": pid,
                "user_id": uid,
                "created_date": created,
                "type": int(ProposalType.ONE_WAY),
                "criteria_id": criteria_id,
                "private": True,
                "paused": False,
                "active": None,
                "updated_date": created,
            },
        )
        for position in (0, 1):
            self.writer.add(
                "waypoint",
                {
                    "id": self.take_id("waypoint"),
                    "proposal_id": pid,
                    "address_id": self.add_place(self.pick(self.town_cum), created),
                    "position": position,
                    "destination": position == 1,
                },
            )
        return pid

    def add_ask(
        self, driver: int, passenger: int, created: dt.datetime, day: dt.date, common: int
    ) -> int:
        """The matching (common_distance in metres) and the accepted ask behind a carpool."""
        offer = self.add_search(driver, created, day, driver=True)
        request = self.add_search(passenger, created, day, driver=False)
        ids = {}
        for table in ("matching", "ask"):
            criteria_id = self.take_id("criteria")
            self.writer.add(
                "criteria",
                {
                    "id": criteria_id,
                    "frequency": int(CriteriaFrequency.REGULAR),
                    "seats_driver": 3,
                    "seats_passenger": 1,
                    "from_date": day,
                    "to_date": day + dt.timedelta(days=365),
                    "driver": True,
                    "passenger": True,
                    "created_date": created,
                },
            )
            ids[table] = (self.take_id(table), criteria_id)
        matching_id, criteria_id = ids["matching"]
        self.writer.add(
            "matching",
            {
                "id": matching_id,
                "proposal_offer_id": offer,
                "proposal_request_id": request,
                "criteria_id": criteria_id,
                "created_date": created,
                "common_distance": common,
            },
        )
        ask_id, criteria_id = ids["ask"]
        self.writer.add(
            "ask",
            {
                "id": ask_id,
                "user_id": passenger,
                "matching_id": matching_id,
                "criteria_id": criteria_id,
                "status": int(AskStatus.ACCEPTED_AS_DRIVER),
                "type": int(ProposalType.ONE_WAY),
                "created_date": created,
            },
        )
        return ask_id

    def add_crew(self, driver: int, passenger: int, day: dt.date, limit: int) -> int:
        """A driver and a passenger sharing some working days for a few weeks or months.

        Starts on `day`; returns the items written (at most `limit`). Only the crews still
        running today have planned items, in the next two weeks.
        """
        rng = self.rng
        today = self.today
        last = min(day + dt.timedelta(days=rng.randint(15, 270)), today + dt.timedelta(days=14))
        created = dt.datetime.combine(
            day - dt.timedelta(days=rng.randint(1, 4)),
            dt.time(rng.randint(7, 21), rng.randrange(60)),
        )
        common = int(rng.triangular(3_000, 60_000, 15_000))  # metres, as the matching has it
        ask_id = self.add_ask(driver, passenger, created, day, common)
        share = rng.uniform(0.4, 0.95)  # of the working days they carpool
        reliability = rng.uniform(0.8, 0.98)
        return self.add_items(
            driver, passenger, ask_id, common, created, day, last, share, reliability, limit
        )

    def add_commute(
        self, driver: int, passenger: int, day: dt.date, last: dt.date, common: int
    ) -> int:
        """Colleagues commuting together from `day` to `last`: most working days, reliably;
        returns the items written."""
        rng = self.rng
        created = dt.datetime.combine(
            day - dt.timedelta(days=rng.randint(1, 10)),
            dt.time(rng.randint(7, 21), rng.randrange(60)),
        )
        ask_id = self.add_ask(driver, passenger, created, day, common)
        share = rng.uniform(0.65, 0.95)
        reliability = rng.uniform(0.88, 0.98)
        last = min(last, self.today + dt.timedelta(days=14))
        return self.add_items(
            driver, passenger, ask_id, common, created, day, last, share, reliability, 10**9
        )

    def add_items(
        self,
        driver: int,
        passenger: int,
        ask_id: int,
        common: int,
        created: dt.datetime,
        day: dt.date,
        last: dt.date,
        share: float,
        reliability: float,
        limit: int,
    ) -> int:
        """The carpool items of one ask, one outward trip per carpooled working day."""
        rng = self.rng
        today = self.today
        # PaymentManager: round(common_distance / 1000), whole km (PHP rounds half up here).
        km = int(common / 1000 + 0.5)
        amount = round(common * PRICE_PER_METRE, 2)
        written = 0
        while written < limit and day <= last:
            if day.weekday() < 5 and rng.random() < share:
                if day >= today:
                    status = _PLANNED
                elif rng.random() < reliability:
                    status = _CARRIED_OUT
                else:
                    status = _NOT_CARRIED_OUT
                self.writer.add(
                    "carpool_item",
                    {
                        "id": self.take_id("carpool_item"),
                        "debtor_user_id": passenger,
                        "creditor_user_id": driver,
                        "type": CARPOOL_ITEM_OUTWARD,
                        "item_status": status,
                        "item_date": day,
                        "amount": amount,
                        "debtor_status": PAYMENT_STATUS_INITIALIZED,
                        "creditor_status": PAYMENT_STATUS_INITIALIZED,
                        "created_date": created,
                        "ask_id": ask_id,
                        "distance": km if day >= DISTANCE_SINCE else None,
                    },
                )
                written += 1
            day += ONE_DAY
        return written

    # ---- scale 0: the named sample

    def new_email(self, given: str, family: str, domain: str) -> str:
        rng = self.rng
        g, f = self.asc(given), self.asc(family).replace("-", "")
        r = rng.random()
        if r < 0.6:
            local = f"{g}.{f}"
        elif r < 0.7:
            local = f"{g}_{f}"
        elif r < 0.85:
            local = f"{g[0]}{f}"
        else:
            local = f"{g}.{f}{rng.choice((59, 62, 80, 76, 84, 91, 95))}"
        email, n = f"{local}@{domain}", 2
        while email in self.emails:
            email, n = f"{local}{n}@{domain}", n + 1
        self.emails.add(email)
        return email

    def random_person(self) -> tuple[str, str, int]:
        """Given name, family name and gender of a sample user, never a named person's."""
        rng = self.rng
        while True:
            female = rng.random() < 0.5
            given = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
            family = rng.choice(FAMILY_NAMES)
            if (given, family) not in _CAST_NAMES:
                break
        gender = Gender.FEMALE if female else Gender.MALE
        if rng.random() < 0.01:
            gender = Gender.OTHER
        return given, family, int(gender)

    def build_sample(self) -> None:
        """The referent guide's communities and people, about 230 users (every scale)."""
        rng = self.rng
        now = self.now

        for person in CAST:
            # Who runs a community registered before creating or moderating it.
            ages = [
                c.age_days
                for c in NAMED_COMMUNITIES
                if person.email == c.referent or person.email in c.moderators
            ]
            if ages:
                created = now - dt.timedelta(
                    days=max(ages) + rng.randint(3, 120), seconds=rng.randrange(86_400)
                )
            else:
                created = self.between(self.origin, now - dt.timedelta(days=90))
            self.emails.add(person.email)
            uid = self.add_user(
                person.given,
                person.family,
                int(person.gender),
                person.email,
                created,
                _TOWN_INDEX[person.town],
            )
            self.cast_ids[person.email] = uid
            self.created_of[uid] = created

        for spec in NAMED_COMMUNITIES:
            self._sample_community(spec)

        # People who joined no community, some of them solidarity users.
        for i in range(24):
            given, family, gender = self.random_person()
            email = self.new_email(given, family, self.personal_domain())
            created = self.between(self.origin, now - dt.timedelta(days=1))
            uid = self.add_user(
                given, family, gender, email, created, self.pick(self.town_cum), solidary=i < 6
            )
            self.created_of[uid] = created
        all_users = list(self.created_of)

        # Ads: mostly by members, in their community; authors registered (joined) before.
        # (Authors are drawn again for the same moment, so the moments keep their spread.)
        proposals = 0
        while proposals < SAMPLE_PROPOSALS:
            moment = self.activity_moment()
            for _ in range(_RETRIES):
                if rng.random() < 0.75:
                    cid, uid, when = self.accepted[rng.randrange(len(self.accepted))]
                    link = cid if rng.random() < 0.8 else None
                    if when < moment:
                        proposals += self.add_ad(uid, link, moment)
                        break
                else:
                    uid = all_users[rng.randrange(len(all_users))]
                    if self.created_of[uid] < moment:
                        proposals += self.add_ad(uid, None, moment)
                        break

        # Carpools between members of the same community.
        by_comm: dict[int, list[tuple[int, dt.datetime]]] = {}
        for cid, uid, when in self.accepted:
            by_comm.setdefault(cid, []).append((uid, when))
        cids = list(by_comm)
        cum = self._cumulative([len(by_comm[c]) for c in cids])
        items = 0
        while items < SAMPLE_ITEMS:
            start = self.crew_start()
            for _ in range(_RETRIES):
                crew = [u for u, when in by_comm[cids[self.pick(cum)]] if when.date() < start]
                if len(crew) >= 2:
                    driver, passenger = rng.sample(crew, 2)
                    limit = min(SAMPLE_CREW_ITEMS, SAMPLE_ITEMS - items)
                    items += self.add_crew(driver, passenger, start, limit)
                    break

    def _sample_community(self, spec: _NamedCommunity) -> None:
        """One named community: its creator, moderators and members in every status."""
        rng = self.rng
        now = self.now
        created = now - dt.timedelta(days=spec.age_days, seconds=rng.randrange(86_400))
        creator = self.cast_ids[spec.referent]
        comm = self.add_community(
            spec.name,
            spec.description,
            spec.full_description,
            spec.validation,
            spec.domain,
            spec.street,
            spec.postal_code,
            _TOWN_INDEX[spec.town],
            creator,
            created,
            spec.members_hidden,
            spec.proposals_hidden,
            spec.weight,
        )
        plan: list[tuple[int, int]] = [(creator, _MODERATOR)]
        plan += [(self.cast_ids[e], _MODERATOR) for e in spec.moderators]
        plan += [(self.cast_ids[e], _MEMBER) for e in spec.members]
        wanted = (
            [_MODERATOR] * spec.n_extra_moderators
            + [_MEMBER] * (spec.n_members - len(spec.members))
            + [_REFUSED] * spec.n_refused
            + [_PENDING] * spec.n_pending
        )
        pending_seen = 0
        for status in wanted:
            use_domain = False
            if comm.domain and status in _ACCEPTED:
                use_domain = spec.validation == ValidationType.DOMAIN or rng.random() < 0.85
            elif comm.domain and status == _PENDING:
                use_domain = pending_seen % 2 == 0  # half match the domain, half do not
                pending_seen += 1
            uid = None
            # Members of open communities sometimes already belong to another one.
            if not comm.domain and self.pool and rng.random() < 0.25:
                candidate = self.pool[rng.randrange(len(self.pool))]
                if all(candidate != u for u, _ in plan):
                    uid = candidate
            if uid is None:
                lo = created - dt.timedelta(days=200)
                if status == _PENDING:
                    lo = now - dt.timedelta(days=PENDING_WINDOW_DAYS * 3)
                uid = self._sample_user(spec, comm.domain if use_domain else None, lo)
            plan.append((uid, status))

        for uid, status in plan:
            lo = max(self.created_of[uid], created)
            if uid == creator:
                joined = created
            elif status == _PENDING:
                joined = self.between(max(lo, now - dt.timedelta(days=PENDING_WINDOW_DAYS)), now)
            else:
                joined = self.soon_after(lo, now - dt.timedelta(days=2))
            when = self.add_membership(comm, uid, status, joined)
            if when is not None:
                self.accepted.append((comm.id, uid, when))
        self.pool.extend(uid for uid, status in plan if status == _MEMBER)

    def _sample_user(self, spec: _NamedCommunity, domain: str | None, lo: dt.datetime) -> int:
        rng = self.rng
        given, family, gender = self.random_person()
        if rng.random() < 0.8:
            town = _TOWN_INDEX[spec.area[rng.randrange(len(spec.area))]]
        else:
            town = self.pick(self.town_cum)
        email = self.new_email(given, family, domain or self.personal_domain())
        created = self.between(max(lo, self.origin), self.now - dt.timedelta(days=1))
        uid = self.add_user(given, family, gender, email, created, town)
        self.created_of[uid] = created
        return uid

    # ---- scale 0: the platform around the sample

    def growing_moment(self, lo: dt.datetime, hi: dt.datetime, power: float = 2.0) -> dt.datetime:
        """A second between lo and hi, more and more likely towards hi (density ~ t^(power-1)):
        a growing platform."""
        span = int((hi - lo).total_seconds())
        if span <= 0:
            return lo
        return lo + dt.timedelta(seconds=int(span * self.rng.random() ** (1 / power)))

    def platform_user(
        self, towns: Sequence[int] | None, domain: str | None, lo: dt.datetime, power: float = 2.0
    ) -> tuple[int, dt.datetime]:
        """A registered user of the platform (home in one of `towns`, or anywhere by
        population), registered after `lo`; returns (id, created_date)."""
        rng = self.rng
        given, family, gender = self.random_person()
        if towns and rng.random() < 0.85:
            town = towns[rng.randrange(len(towns))]
        else:
            town = self.pick(self.town_cum)
        email = self.new_email(given, family, domain or self.personal_domain())
        created = self.growing_moment(max(lo, self.origin), self.now - ONE_DAY, power)
        uid = self.add_user(given, family, gender, email, created, town)
        self.created_of[uid] = created
        return uid, created

    def build_platform(self) -> None:
        """Scale 0 only: the platform around the named sample, with Pass Pass's proportions.

        Most registered users never carpool and many belong to no community, while the staff
        of two sites commute together most working days (PLATFORM_COMMUTERS): so the lifetime
        ratios stay near Pass Pass's (about 2 kg of CO2 and 0.4 ads per user) while those two
        communities of a few hundred members save tonnes of CO2 a month.
        """
        rng = self.rng
        now = self.now
        by_name = {c.name: c for c in NAMED_COMMUNITIES}
        # build_sample wrote the named communities in NAMED_COMMUNITIES' order.
        named = dict(zip(by_name, self.comms.values(), strict=True))

        # The commuters' communities grow to a few hundred members, adoption speeding up.
        for name, (members, pro_domain, _crews) in PLATFORM_COMMUTERS.items():
            comm = named[name]
            area = [_TOWN_INDEX[t] for t in by_name[name].area]
            accepted = sum(1 for cid, _, _ in self.accepted if cid == comm.id)
            for i in range(members - accepted):
                domain = pro_domain if rng.random() < 0.85 else None
                uid, created = self.platform_user(
                    area, domain, comm.created - dt.timedelta(days=60), 2.5
                )
                status = _REFUSED if i % 40 == 39 else _MEMBER
                joined = self.soon_after(max(created, comm.created), now - dt.timedelta(days=2))
                when = self.add_membership(comm, uid, status, joined)
                if when is not None:
                    self.accepted.append((comm.id, uid, when))

        # Smaller communities, as the platform's own (companies, towns, schools, clubs...).
        for town, town_name, name, domain, validation, hidden in self.town_communities(
            PLATFORM_COMMUNITIES - len(self.comms)
        ):
            creator, registered = self.platform_user(
                [town], domain if rng.random() < 0.9 else None, self.origin, 1.5
            )
            created = self.between(registered + ONE_DAY, now - dt.timedelta(days=60))
            comm = self.add_town_community(
                name, town, town_name, validation, domain, creator, created, hidden, weight=1.0
            )
            self.accepted.append(
                (comm.id, creator, self.add_membership(comm, creator, _MODERATOR, created))
            )
            size = min(int(rng.paretovariate(1.1) * 4), 90)
            statuses = [_MEMBER] * size
            if comm.validation == _MANUAL:
                statuses += [_REFUSED] * rng.randint(1, 3) + [_PENDING] * rng.randint(3, 5)
            pending_from = now - dt.timedelta(days=PENDING_WINDOW_DAYS)
            for status in statuses:
                own = (
                    comm.domain
                    if comm.domain and (comm.validation == _DOMAIN or rng.random() < 0.8)
                    else None
                )
                uid, registered = self.platform_user([town], own, created - dt.timedelta(days=200))
                lo = max(registered, created)
                if status == _PENDING:
                    joined = self.between(max(lo, pending_from), now)
                else:
                    joined = self.soon_after(lo, now - ONE_DAY)
                when = self.add_membership(comm, uid, status, joined)
                if when is not None:
                    self.accepted.append((comm.id, uid, when))

        # Everyone else: registered, most never published an ad nor carpooled.
        while len(self.created_of) < PLATFORM_USERS:
            self.platform_user(None, None, self.origin)

        # Ads: the commuters' regular trips to their site, other members', anyone's.
        users = list(self.created_of)
        commuters = {named[name].id for name in PLATFORM_COMMUTERS}
        staff = [m for m in self.accepted if m[0] in commuters]
        others = [m for m in self.accepted if m[0] not in commuters]
        wanted = round(PLATFORM_ADS_PER_USER * len(users)) - self.ad_calls
        written = 0
        while written < wanted:
            moment = self.activity_moment()
            for _ in range(_RETRIES):
                r = rng.random()
                if r < 0.65:
                    pool = staff if r < 0.35 else others
                    cid, uid, when = pool[rng.randrange(len(pool))]
                    if when < moment:
                        self.add_ad(uid, cid if rng.random() < 0.85 else None, moment)
                        written += 1
                        break
                else:
                    uid = users[rng.randrange(len(users))]
                    if self.created_of[uid] < moment:
                        self.add_ad(uid, None, moment)
                        written += 1
                        break

        # Commuting crews, more and more of them: colleagues living 15 to 40 km from the site.
        for name, (_members, _domain, crews) in PLATFORM_COMMUTERS.items():
            cid = named[name].id
            crew = [(uid, when.date()) for c, uid, when in self.accepted if c == cid]
            span = (self.now - self.activity_start).total_seconds()
            for k in range(crews):
                # Stratified draws: nearly the same adoption curve whatever the seed.
                share = ((k + rng.random()) / crews) ** (1 / PLATFORM_ADOPTION)
                moment = self.activity_start + dt.timedelta(seconds=span * share)
                start = min(moment.date(), self.today - dt.timedelta(days=3))
                ready = [uid for uid, when in crew if when < start]
                if len(ready) < 2:
                    continue
                driver, passenger = rng.sample(ready, 2)
                last = start + dt.timedelta(days=rng.randint(180, 720))
                common = int(rng.triangular(15_000, 40_000, 24_000))
                self.add_commute(driver, passenger, start, last, common)

    # ---- scale >= 1: large data

    def build_large(self, n_users: int, n_ads: int, n_items: int) -> None:
        """Bulk users, communities, memberships, ads and carpools, generated batch by batch."""
        rng = self.rng
        now = self.now
        first = self.next_id["user"]
        self.next_id["user"] = first + n_users
        step = (USER_HISTORY_DAYS - 2) * 86_400 / n_users
        origin = self.origin
        origin_date = origin.date()

        def created_of(uid: int) -> dt.datetime:
            # Ids follow registration order, so a user's date is known without storing it.
            offset = int((uid - first) * step) + (uid * 7919) % 3600
            return origin + dt.timedelta(seconds=offset)

        # Accepted memberships, kept as compact arrays for ads and carpools.
        m_user = array("i")
        m_comm = array("i")
        m_day = array("i")  # accepted date, in days since origin
        by_comm: dict[int, array] = {c.id: array("i") for c in self.comms.values()}

        def remember(comm: _Comm, uid: int, when: dt.datetime | None) -> None:
            if when is not None:
                by_comm[comm.id].append(len(m_user))
                m_user.append(uid)
                m_comm.append(comm.id)
                m_day.append((when.date() - origin_date).days)

        # Generated communities. Their creators and extra moderators are the first bulk users,
        # written before the community itself so that every row follows the rows it refers to.
        next_uid = first
        for town, town_name, name, domain, validation, hidden in self.town_communities(
            LARGE_COMMUNITIES - len(self.comms)
        ):
            admins = range(next_uid, next_uid + 1 + rng.randint(0, 2))
            next_uid = admins.stop
            creator, moderators = admins[0], admins[1:]
            for admin in admins:
                own = domain if domain and rng.random() < 0.9 else None
                self.add_large_user(admin, created_of(admin), own, town)
            created = self.between(created_of(admins[-1]) + ONE_DAY, now - dt.timedelta(days=120))
            comm = self.add_town_community(
                name, town, town_name, validation, domain, creator, created, hidden, weight=None
            )
            by_comm[comm.id] = array("i")
            remember(comm, creator, self.add_membership(comm, creator, _MODERATOR, created))
            for moderator in moderators:
                joined = self.between(created + ONE_DAY, now - dt.timedelta(days=7))
                remember(comm, moderator, self.add_membership(comm, moderator, _MODERATOR, joined))

        comms = list(self.comms.values())
        comm_cum = self._cumulative([c.weight for c in comms])
        total_weight = comm_cum[-1]
        pending_from = now - dt.timedelta(days=PENDING_WINDOW_DAYS)
        town_cum = self.town_cum
        for uid in range(next_uid, first + n_users):
            created = created_of(uid)
            r = rng.random()
            wanted = 0 if r < 0.4 else 1 if r < 0.85 else 2
            picks: list[tuple[_Comm, int]] = []
            email_domain = None
            for _ in range(wanted):
                comm = comms[bisect(comm_cum, rng.random() * total_weight)]
                # One community per user, and at most one with an e-mail domain.
                if any(comm is c for c, _ in picks) or (comm.domain and email_domain):
                    continue
                r = rng.random()
                if comm.validation == _MANUAL:
                    status = _PENDING if r < 0.08 else _REFUSED if r < 0.12 else _MEMBER
                else:
                    status = _PENDING if r < 0.01 else _REFUSED if r < 0.02 else _MEMBER
                if comm.domain:
                    if status in _ACCEPTED:
                        share = 1.0 if comm.validation == _DOMAIN else 0.85
                    else:
                        share = 0.5
                    email_domain = comm.domain if rng.random() < share else ""
                picks.append((comm, status))
            if picks and rng.random() < 0.6:
                town = picks[0][0].town
            else:
                town = bisect(town_cum, rng.random() * town_cum[-1])
            self.add_large_user(uid, created, email_domain or None, town)
            for comm, status in picks:
                lo = max(created, comm.created)
                if status == _PENDING:
                    joined = self.between(max(lo, pending_from), now)
                else:
                    joined = self.soon_after(lo, now)
                remember(comm, uid, self.add_membership(comm, uid, status, joined))

        # Ads: 70 % by members in their community, the rest by anyone registered before.
        written = 0
        n_members = len(m_user)
        while written < n_ads:
            moment = self.activity_moment()
            if n_members and rng.random() < 0.7:
                day = (moment.date() - origin_date).days
                for _ in range(_RETRIES):
                    k = rng.randrange(n_members)
                    if m_day[k] < day:
                        link = m_comm[k] if rng.random() < 0.85 else None
                        written += self.add_ad(m_user[k], link, moment)
                        break
            else:
                registered = int((moment - origin).total_seconds() / step)
                if registered > 0:
                    uid = first + rng.randrange(min(registered, n_users))
                    written += self.add_ad(uid, None, max(moment, created_of(uid)))

        # Carpools: crews of two members of the same community, both accepted before.
        written = 0
        attempts = 0
        while written < n_items and n_members and attempts < n_items:
            attempts += 1
            start = self.crew_start()
            day = (start - origin_date).days
            for _ in range(_RETRIES):
                k = rng.randrange(n_members)
                if m_day[k] >= day:
                    continue
                crew = by_comm[m_comm[k]]
                j = crew[rng.randrange(len(crew))]
                if j != k and m_day[j] < day:
                    written += self.add_crew(m_user[k], m_user[j], start, n_items - written)
                    break

    def add_large_user(self, uid: int, created: dt.datetime, domain: str | None, town: int) -> None:
        """A bulk user: random name, an e-mail made unique by the id."""
        rng = self.rng
        female = rng.random() < 0.5
        given = rng.choice(FEMALE_NAMES) if female else rng.choice(MALE_NAMES)
        family = FAMILY_NAMES[rng.randrange(len(FAMILY_NAMES))]
        domain = domain or self.personal_domain()
        email = f"{self.asc(given)}.{self.asc(family).replace('-', '')}.{uid}@{domain}"
        gender = int(Gender.FEMALE if female else Gender.MALE)
        solidary = rng.random() < 0.004
        self.add_user(given, family, gender, email, created, town, uid=uid, solidary=solidary)

    # ---- roles on the platform

    def write_roles(self) -> None:
        """The platform's roles: ROLE_COMMUNITY_MANAGER_PUBLIC for every moderator (what
        CommunityUserSaveListener wrote when their membership was saved), a platform admin and
        a territory admin for the console to try (DEMO_ADMINS)."""
        ensure_auth_items(self.connection)
        self.connection.execute(
            insert(UserAuthAssignment).from_select(
                ["user_id", "auth_item_id"],
                select(CommunityUser.user_id, literal(int(AuthItemId.COMMUNITY_MANAGER_PUBLIC)))
                .where(CommunityUser.status == _MODERATOR)
                .distinct(),
            )
        )
        for email, (item, departement) in DEMO_ADMINS.items():
            self.connection.execute(
                insert(UserAuthAssignment).values(
                    user_id=self.cast_ids[email],
                    auth_item_id=int(item),
                    territory_id=self.departement_ids[departement] if departement else None,
                )
            )
        self.connection.commit()

    # ---- after the fill

    def reset_sequences(self) -> None:
        """PostgreSQL's serial sequences do not see explicit ids; move them past the max."""
        if self.dialect != "postgresql":
            return
        for table in self._id_tables():
            self.connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f'(SELECT max(id) FROM "{table}"))'
                )
            )
        self.connection.commit()


#: SQLite settings during a fill: a demo fill can be redone from scratch, so durability is traded
#: for speed meanwhile, and a large page cache keeps the indexes in memory.
_SQLITE_FILL_PRAGMAS = (("synchronous", "OFF"), ("cache_size", "-262144"))


def _sqlite_fast_writes(connection: Connection) -> list[tuple[str, object]]:
    """Apply the fill pragmas on SQLite; returns the previous values.

    Run on the DBAPI connection before SQLAlchemy begins a transaction: SQLite refuses to
    change the safety level inside one.
    """
    if connection.dialect.name != "sqlite":
        return []
    cursor = connection.connection.dbapi_connection.cursor()
    saved = []
    try:
        for pragma, value in _SQLITE_FILL_PRAGMAS:
            saved.append((pragma, cursor.execute(f"PRAGMA {pragma}").fetchone()[0]))
            cursor.execute(f"PRAGMA {pragma}={value}")
    finally:
        cursor.close()
    return saved


def _sqlite_restore(connection: Connection, saved: list[tuple[str, object]]) -> None:
    if not saved:
        return
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        for pragma, value in saved:
            cursor.execute(f"PRAGMA {pragma}={value}")
    finally:
        cursor.close()


def _analyze(connection: Connection) -> None:
    """Fresh statistics after a bulk load: without them the planners pick nested loops over
    millions of rows for the indicators' joins (minutes instead of seconds)."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA analysis_limit=2000")
        connection.exec_driver_sql("ANALYZE")
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ANALYZE")
    else:
        tables = ", ".join(f"`{t.name}`" for t in PlatformBase.metadata.sorted_tables)
        connection.exec_driver_sql(f"ANALYZE TABLE {tables}").all()
    connection.commit()


def fill_demo(
    engine: Engine,
    scale: int = 0,
    seed: int = 2024,
    *,
    progress: Callable[[str], None] | None = None,
    security_folder: Path | None = None,
) -> DemoSummary:
    """Fill an empty platform database with demo data (see the module docstring for scales).

    The platform tables must exist (`storage.schema.prepare`, or the platform's schema on
    MariaDB). Refuses a database that already holds communities, so a real database is never
    polluted. `progress` receives a line after each batch (for the CLI at large scales).
    `security_folder`: where the secured communities' identifier files go (the platform's
    folder, [platform] community_security_dir); None writes no file.
    """
    if scale != 0 and scale not in SCALES:
        raise ValueError(f"scale must be 0 or one of {sorted(SCALES)}, not {scale}")
    with engine.connect() as connection:
        saved = _sqlite_fast_writes(connection)
        try:
            if connection.execute(select(Community.id).limit(1)).first() is not None:
                raise DemoError(
                    "the community table already holds rows: demo data goes only into an empty "
                    "database (create a new one, or point the bot at another file)"
                )
            demo = _Demo(connection, seed, progress)
            demo.write_reference()
            demo.build_sample()
            if scale == 0:
                demo.build_platform()
            else:
                demo.build_large(*SCALES[scale])
            demo.writer.flush()
            demo.write_roles()
            demo.reset_sequences()
            _analyze(connection)
        finally:
            connection.rollback()
            _sqlite_restore(connection, saved)
    if security_folder is not None:
        security_folder.mkdir(parents=True, exist_ok=True)
        for name, content in demo.security_files.items():
            (security_folder / name).write_bytes(content)
    counts = demo.writer.counts
    return DemoSummary(
        users=counts["user"],
        communities=counts["community"],
        memberships=counts["community_user"],
        ads=counts["proposal"] - demo.searches,
        carpool_items=counts["carpool_item"],
        solidary_users=counts["solidary_user"],
        territories=demo.territories,
    )


def demo_login_hint(engine: Engine, limit: int = 8) -> list[tuple[str, str]]:
    """(e-mail, "Given F. — roles") of users worth logging in as: those who decide requests.

    Those with pending requests first; among them, those administering two communities or
    more; then by id, so the named people of the sample (the lowest ids) lead at every scale.
    """
    cu = CommunityUser.__table__
    with engine.connect() as connection:
        pending = dict(
            connection.execute(
                select(cu.c.community_id, func.count())
                .where(cu.c.status == _PENDING)
                .group_by(cu.c.community_id)
            ).all()
        )
        roles: dict[int, list[tuple[str, int, str]]] = {}
        names: dict[int, str] = {}
        for cid, name, creator in connection.execute(
            select(Community.id, Community.name, Community.user_id).order_by(Community.id)
        ):
            names[cid] = name
            if creator is not None:
                roles.setdefault(creator, []).append(("referent", cid, name))
        for uid, cid in connection.execute(
            select(cu.c.user_id, cu.c.community_id)
            .where(cu.c.status == _MODERATOR)
            .order_by(cu.c.id)
        ):
            if not any(c == cid for _, c, _ in roles.get(uid, ())):
                roles.setdefault(uid, []).append(("moderator", cid, names[cid]))

        def rank(uid: int) -> tuple[bool, int, int]:
            mine = roles[uid]
            waiting = sum(pending.get(c, 0) for _, c, _ in mine)
            return (waiting == 0, -min(len(mine), 2), uid)

        # The sample's platform admins (DEMO_ADMINS) are always offered, last.
        admins = {
            row.id: ("territory admin of " + row.territory if row.territory else "platform admin")
            for row in connection.execute(
                select(User.id, Territory.name.label("territory"))
                .join(UserAuthAssignment, UserAuthAssignment.user_id == User.id)
                .outerjoin(Territory, Territory.id == UserAuthAssignment.territory_id)
                .where(
                    User.email.in_(list(DEMO_ADMINS)),
                    UserAuthAssignment.auth_item_id.in_([int(i) for i, _ in DEMO_ADMINS.values()]),
                )
            )
        }
        others = [uid for uid in sorted(roles, key=rank) if uid not in admins]
        chosen = others[: max(limit - len(admins), 0)] + sorted(admins)
        people = {
            row.id: row
            for row in connection.execute(
                select(User.id, User.email, User.given_name, User.family_name).where(
                    User.id.in_(chosen)
                )
            )
        }
    hints = []
    for uid in chosen:
        person = people[uid]
        initial = (person.family_name or "?")[:1].upper()
        parts = [admins[uid]] if uid in admins else []
        parts += [
            f"{role} of {name} ({pending.get(cid, 0)} pending)"
            for role, cid, name in roles.get(uid, ())
        ]
        what = ", ".join(parts)
        hints.append((person.email, f"{(person.given_name or '').title()} {initial}. — {what}"))
    return hints


__all__ = ["DemoError", "DemoSummary", "demo_login_hint", "fill_demo", "SCALES"]
