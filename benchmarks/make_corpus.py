"""A reproducible corpus of generated news-like articles for the benchmarks (never committed).

Articles are built from templates filled with seeded random places, people, organisations and
figures, 150-900 words each, dated through 2025, written as one JSONL file that
``assistant ingest`` reads as it is (``title``, ``date``, ``url``, ``text``). The same seed and
count always give the same bytes.

    python benchmarks/make_corpus.py --articles 1000            # -> benchmarks/data/corpus-1000.jsonl
    python benchmarks/make_corpus.py --articles 10000 --seed 7 --out /tmp/news.jsonl
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

PLACES = [
    "Carrow", "Dunmore", "Ashcombe", "Brannholm", "Lindvik", "Port Essel", "Harwick", "Valmora",
    "Kestrel Bay", "Oxley", "Marren", "Tollbridge", "Greystone", "Northam", "Selby Cross",
    "Wrenfield", "Aldmoor", "Castlereagh", "Fenwick", "Rosslyn", "Eastmere", "Quarry Hill",
]
FIRST = [
    "Mirela", "Bertil", "Anika", "Tomas", "Sanne", "Oskar", "Leila", "Jonah", "Priya", "Rafael",
    "Ingrid", "Malik", "Chloe", "Dmitri", "Hana", "Everett", "Noor", "Felix", "Ada", "Kwame",
]
LAST = [
    "Tosk", "Hahn", "Lentz", "Okafor", "Moreau", "Varga", "Lindqvist", "Reyes", "Nakamura",
    "Brandt", "Osei", "Halvorsen", "Castell", "Petrov", "Amari", "Whitlock", "Sato", "Keane",
]
ROLES = [
    "the mayor", "the finance minister", "the company's chief executive", "a union spokesperson",
    "the health board chair", "an independent analyst", "the opposition leader",
    "the head of the regional water authority", "the club's sporting director",
    "a senior police officer", "the transport commissioner", "a local councillor",
]
ORGS = [
    "Carrow Water", "Lumetra", "Ashcombe Athletic", "Northam Rail", "the Regional Health Board",
    "Valmora Energy", "the Harbour Authority", "Kestrel Mining", "the City Council",
    "Brannholm Steel", "Essel Airways", "the Teachers' Union", "Oxley Bank", "Marren Telecom",
]
TOPICS = {
    "economy": ["quarterly results", "interest rates", "inflation", "wage talks", "the budget",
                "factory output", "export orders", "a takeover bid", "job cuts", "a new plant"],
    "environment": ["the drought", "reservoir levels", "a wildfire", "flood defences",
                    "air quality", "a hosepipe ban", "river pollution", "a heatwave"],
    "politics": ["the coalition talks", "a no-confidence vote", "the election campaign",
                 "a planning dispute", "the housing bill", "local elections", "a referendum"],
    "transport": ["the rail strike", "a new tram line", "airport expansion", "road closures",
                  "bus fares", "the bridge repairs", "ferry cancellations"],
    "sport": ["a transfer fee", "the cup final", "a new stadium", "the coach's contract",
              "the league title race", "a doping inquiry", "ticket prices"],
    "health": ["hospital waiting lists", "a vaccine programme", "nurse shortages",
               "a new clinic", "an outbreak of measles", "mental health funding"],
}
VERBS = ["announced", "confirmed", "rejected", "delayed", "approved", "warned about",
         "proposed", "criticised", "welcomed", "questioned"]
UNITS = ["per cent", "million crowns", "jobs", "homes", "passengers a day", "millimetres",
         "hectares", "beds", "kilometres", "billion crowns"]

TEMPLATES = [
    "{org} {verb} plans on {topic} on {weekday}, saying the decision would affect about {n} {unit}.",
    "\"{quote}\" said {person}, {role}.",
    "According to figures published by {org}, {topic} rose by {pct} per cent in the year to {month}.",
    "The move follows weeks of pressure from residents of {place}, where {topic} has dominated local debate.",
    "{person}, {role}, said the figures were \"{adj}\" and called for an independent review.",
    "Critics argue that {topic} has been mishandled since {year}, when {org} first raised concerns.",
    "In {place}, officials expect the changes to take effect from {month} {day}.",
    "It is the first time since {year} that {org} has {verb} a measure of this kind.",
    "{org} said it would review the situation every {period} and publish its findings.",
    "Analysts at {org2} estimated the cost at {n} {unit}, well above earlier forecasts.",
    "Speaking in {place} on {weekday}, {person} described {topic} as {adj}.",
    "A spokesperson for {org} declined to comment on {topic} but said talks would continue.",
    "The decision was {verb2} by {n2} votes to {n3} after a debate that lasted {hours} hours.",
    "Residents who spoke to reporters in {place} said {topic} had changed daily life.",
    "{person} added that {org} had set aside {n} {unit} to deal with {topic}.",
]
QUOTES = [
    "We are not in crisis, but we are on the road to one if we do nothing",
    "This is a fair settlement for everyone involved",
    "Nobody should pretend that this will be easy",
    "The numbers speak for themselves",
    "We were given no warning and no explanation",
    "Every week of delay costs us money we do not have",
    "This is the start of a process, not the end of one",
    "We will keep listening to the people affected",
]
ADJ = ["deeply worrying", "encouraging", "disappointing", "unprecedented", "manageable",
       "a serious setback", "long overdue", "better than expected"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def _sentence(rnd: random.Random, section: str, topic: str, cast: list[str]) -> str:
    tpl = rnd.choice(TEMPLATES)
    return tpl.format(
        org=rnd.choice(ORGS), org2=rnd.choice(ORGS), verb=rnd.choice(VERBS),
        verb2=rnd.choice(["approved", "rejected", "passed", "blocked"]),
        topic=topic if rnd.random() < 0.6 else rnd.choice(TOPICS[section]),
        weekday=rnd.choice(WEEKDAYS), n=f"{rnd.randint(2, 900):,}", unit=rnd.choice(UNITS),
        quote=rnd.choice(QUOTES), person=rnd.choice(cast), role=rnd.choice(ROLES),
        pct=rnd.randint(1, 40), month=rnd.choice(MONTHS), place=rnd.choice(PLACES),
        adj=rnd.choice(ADJ), year=rnd.randint(1995, 2024), day=rnd.randint(1, 28),
        period=rnd.choice(["week", "fortnight", "month", "quarter"]), n2=rnd.randint(20, 60),
        n3=rnd.randint(5, 40), hours=rnd.randint(2, 11),
    )


def make_article(rnd: random.Random, index: int) -> dict:
    section = rnd.choice(sorted(TOPICS))
    topic = rnd.choice(TOPICS[section])
    place = rnd.choice(PLACES)
    cast = [f"{rnd.choice(FIRST)} {rnd.choice(LAST)}" for _ in range(rnd.randint(2, 4))]
    date = dt.date(2025, 1, 1) + dt.timedelta(days=rnd.randrange(365))
    target = rnd.randint(150, 900)  # words
    byline = f"By {cast[0]}, {place} {rnd.choice(['Post', 'Courier', 'Herald', 'Times'])}"
    lead = f"{place.upper()} — " + _sentence(rnd, section, topic, cast)
    paragraphs, words = [byline, lead], len(byline.split()) + len(lead.split())
    while words < target:
        para = " ".join(_sentence(rnd, section, topic, cast) for _ in range(rnd.randint(1, 4)))
        paragraphs.append(para)
        words += len(para.split())
    title = f"{place}: {rnd.choice(ORGS)} {rnd.choice(VERBS)} {topic}"
    slug = f"{index:06d}-{place.lower().replace(' ', '-')}-{section}"
    return {
        "title": title[0].upper() + title[1:], "date": date.isoformat(),
        "url": f"https://news.example/{section}/{date:%Y/%m/%d}/{slug}",
        "text": "\n\n".join(paragraphs),
    }


def make_corpus(n: int, seed: int = 2025) -> list[dict]:
    rnd = random.Random(seed)
    return [make_article(rnd, i) for i in range(n)]


def write_corpus(n: int, seed: int = 2025, out: Path | None = None) -> Path:
    """Write (or reuse, when already written with the same seed and size) the corpus file."""
    out = out or DATA / f"corpus-{n}-s{seed}.jsonl"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for article in make_corpus(n, seed):
            f.write(json.dumps(article, ensure_ascii=False) + "\n")
    tmp.replace(out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    path = write_corpus(args.articles, args.seed, args.out)
    print(path)


if __name__ == "__main__":
    main()
