"""Building blocks shared by the Channel and ProbeJob models.

Every model here doubles as a CRD schema (see `playout.api.crd`): field docstrings become
`kubectl explain` text, and `x-kubernetes-*` extras carry what JSON Schema cannot say.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel

GROUP = "playout.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


def cel(rule: str, message: str, field_path: str | None = None) -> dict[str, Any]:
    """One `x-kubernetes-validations` entry: a CEL rule the API server enforces."""
    entry = {"rule": rule, "message": message}
    if field_path:
        entry["fieldPath"] = field_path
    return entry


class SpecModel(BaseModel):
    """Base of everything users write: camelCase on the wire, unknown fields rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        use_attribute_docstrings=True,
        frozen=True,
    )


class StatusModel(BaseModel):
    """Base of everything the operator and engines write: unknown fields are ignored so that
    an older reader survives a newer writer."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        use_attribute_docstrings=True,
    )


# --- media paths ------------------------------------------------------------------------

_PARENT_SEGMENT = re.compile(r"(^|/)\.\.(/|$)")


def _check_media_path(value: str) -> str:
    if value.startswith("/"):
        raise ValueError("must be relative to the media root (remove the leading '/')")
    if _PARENT_SEGMENT.search(value):
        raise ValueError("must stay inside the media root (no '..' segments)")
    return value


# The same rule twice, once for the API server (CEL) and once for local runs (Python):
# tests/unit/test_api.py checks both agree on the same samples.
MEDIA_PATH_RULES = [
    cel("!self.startsWith('/')", "must be relative to the media root (remove the leading '/')"),
    cel(
        "!self.matches('(^|/)\\\\.\\\\.(/|$)')",
        "must stay inside the media root (no '..' segments)",
    ),
]

MediaPath = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1024,
        json_schema_extra={"x-kubernetes-validations": MEDIA_PATH_RULES},
    ),
    AfterValidator(_check_media_path),
]

# --- quantities -------------------------------------------------------------------------

_QUANTITY = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"  # noqa: E501


def _check_quantity(value: int | float | str) -> str:
    text = str(value)
    if not re.match(_QUANTITY, text):
        raise ValueError(f"{text!r} is not a Kubernetes quantity (examples: 500m, 2, 256Mi, 1Gi)")
    return text


_SUFFIXES: dict[str, int | Decimal] = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1,
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}  # fmt: skip


def quantity_value(quantity: int | float | str) -> Decimal:
    """The number a Kubernetes quantity stands for ("1500m" -> 1.5, "1Ki" -> 1024)."""
    text = _check_quantity(quantity)
    number = re.match(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text)
    assert number is not None  # guaranteed by _check_quantity
    return Decimal(number.group(0)) * Decimal(_SUFFIXES[text[number.end() :]])


Quantity = Annotated[
    int | float | str,
    AfterValidator(_check_quantity),
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
            "pattern": _QUANTITY,
            "maxLength": 64,
        }
    ),
]


class ResourceRequirements(SpecModel):
    """Compute resources for the workload's main container, as in a Pod spec. Keys left out
    fall back to the operator's defaults for the workload."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "!has(self.requests) || !has(self.limits) || self.requests.all(k, "
                    "!(k in self.limits) || "
                    "quantity(string(self.limits[k]))"
                    ".compareTo(quantity(string(self.requests[k]))) >= 0)",
                    "every limit must be at least its request",
                )
            ]
        }
    )

    requests: Annotated[dict[str, Quantity], Field(max_length=8)] | None = None
    """Guaranteed resources, e.g. {cpu: 500m, memory: 256Mi}."""
    limits: Annotated[dict[str, Quantity], Field(max_length=8)] | None = None
    """Hard caps, e.g. {memory: 1Gi}. A CPU limit throttles a real-time encoder and can make
    the stream stall; leave it out unless the node is shared with noisy neighbours."""


# --- volumes ----------------------------------------------------------------------------


