"""The platform's codes, named. Values are Mobicoop's (see shared/reference/mobicoop/README.md)."""

from enum import IntEnum


class ValidationType(IntEnum):
    """community.validation_type"""

    AUTOMATIC = 0
    MANUAL = 1  # by a moderator
    DOMAIN = 2
    SECURED = 3


class MembershipStatus(IntEnum):
    """community_user.status"""

    PENDING = 0
    MEMBER = 1
    MODERATOR = 2
    REFUSED = 3


#: "Member" in the platform's sense: accepted, as member or moderator.
ACCEPTED_STATUSES = (MembershipStatus.MEMBER, MembershipStatus.MODERATOR)


class CarpoolItemStatus(IntEnum):
    """carpool_item.item_status"""

    PLANNED = 0
    CARRIED_OUT = 1
    NOT_CARRIED_OUT = 2


class ProposalType(IntEnum):
    """proposal.type"""

    ONE_WAY = 1
    OUTWARD = 2
    RETURN = 3


class Gender(IntEnum):
    """user.gender"""

    FEMALE = 1
    MALE = 2
    OTHER = 3


class UserStatus(IntEnum):
    """user.status"""

    ACTIVE = 1
    DISABLED = 2
    ANONYMIZED = 3
    PSEUDONYMIZED = 4  # no e-mail, not in searches, never notified


class AuthItemId(IntEnum):
    """auth_item.id of the platform's roles (Auth/Entity/AuthItem.php, api/migrations)."""

    SUPER_ADMIN = 1
    ADMIN = 2
    COMMUNITY_MANAGER = 7
    COMMUNITY_MANAGER_PUBLIC = 8  # held by every moderator of a community
    COMMUNITY_MANAGER_PRIVATE = 9


class PhoneDisplay(IntEnum):
    """user.phone_display"""

    RESTRICTED = 1
    ALL = 2


class CriteriaFrequency(IntEnum):
    """criteria.frequency"""

    PUNCTUAL = 1
    REGULAR = 2


#: The platform's CO2 factor: grams per kilometre carried out (GeoTools::getCO2).
CO2_GRAMS_PER_KM = 213


class AskStatus(IntEnum):
    """ask.status of an accepted carpool (Carpool/Entity/Ask.php)"""

    ACCEPTED_AS_DRIVER = 4
    ACCEPTED_AS_PASSENGER = 5


#: carpool_item.distance exists since the platform's migration Version20230606134709 (whole
#: kilometres, PaymentManager); items before it keep NULL there.
CARPOOL_ITEM_DISTANCE_SINCE = (2023, 6, 6)


class Medium(IntEnum):
    """medium.id (Communication/Entity/Medium.php)"""

    MESSAGE = 1
    EMAIL = 2
    SMS = 3
    PUSH = 4


class NotifiedStatus(IntEnum):
    """notified.status (Communication/Entity/Notified.php)"""

    SENT = 1
    RECEIVED = 2
    READ = 3
    BLOCKED = 4
