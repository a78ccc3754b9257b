"""The XMLTV DTD from Debian's packages, which the guide tests validate against."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lxml import etree

# Where Debian's packages put the DTD: libxmltv-perl (the smallest install) and xmltv-util.
DTD_PACKAGE = "libxmltv-perl"
DTD_PATHS = [
    *Path("/usr/share/sgml/xmltv/dtd").glob("*/xmltv.dtd"),
    Path("/usr/share/xmltv/xmltv.dtd"),
]


def xmltv_dtd() -> etree.DTD:
    """The DTD, or a failure that says what to install (a skip only when asked for)."""
    configured = os.environ.get("PLAYOUT_XMLTV_DTD")
    found = [Path(configured)] if configured else [p for p in DTD_PATHS if p.is_file()]
    if not found:
        if os.environ.get("PLAYOUT_ALLOW_NO_DTD") == "1":
            pytest.skip("no XMLTV DTD: not validated (PLAYOUT_ALLOW_NO_DTD=1)")
        pytest.fail(
            f"The XMLTV DTD is needed: `make guide-deps` (Debian/Ubuntu: apt-get install "
            f"--no-install-recommends {DTD_PACKAGE}), or PLAYOUT_XMLTV_DTD=<path to xmltv.dtd>; "
            "PLAYOUT_ALLOW_NO_DTD=1 runs without it"
        )
    return etree.DTD(str(found[0]))


def parse(document: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(document.encode(), parser)


def assert_valid(document: str, dtd: etree.DTD) -> None:
    assert dtd.validate(parse(document)), str(dtd.error_log.filter_from_errors())