class PersistentVolumeClaimSource(SpecModel):
    """A PersistentVolumeClaim in the object's namespace."""

    claim_name: str = Field(min_length=1, max_length=253)
    """Name of the PersistentVolumeClaim."""


class LocalObjectReference(SpecModel):
    """A reference to an object in the same namespace."""

    name: str = Field(min_length=1, max_length=253)
    """Name of the object."""


class CsiSource(SpecModel):
    """An inline ephemeral CSI volume, e.g. an object-store or SMB driver."""

    driver: str = Field(min_length=1, max_length=253)
    """Name of the CSI driver."""
    volume_attributes: dict[str, str] | None = None
    """Driver-specific attributes."""
    fs_type: str | None = Field(default=None, max_length=63)
    """Filesystem type, if the driver needs one."""
    node_publish_secret_ref: LocalObjectReference | None = None
    """Secret with credentials the driver needs to mount the volume."""


class ImageSource(SpecModel):
    """An OCI image or artifact mounted as a volume (Kubernetes image volumes; the
    ImageVolume feature must be enabled on the cluster)."""

    reference: str = Field(min_length=1, max_length=1024)
    """Image reference, e.g. registry.example.com/media/bumpers:2024."""
    pull_policy: Literal["Always", "Never", "IfNotPresent"] = "IfNotPresent"
    """When to pull the image."""


# Only volume types that Pod Security `restricted` admits: NFS, for one, is served through
# a PersistentVolume and a claim.
_VOLUME_KINDS = ("persistentVolumeClaim", "csi", "image")


class MediaVolume(SpecModel):
    """Where media files live: a Kubernetes volume source, mounted read-only. Exactly one
    of the fields is set."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    " + ".join(f"(has(self.{kind}) ? 1 : 0)" for kind in _VOLUME_KINDS) + " == 1",
                    "set exactly one of " + ", ".join(_VOLUME_KINDS),
                )
            ]
        }
    )

    persistent_volume_claim: PersistentVolumeClaimSource | None = None
    """Media on a PersistentVolumeClaim (ReadOnlyMany or ReadWriteMany lets several
    channels share it). For NFS or SMB shares, bind a PersistentVolume to a claim."""
    csi: CsiSource | None = None
    """Media on an inline CSI volume."""
    image: ImageSource | None = None
    """Media packaged in an OCI image."""

    @model_validator(mode="after")
    def _exactly_one(self) -> MediaVolume:
        if len(self.model_fields_set) != 1:
            raise ValueError("set exactly one of " + ", ".join(_VOLUME_KINDS))
        return self

    def to_volume(self, name: str) -> dict[str, Any]:
        """The Pod `volumes[]` entry, forced read-only where the source allows it."""
        source = self.model_dump(by_alias=True, exclude_none=True)
        if "persistentVolumeClaim" in source:
            source["persistentVolumeClaim"]["readOnly"] = True
        if "csi" in source:
            source["csi"]["readOnly"] = True
        return {"name": name, **source}


# --- status -----------------------------------------------------------------------------


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(StatusModel):
    """One aspect of the object's state, in the standard Kubernetes shape."""

    type: str = Field(max_length=316)
    """Condition type: Ready, Reconciling, Stalled and a kind-specific set."""
    status: ConditionStatus
    """True, False or Unknown."""
    reason: str = Field(max_length=1024)
    """A CamelCase word for machines."""
    message: str = Field(default="", max_length=32768)
    """A sentence for humans."""
    last_transition_time: datetime
    """When the status last changed."""
    observed_generation: int | None = Field(default=None, ge=0)
    """The `metadata.generation` this condition was computed from."""


Conditions = Annotated[
    list[Condition],
    Field(
        max_length=16,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    ),
]


def explain(error: ValidationError, prefix: str = "") -> str:
    """A validation error as users can act on it: the field path as written in YAML
    (spec.programs[0].path), then what is wrong with it."""
    lines = []
    for item in error.errors():
        path = prefix
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{path or '(root)'}: {message}")
    return "; ".join(lines)
