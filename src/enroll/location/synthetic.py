"""Synthetic Texas premises in ERCOT's extract format, deterministic for a seed (pure): the
demo's locations, the tests' and the benchmark's (bench/search.py passes real ZIP codes).

Streets are made of common street words (one or two, a suffix, sometimes a directional);
each place gets its streets, each street its house numbers, and some addresses are
apartment buildings with units. ESI IDs carry the prefix of the place's TDSP.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

_WORD_TEXT = (
    "oak maple cedar elm pine willow pecan magnolia bluebonnet mesquite cypress hickory "
    "walnut juniper sycamore laurel aspen birch chestnut dogwood holly hawthorn redbud "
    "christian meadow prairie ridge valley river lake spring forest creek canyon summit "
    "sunset sunrise highland lakeview hillcrest fairview greenway parkview riverside "
    "washington lincoln jefferson madison jackson houston austin travis crockett bowie "
    "lamar sam rayburn king martin luther preston mockingbird belt line beltline royal "
    "forest lane midway marsh webb chapel hillcrest coit custer alma independence "
    "legacy frankford trinity brazos colorado pedernales guadalupe sabine nueces "
    "concho llano medina frio blanco rio grande pecos red wichita san jacinto "
    "bandera kerrville fredericksburg comal hays williamson bastrop caldwell "
    "windsor stratford oxford cambridge kensington chelsea hampton brighton dover "
    "augusta savannah charleston raleigh richmond lexington concord salem camden"
)
WORDS = _WORD_TEXT.split()
SUFFIXES = ("St", "Dr", "Ave", "Ln", "Rd", "Blvd", "Ct", "Way", "Pkwy", "Trl", "Cir", "Pl")
DIRECTIONALS = ("N", "S", "E", "W")
# (city, ZIP code, county, TDSP prefix): a few places of each TDSP.
PLACES = (
    ("DALLAS", "75201", "DALLAS", "1044372"),
    ("DALLAS", "75204", "DALLAS", "1044372"),
    ("FORT WORTH", "76102", "TARRANT", "1044372"),
    ("PLANO", "75074", "COLLIN", "1017699"),
    ("HOUSTON", "77002", "HARRIS", "1008901"),
    ("HOUSTON", "77019", "HARRIS", "1008901"),
    ("PASADENA", "77506", "HARRIS", "1008901"),
    ("CORPUS CHRISTI", "78401", "NUECES", "1003278"),
    ("ABILENE", "79601", "TAYLOR", "1020404"),
    ("SAN ANGELO", "76903", "TOM GREEN", "1020404"),
)
PREFIXES = ("1044372", "1017699", "1008901", "1003278", "1020404")


@dataclass(frozen=True, slots=True)
class Premise:
    esi_id: str
    house: str
    predirectional: str
    name: str  # the street's words, title case
    suffix: str
    unit: str
    city: str
    zip_code: str
    county: str

    @property
    def street_one(self) -> str:
        parts = [self.house, self.predirectional, self.name, self.suffix]
        line = " ".join(p for p in parts if p)
        return f"{line} APT {self.unit}" if self.unit else line

    def ercot_row(self) -> list[str]:
        return [
            self.esi_id,
            self.street_one.upper(),
            "",
            self.city,
            "TX",
            self.zip_code,
            self.county,
            "",
            "A01",
            "Active",
            "Residential" if not self.unit else "Small Non-Residential",
            "North",
            "ST01",
            "Station",
            "Y",
            "N",
            "RES",
            "Y",
            "Y",
            "N",
        ]


def _street(rng: random.Random, rare: Sequence[str]) -> tuple[str, str, str]:
    words = rng.sample(WORDS, 2 if rng.random() < 0.35 else 1)
    if rare and rng.random() < RARE_SHARE:
        words[0] = rng.choice(rare)
    pre = rng.choice(DIRECTIONALS) if rng.random() < 0.15 else ""
    return pre, " ".join(w.title() for w in words), rng.choice(SUFFIXES)


# With ``rare`` words, the share of streets named after one of them: real street names are a
# few very common ones (Oak, Main, Park) and a long tail.
RARE_SHARE = 0.7


def premises(
    count: int,
    *,
    seed: int = 15,
    places: Sequence[tuple[str, str, str, str]] = PLACES,
    houses_per_street: int = 40,
    rare: Sequence[str] = (),
) -> Iterator[Premise]:
    """``count`` premises over ``places``, in a fixed order for a given seed. Streets are
    named from the common ``WORDS``, and ``RARE_SHARE`` of them from ``rare`` when given."""
    rng = random.Random(seed)
    made = 0
    serial = 0
    while made < count:
        city, zip_code, county, prefix = places[made // houses_per_street % len(places)]
        pre, name, suffix = _street(rng, rare)
        base = rng.randint(1, 99) * 100
        for k in range(houses_per_street):
            if made >= count:
                return
            house = str(base + 2 * k + rng.randint(0, 1))
            units = rng.randint(2, 6) if rng.random() < 0.05 else 0
            for unit in [str(u + 101) for u in range(units)] or [""]:
                if made >= count:
                    return
                serial += 1
                esi = f"{prefix}{serial:010d}"
                yield Premise(esi, house, pre, name, suffix, unit, city, zip_code, county)
                made += 1


def ercot_file(rows: Sequence[Premise]) -> bytes:
    """The premises as an extract file: no header, quoted where needed."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for p in rows:
        writer.writerow(p.ercot_row())
    return out.getvalue().encode()


# --- queries with known answers (tests, bench/search.py) ------------------------------------

FULL_SUFFIX = {"St": "Street", "Dr": "Drive", "Ave": "Avenue", "Ln": "Lane", "Rd": "Road"}
FULL_DIRECTIONAL = {"N": "North", "S": "South", "E": "East", "W": "West"}
UNIT_FORMS = ("apt {}", "#{}", "unit {}", "# {}", "{}", "Apt. {}", "ste {}")


def typo(word: str, rng: random.Random) -> str:
    """One edit of ``word`` (4+ letters): a letter replaced, dropped, doubled or swapped with
    the next, at any position but the first."""
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        letter = rng.choice([c for c in "abcdefghijklmnopqrstuvwxyz" if c != word[i]])
        return word[:i] + letter + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _with_typo(name: str, rng: random.Random) -> str:
    words = name.lower().split()
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    if len(words[longest]) >= 4:
        words[longest] = typo(words[longest], rng)
    return " ".join(words)


def queries(p: Premise, rng: random.Random) -> dict[str, str]:
    """What a customer might type for premise ``p``, by class."""
    name, pre = p.name.lower(), p.predirectional
    swapped = FULL_SUFFIX.get(p.suffix) or rng.choice(["Street", "Avenue", ""])
    k = max(3, len(name) // 2)
    out = {
        "one_typo": f"{p.house} {pre} {_with_typo(name, rng)} {p.suffix}",
        "typed_prefix": f"{p.house} {name[:k]}",
        "typo_city": f"{p.house} {_with_typo(name, rng)} {p.city.title()}",
        "suffix_directional": (
            f"{p.house} {FULL_DIRECTIONAL.get(pre, '')} {p.name.upper()} {swapped}"
        ),
        "esi_id": p.esi_id,
    }
    if p.unit:
        form = rng.choice(UNIT_FORMS).format(p.unit)
        out["unit"] = f"{p.house} {pre} {name} {p.suffix} {form}"
    return {cls: " ".join(q.split()) for cls, q in out.items()}
