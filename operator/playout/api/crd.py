"""CustomResourceDefinitions generated from the pydantic models.

Pydantic's JSON Schema is close to what Kubernetes wants, but a CRD schema must be
*structural*: no `$ref`, no `anyOf` for optional fields, a `type` everywhere, OpenAPI 3.0
style `exclusiveMinimum`. `structural()` does that translation; everything else (names,
columns, CEL rules) is declared next to the models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel

from playout.api.channel import ChannelSpec, ChannelStatus
from playout.api.common import CHANNEL_NAME_MAX, DNS_LABEL, GROUP, VERSION
from playout.api.probejob import PROBEJOB_NAME_MAX, ProbeJobSpec, ProbeJobStatus

JsonSchema = dict[str, Any]

_NEXT = ".status.schedule.next[0]"
_READY = '.status.conditions[?(@.type=="Ready")]'


@dataclass(frozen=True)
class Kind:
    """What a CRD needs to know about one of our kinds."""

    kind: str
    plural: str
    short_name: str
    description: str
    spec: type[BaseModel]
    status: type[BaseModel]
    name_max: int
    columns: tuple[dict[str, Any], ...]

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"


CHANNEL = Kind(
    kind="Channel",
    plural="channels",
    short_name="ch",
    description="A 24/7 linear TV channel: a lineup of media played back to back, with "
    "bumpers, as one continuous live HLS stream.",
    spec=ChannelSpec,
    status=ChannelStatus,
    name_max=CHANNEL_NAME_MAX,
    columns=(
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Now Playing", "type": "string", "jsonPath": ".status.nowPlaying.title"},
        {"name": "Ready", "type": "string", "jsonPath": f"{_READY}.status"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        # A time, not an age: kubectl prints future dates in a `date` column as <invalid>.
        {"name": "Next", "type": "string", "jsonPath": _NEXT + ".title", "priority": 1},
        {"name": "At", "type": "string", "jsonPath": _NEXT + ".start", "priority": 1},
        {"name": "URL", "type": "string", "jsonPath": ".status.stream.url", "priority": 1},
        {"name": "Message", "type": "string", "jsonPath": f"{_READY}.message", "priority": 1},
    ),
)

PROBEJOB = Kind(
    kind="ProbeJob",
    plural="probejobs",
    short_name="pj",
    description="A media quality check of a file, URL or channel, with a pass/warn/fail "
    "verdict per check.",
    spec=ProbeJobSpec,
    status=ProbeJobStatus,
    name_max=PROBEJOB_NAME_MAX,
    columns=(
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Verdict", "type": "string", "jsonPath": ".status.verdict"},
        {"name": "Profile", "type": "string", "jsonPath": ".spec.profile"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ),
)

KINDS = (CHANNEL, PROBEJOB)


def structural(schema: JsonSchema, defs: dict[str, JsonSchema], *, defaults: bool) -> JsonSchema:
    """Translate one pydantic JSON Schema node into a structural OpenAPI v3 schema."""
    node = dict(schema)
    ref = node.pop("$ref", None)
    if ref is not None:
        target = defs[ref.rsplit("/", 1)[-1]]
        node = {**target, **node}  # the field's own description wins over the model's
    variants = node.get("anyOf")
    if variants is not None and any(v.get("type") == "null" for v in variants):
        kept = [v for v in node.pop("anyOf") if v.get("type") != "null"]
        if len(kept) == 1:
            node = {**kept[0], **node} if "$ref" not in kept[0] else {**node, **kept[0]}
            return structural(node, defs, defaults=defaults)
        node["anyOf"] = kept

    out: JsonSchema = {}
    for key, value in node.items():
        if key in ("title", "additionalProperties", "properties", "items", "$defs"):
            continue
        if key == "default":
            if defaults and value is not None:
                # Object defaults become {} so the API server fills in the nested defaults
                # itself, and no default is written down twice.
                out["default"] = {} if isinstance(value, dict) and value else value
            continue
        if key == "description":
            out[key] = " ".join(value.split())  # docstrings are wrapped; kubectl rewraps
            continue
        if key == "const":
            out["enum"] = [value]
            continue
        if key in ("exclusiveMinimum", "exclusiveMaximum"):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
            continue
        out[key] = value

    if "properties" in node:
        out["type"] = "object"
        out["properties"] = {
            name: structural(prop, defs, defaults=defaults)
            for name, prop in node["properties"].items()
        }
        if not out.get("required"):
            out.pop("required", None)
    additional = node.get("additionalProperties")
    if isinstance(additional, dict):
        out["additionalProperties"] = structural(additional, defs, defaults=defaults)
    if "items" in node:
        out["items"] = structural(node["items"], defs, defaults=defaults)
    if "enum" in out and "type" not in out:
        out["type"] = "string" if all(isinstance(v, str) for v in out["enum"]) else "integer"
    return dict(sorted(out.items(), key=lambda item: _KEY_ORDER.get(item[0], 2)))


# Reading order of a schema node in the YAML: what it is first, its children last.
_KEY_ORDER = {"type": 0, "description": 1, "properties": 3, "additionalProperties": 3, "items": 3}


def model_schema(model: type[BaseModel], *, defaults: bool) -> JsonSchema:
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return structural(raw, raw.get("$defs", {}), defaults=defaults)


def _metadata(kind: Kind) -> JsonSchema:
    """Name rules, in the one place a CRD may restrict metadata (plain schema, no CEL: the
    API server prices a CEL rule on an unbounded string out of its budget). Nothing else:
    the API server refuses even a description of `metadata` itself."""
    return {
        "type": "object",
        "properties": {
            "name": {
                "type": "string",
                "description": f"A DNS label of at most {kind.name_max} characters: "
                "children take the name as it is.",
                "maxLength": kind.name_max,
                # A DNS label: children such as the Service take the name as it is.
                "pattern": DNS_LABEL.whole,
            }
        },
    }


def crd(kind: Kind) -> dict[str, Any]:
    """The CustomResourceDefinition of one kind."""
    schema: JsonSchema = {
        "type": "object",
        "description": kind.description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string", "description": "APIVersion of this object."},
            "kind": {"type": "string", "description": "Kind of this object."},
            "metadata": _metadata(kind),
            "spec": model_schema(kind.spec, defaults=True),
            "status": model_schema(kind.status, defaults=False),
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": kind.crd_name,
            "labels": {"app.kubernetes.io/name": "playout", "app.kubernetes.io/part-of": "playout"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.kind.lower(),
                "shortNames": [kind.short_name],
                "categories": ["playout"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": list(kind.columns),
                }
            ],
        },
    }


class _Dumper(yaml.SafeDumper):
    """Writes shared sub-trees out in full instead of as YAML anchors and aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(document: dict[str, Any]) -> str:
    """YAML as checked in under crds/: stable key order, no line wrapping."""
    header = "# Generated by `playout crds` from operator/playout/api; do not edit.\n"
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=1000, allow_unicode=True)
    return header + body


