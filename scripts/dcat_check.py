#!/usr/bin/env python3
"""Read the registry's DCAT-AP description (/data/catalog.jsonld, on stdin) with pyld and print its facts.

The context is inline, so nothing is fetched. Prints JSON: the catalog and dataset types, licence,
periodicity, temporal coverage, and per distribution its download URL, media type, size and SHA-256.
Exit 1 if it does not expand to one dcat:Catalog with one dcat:Dataset.
"""
import json
import sys

from pyld import jsonld

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
SPDX = "http://spdx.org/rdf/terms#"


def one(node, prop):
    values = node.get(prop, [])
    if len(values) != 1:
        raise SystemExit(f"{prop}: {len(values)} values")
    v = values[0]
    return v.get("@value", v.get("@id", v))


def node(parent, prop):
    values = parent.get(prop, [])
    if len(values) != 1 or not isinstance(values[0], dict):
        raise SystemExit(f"{prop}: not one node")
    return values[0]


def main():
    expanded = jsonld.expand(json.load(sys.stdin))
    if len(expanded) != 1 or expanded[0].get("@type") != [DCAT + "Catalog"]:
        raise SystemExit(f"not one dcat:Catalog: {expanded}")
    dataset = node(expanded[0], DCAT + "dataset")
    if dataset.get("@type") != [DCAT + "Dataset"]:
        raise SystemExit("no dcat:Dataset")
    temporal = node(dataset, DCT + "temporal")
    dists = []
    for d in dataset.get(DCAT + "distribution", []):
        checksum = node(d, SPDX + "checksum")
        dists.append({
            "download": one(d, DCAT + "downloadURL"),
            "media_type": one(d, DCAT + "mediaType"),
            "bytes": int(one(d, DCAT + "byteSize")),
            "sha256": one(checksum, SPDX + "checksumValue"),
            "algorithm": one(checksum, SPDX + "algorithm"),
        })
    print(json.dumps({
        "title": one(dataset, DCT + "title"),
        "license": one(dataset, DCT + "license"),
        "periodicity": one(dataset, DCT + "accrualPeriodicity"),
        "start": one(temporal, DCAT + "startDate"),
        "end": one(temporal, DCAT + "endDate"),
        "publisher": one(node(dataset, DCT + "publisher"), "http://xmlns.com/foaf/0.1/name"),
        "distributions": dists,
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
