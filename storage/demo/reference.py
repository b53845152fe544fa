"""Reference data: the Hauts-de-France départements, intercommunalités and towns the demo
places people in, street names, first and family names, e-mail domains.
"""

from __future__ import annotations

from dataclasses import dataclass


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