def crd_files() -> dict[str, str]:
    """File name -> content, for every CRD."""
    return {f"{kind.crd_name}.yaml": render(crd(kind)) for kind in KINDS}


def render_chart_template(document: dict[str, Any]) -> str:
    """The CRD as a template of the Helm chart (charts/playout/templates/crds): rendered
    only with `crds.enabled`, its metadata (labels, the `keep` policy) from the chart.
    Templates rather than the chart's crds/ folder, because Helm never upgrades those."""
    body = yaml.dump(
        {"spec": document["spec"]}, Dumper=_Dumper, sort_keys=False, width=1000, allow_unicode=True
    )
    if "{{" in body or "}}" in body:
        raise ValueError(f"{document['metadata']['name']}: braces would be read as Helm template")
    return (
        "{{- /* Generated by `playout crds --chart` from operator/playout/api; do not edit. */}}\n"
        "{{- if .Values.crds.enabled }}\n"
        f"apiVersion: {document['apiVersion']}\n"
        f"kind: {document['kind']}\n"
        "metadata:\n"
        f"  name: {document['metadata']['name']}\n"
        '  {{- include "playout.crdMetadata" . | nindent 2 }}\n'
        f"{body}"
        "{{- end }}\n"
    )


def chart_crd_files() -> dict[str, str]:
    """File name -> content, for every CRD as a chart template."""
    return {f"{kind.crd_name}.yaml": render_chart_template(crd(kind)) for kind in KINDS}
