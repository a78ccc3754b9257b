"""Whether a child has drifted from what the operator applied. Pure.

Every change of a child comes back as a watch event, the echo of the operator's own apply
and every status update of a Deployment included. Re-applying on each would cost an API
write per event; a child needs one only when a field the operator sets has lost its value.
Fields the API server or other controllers add (defaults, status, their own annotations)
are not the operator's and never count as drift.
"""

from __future__ import annotations

from typing import Any

from playout.api.common import quantity_value

# Keys whose values are quantities, which the API server stores in canonical form: a
# request of "1000m" CPU comes back as "1", and is no drift.
QUANTITY_KEYS = frozenset({"cpu", "memory", "ephemeral-storage", "storage", "sizeLimit"})


def holds(*, applied: Any, live: Any) -> bool:
    """Whether every field set in `applied` has that value in `live`. Maps are compared
    key by key (keys only `live` has are someone else's); lists item by item and in full,
    since a list with an item more or less is one the apply would change."""
    if isinstance(applied, dict):
        return isinstance(live, dict) and all(
            _holds_at(key, applied=value, live=live[key]) if key in live else _empty(value)
            for key, value in applied.items()
        )
    if isinstance(applied, list):
        return (
            isinstance(live, list)
            and len(live) == len(applied)
            and all(holds(applied=a, live=b) for a, b in zip(applied, live, strict=True))
        )
    return bool(applied == live)


def _holds_at(key: str, *, applied: Any, live: Any) -> bool:
    if key in QUANTITY_KEYS and isinstance(applied, str) and isinstance(live, str):
        return _same_quantity(applied, live)
    return holds(applied=applied, live=live)


def _same_quantity(applied: str, live: str) -> bool:
    try:
        return quantity_value(applied) == quantity_value(live)
    except ValueError:
        return applied == live


def _empty(value: Any) -> bool:
    """The API server stores an empty map or list as no field at all."""
    return isinstance(value, dict | list) and not value
