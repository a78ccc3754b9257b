"""Building blocks shared by the Channel and ProbeJob models.

Every model here doubles as a CRD schema (see `playout.api.crd`): field docstrings become
`kubectl explain` text, and `x-kubernetes-*` extras carry what JSON Schema cannot say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import core_schema

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


# --- rules held twice: CEL for the API server, Python for local runs ---------------------


class Rule:
    """Pydantic metadata for `Annotated[...]`: a rule the API server enforces (a CEL
    `x-kubernetes-validations` entry of the CRD) and the same rule for local runs, with the
    same message. Several on one type add up; the first broken one is reported locally."""

    message: str

    def condition(self, subject: str) -> str:
        """The CEL expression, true when `subject` keeps to the rule."""
        raise NotImplementedError

    def holds(self, value: Any) -> bool:
        raise NotImplementedError

    def check(self, value: Any) -> Any:
        if not self.holds(value):
            raise ValueError(self.message)
        return value

    def rule(self, subject: str = "self") -> dict[str, Any]:
        return cel(self.condition(subject), self.message)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        json = handler(schema)
        return {
            **json,
            "x-kubernetes-validations": [*json.get("x-kubernetes-validations", []), self.rule()],
        }


@dataclass(frozen=True)
class Pattern(Rule):
    """A string held to a regular expression that the API server (RE2) and Python read
    alike."""

    regex: str
    message: str
    refused: bool = False
    """False: the whole string must match; True: no part of it may (a character or a
    segment the string must not have)."""

    def __post_init__(self) -> None:
        # The rule quotes the regex as a CEL raw string: r'...'.
        if "'" in self.regex:
            raise ValueError(f"{self.regex}: a pattern cannot contain a single quote")

    @property
    def whole(self) -> str:
        """The regex anchored at both ends (an OpenAPI `pattern`, a CEL `matches`)."""
        return f"^(?:{self.regex})$"

    def holds(self, value: str) -> bool:
        if self.refused:
            return re.search(self.regex, value) is None
        # fullmatch, not `$`: Python's `$` also matches before a final newline, RE2's does not.
        return re.fullmatch(self.regex, value) is not None

    def condition(self, subject: str) -> str:
        if self.refused:
            return f"!{subject}.matches(r'{self.regex}')"
        return f"{subject}.matches(r'{self.whole}')"

    @property
    def for_keys(self) -> KeysHeldTo:
        return KeysHeldTo(self, self.message)


@dataclass(frozen=True)
class KeysHeldTo(Rule):
    """Every key of a map held to a pattern (a CRD schema cannot constrain map keys
    itself)."""

    pattern: Pattern
    message: str

    def holds(self, value: dict[str, Any]) -> bool:
        return all(self.pattern.holds(key) for key in value)

    def check(self, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not self.pattern.holds(key):
                raise ValueError(f"{key!r}: {self.message}")
        return value

    def condition(self, subject: str) -> str:
        return f"{subject}.all(k, {self.pattern.condition('k')})"


# C0 and C1 control characters and DEL: never meant in a name, a path or a URL, and
# able to split a log line, a playlist or an M3U entry in two.
CONTROL_CHARACTERS = r"[\x00-\x1f\x7f-\x9f]"
PRINTABLE = Pattern(CONTROL_CHARACTERS, "must not contain control characters", refused=True)

# An RFC 1123 subdomain in lowercase: what the API server holds object names to, and how
# a browser writes a host name.
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
SUBDOMAIN = rf"{_LABEL}(\.{_LABEL})*"
OBJECT_NAME = Pattern(
    SUBDOMAIN,
    "must be the name of a Kubernetes object: lowercase letters, digits, '-' and '.', "
    "starting and ending with a letter or digit",
)
ObjectName = Annotated[str, Field(min_length=1, max_length=253), OBJECT_NAME]

# An RFC 1035 label, which every child name taken from ours (a Service's, for one) must be.
DNS_LABEL = Pattern(
    r"[a-z]([-a-z0-9]*[a-z0-9])?",
    "must be a DNS label: lowercase letters, digits and '-', starting with a letter and "
    "ending with a letter or digit",
)
# Children are named after the Channel with suffixes of up to 6 characters ("-sweep"), and
# the CronJob name limit is 52.
CHANNEL_NAME_MAX = 46
ChannelName = Annotated[str, Field(min_length=1, max_length=CHANNEL_NAME_MAX), DNS_LABEL]

# --- media paths ------------------------------------------------------------------------

RELATIVE = Pattern(
    r"^/", "must be relative to the media root (remove the leading '/')", refused=True
)
INSIDE = Pattern(
    r"(^|/)\.\.(/|$)", "must stay inside the media root (no '..' segments)", refused=True
)

MediaPath = Annotated[str, Field(min_length=1, max_length=1024), PRINTABLE, RELATIVE, INSIDE]

# --- time zones -------------------------------------------------------------------------

# The shape of an IANA name, which the API server can check (CEL has no time zone
# database); whether the zone exists is left to the models, and shows as `Stalled`.
ZONE_NAME = Pattern(
    r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*",
    "must be an IANA time zone name (examples: UTC, Europe/Berlin, America/New_York)",
)
# The machine's own zone, whichever it is: not a zone a schedule can be written in.
_IMPLICIT_ZONES = ("local", "localtime")


def _check_time_zone(value: str) -> str:
    if value.lower() in _IMPLICIT_ZONES:
        raise ValueError(f"{value!r} is the machine's own zone: name one (e.g. UTC, Europe/Berlin)")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"{value!r} is not an IANA time zone (examples: UTC, Europe/Berlin, America/New_York)"
        ) from error
    return value


TimeZone = Annotated[
    str, Field(min_length=1, max_length=64), ZONE_NAME, AfterValidator(_check_time_zone)
]

# --- quantities -------------------------------------------------------------------------

_QUANTITY = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"  # noqa: E501
# The pattern is the API server's own, which takes a sign: a negative amount of a resource
# is refused on its own, for the string and the number form alike. With startsWith, which
# CEL prices by its prefix: a regex would be priced by the converted string's length,
# which CEL cannot know.
_NEGATIVE = "must not be negative"


def _check_quantity(value: int | float | str) -> str:
    text = str(value)
    if not re.match(_QUANTITY, text):
        raise ValueError(f"{text!r} is not a Kubernetes quantity (examples: 500m, 2, 256Mi, 1Gi)")
    if text.startswith("-"):
        raise ValueError(_NEGATIVE)
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


@dataclass(frozen=True)
class AtLeast(Rule):
    """A quantity no smaller than `minimum`."""

    minimum: str
    message: str

    def holds(self, value: int | float | str) -> bool:
        return quantity_value(value) >= quantity_value(self.minimum)

    def condition(self, subject: str) -> str:
        # The quantity pattern is checked on its own; this rule only compares.
        return (
            f"!isQuantity(string({subject})) || "
            f"quantity(string({subject})).compareTo(quantity('{self.minimum}')) >= 0"
        )


Quantity = Annotated[
    int | float | str,
    AfterValidator(_check_quantity),
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
            "pattern": _QUANTITY,
            "maxLength": 64,
            "x-kubernetes-validations": [cel("!string(self).startsWith('-')", _NEGATIVE)],
        }
    ),
]


RESOURCE_NAME = Pattern(
    r"cpu|memory|ephemeral-storage|hugepages-[0-9]+[KMGTPE]i"
    rf"|{SUBDOMAIN}/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?",
    "must name a container resource: cpu, memory, ephemeral-storage, hugepages-<size> or "
    "an extended resource with its domain (example.com/gpu)",
)
Resources = Annotated[dict[str, Quantity], Field(max_length=8), RESOURCE_NAME.for_keys]


_LIMITS_ABOVE_REQUESTS = "every limit must be at least its request"


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
                    _LIMITS_ABOVE_REQUESTS,
                )
            ]
        }
    )

    requests: Resources | None = None
    """Guaranteed resources, e.g. {cpu: 500m, memory: 256Mi}."""
    limits: Resources | None = None
    """Hard caps, e.g. {memory: 1Gi}. A CPU limit throttles a real-time encoder and can make
    the stream stall; leave it out unless the node is shared with noisy neighbours."""

    @model_validator(mode="after")
    def _limits_above_requests(self) -> ResourceRequirements:
        limits, requests = self.limits or {}, self.requests or {}
        if any(
            quantity_value(limits[key]) < quantity_value(requests[key])
            for key in requests.keys() & limits.keys()
        ):
            raise ValueError(_LIMITS_ABOVE_REQUESTS)
        return self


# --- volumes ----------------------------------------------------------------------------


class PersistentVolumeClaimSource(SpecModel):
    """A PersistentVolumeClaim in the object's namespace."""

    claim_name: ObjectName
    """Name of the PersistentVolumeClaim."""


