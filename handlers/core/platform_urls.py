"""Addresses of the platform's web pages, derived from [platform] base_url as its client routes
them (client/src/MobicoopBundle/Resources/config/routes.yaml)."""

from __future__ import annotations

import re

_ACCENTED = "àáâãäçèéêëìíîïñòóôõöùúûüýÿÀÁÂÃÄÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝ"
_PLAIN = "aaaaaceeeeiiiinooooouuuuyyAAAAACEEEEIIIINOOOOOUUUUY"
_UNACCENT = str.maketrans(_ACCENTED, _PLAIN)
_NOT_KEPT = re.compile(r"[^A-Za-z0-9\-]")


def url_key(name: str) -> str:
    """The community's urlKey, as Community/Service/CommunityManager::generateUrlKey builds it:
    spaces and apostrophes become '-', utf8_decode turns what Latin-1 lacks into '?', the
    accented letters of its list lose their accent, every other character goes, and one
    trailing '-' is dropped."""
    key = name.replace(" ", "-").replace("'", "-")
    key = key.encode("latin-1", errors="replace").decode("latin-1")  # PHP's utf8_decode
    key = _NOT_KEPT.sub("", key.translate(_UNACCENT))
    return key[:-1] if key.endswith("-") else key


def _base(base_url: str) -> str:
    return base_url.rstrip("/")


def community_page(base_url: str, community_id: int, name: str) -> str:
    """The community's page, as the platform's own e-mails link to it
    (api/templates/.../community_membership_accepted: '/communaute/' ~ id ~ '/' ~ urlKey)."""
    return f"{_base(base_url)}/communaute/{community_id}/{url_key(name)}"


def widget_code_page(base_url: str, community_id: int) -> str:
    """The page that gives the widget's code ("Voir le Widget": route community_get_widget)."""
    return f"{_base(base_url)}/communaute/widget/get/{community_id}"


def widget_embed(base_url: str, community_id: int, override: str = "") -> str:
    """The embeddable widget (route community_widget), the iframe's src; `override` is the
    deprecated [bot] widget_url pattern, `{id}` standing for the community's id."""
    if override:
        return override.replace("{id}", str(community_id))
    return f"{_base(base_url)}/communaute/widget/{community_id}"
