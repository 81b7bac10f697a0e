#!/usr/bin/env python3
"""Read a certificate page's JSON-LD with a JSON-LD processor (pyld) and print what it says, as JSON.

Usage: jsonld_check.py < page.html
The page's <script type="application/ld+json"> is expanded by pyld (its context is inline, so nothing is
fetched) and the schema.org facts are printed: type, identifier, status, venue, place, dates, issuer,
criteria. Exit 1 if the page has no JSON-LD or it does not expand to one schema.org Certification.
"""
import json
import re
import sys

from pyld import jsonld

S = "https://schema.org/"


def one(node, prop):
    values = node.get(S + prop, [])
    if len(values) != 1:
        raise SystemExit(f"{prop}: {len(values)} values")
    v = values[0]
    return v.get("@value", v.get("@id", v))


def main():
    html = sys.stdin.read()
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    if len(blocks) != 1:
        raise SystemExit(f"{len(blocks)} JSON-LD blocks on the page")
    expanded = jsonld.expand(json.loads(blocks[0]))
    if len(expanded) != 1 or expanded[0].get("@type") != [S + "Certification"]:
        raise SystemExit(f"not one schema.org Certification: {expanded}")
    cert = expanded[0]
    about = one(cert, "about")
    address = one(about, "address")
    print(json.dumps({
        "id": cert["@id"],
        "identifier": one(cert, "certificationIdentification"),
        "status": one(cert, "certificationStatus"),
        "rating": one(one(cert, "certificationRating"), "ratingValue"),
        "issuer": one(one(cert, "issuedBy"), "name"),
        "valid_from": one(cert, "validFrom"),
        "expires": one(cert, "expires"),
        "criteria": one(cert, "isBasedOn"),
        "venue_types": sorted(about.get("@type", [])),
        "venue": one(about, "name"),
        "locality": one(address, "addressLocality"),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