class LocalObjectReference(SpecModel):
    """A reference to an object in the same namespace."""

    name: ObjectName
    """Name of the object."""


CSI_DRIVER = Pattern(
    r"[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?",
    "must be a CSI driver's name as its CSIDriver object has it (e.g. smb.csi.k8s.io): "
    "letters, digits, '-' and '.', starting and ending with a letter or digit",
)
FS_TYPE = Pattern(r"[A-Za-z0-9][A-Za-z0-9._-]*", "must be a filesystem type, e.g. ext4 or xfs")


class CsiSource(SpecModel):
    """An inline ephemeral CSI volume, e.g. an object-store or SMB driver."""

    driver: Annotated[str, Field(min_length=1, max_length=63), CSI_DRIVER]
    """Name of the CSI driver."""
    volume_attributes: (
        Annotated[dict[str, Annotated[str, Field(max_length=4096)]], Field(max_length=64)] | None
    ) = None
    """Driver-specific attributes."""
    fs_type: Annotated[str, Field(min_length=1, max_length=63), FS_TYPE] | None = None
    """Filesystem type, if the driver needs one."""
    node_publish_secret_ref: LocalObjectReference | None = None
    """Secret with credentials the driver needs to mount the volume."""


# The grammar of github.com/distribution/reference (without IPv6 hosts): an optional
# registry host and port, a lowercase repository path, an optional tag and digest.
_HOST_PART = r"[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?"
_PATH_PART = r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*"
IMAGE_REFERENCE = Pattern(
    rf"({_HOST_PART}(\.{_HOST_PART})*(:[0-9]+)?/)?{_PATH_PART}(/{_PATH_PART})*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
    r"(@[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?",
    "must be an image reference: [registry[:port]/]repository[:tag][@digest], the "
    "repository in lowercase (e.g. registry.example.com/media/bumpers:2024)",
)


class ImageSource(SpecModel):
    """An OCI image or artifact mounted as a volume (Kubernetes image volumes; the
    ImageVolume feature must be enabled on the cluster)."""

    reference: Annotated[str, Field(min_length=1, max_length=1024), IMAGE_REFERENCE]
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
