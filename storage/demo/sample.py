"""The named sample: the referent guide's people and communities (written at every scale, by
scale0.py)."""

from __future__ import annotations

from dataclasses import dataclass

from storage.codes import AuthItemId, Gender, ValidationType


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
