"""The site's routes, read from the URL conf (Django's resolver) rather than listed by hand.

Why: a security test that lists its endpoints covers only the endpoints someone remembered; walking the
resolver covers every page and API route, including the ones added after the test was written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    """One URL pattern: its path template (`c/<int:conversation_id>/`), URL name and parameter names."""

    template: str
    name: str | None
    params: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        """The Django admin: for staff accounts only, which no organisation member is."""
        return self.template.startswith("admin/")

    @property
    def is_api(self) -> bool:
        return self.template.startswith("api/")

    def fill(self, values: dict[str, object]) -> str:
        """The path with each parameter replaced by `values[name]`."""
        return "/" + _PARAM.sub(lambda m: str(values[m.group("name")]), self.template)


def _walk(patterns: list[URLPattern | URLResolver], prefix: str = "") -> list[Route]:
    found: list[Route] = []
    for p in patterns:
        template = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            found += _walk(p.url_patterns, template)
        elif not template.startswith("^") and "(?P<" not in template:  # plain path() routes
            params = tuple(m.group("name") for m in _PARAM.finditer(template))
            found.append(Route(template, p.name, params))
        else:  # a regular expression: no generator can fill it, so the callers must name it
            found.append(Route(template, p.name, ("regex",)))
    return found


def all_routes() -> list[Route]:
    """Every route of the project URL conf, the API's (mounted by ninja) included; deduplicated by path,
    since ninja registers one pattern per path and method."""
    seen: dict[str, Route] = {}
    for route in _walk(get_resolver().url_patterns):
        seen.setdefault(route.template, route)
    return list(seen.values())
