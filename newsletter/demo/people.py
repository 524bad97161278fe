"""Demo subscribers: plausible names at reserved example domains, always the same ones.

The addresses use `example.com`, `example.org` and `example.net` (RFC 2606), so even a demo
pointed at a real SMTP relay by mistake addresses nobody. The list is generated from a fixed
seed: two demo runs are comparable, and a person in the outbox can be found again.
"""

from __future__ import annotations

import csv
import io
import random
import unicodedata

FIRST = (
    "Amara",
    "Ana",
    "Anders",
    "Aiko",
    "Beatriz",
    "Bilal",
    "Carmen",
    "Chen",
    "Dagny",
    "Dmitri",
    "Efua",
    "Elif",
    "Emeka",
    "Fatima",
    "Felix",
    "Grace",
    "Hamid",
    "Hana",
    "Ines",
    "Ivan",
    "Jamal",
    "Jonas",
    "Julia",
    "Kai",
    "Kamala",
    "Kofi",
    "Lars",
    "Leila",
    "Lucia",
    "Malik",
    "Maren",
    "Mateo",
    "Mei",
    "Mira",
    "Nadia",
    "Niamh",
    "Noah",
    "Olu",
    "Omar",
    "Paula",
    "Priya",
    "Rafael",
    "Rosa",
    "Sami",
    "Sanjay",
    "Sofia",
    "Tariq",
    "Thandiwe",
    "Tomasz",
    "Ursula",
    "Valentina",
    "Wen",
    "Yara",
    "Yusuf",
    "Zainab",
    "Zoltan",
)
LAST = (
    "Abebe",
    "Andersson",
    "Bianchi",
    "Brennan",
    "Castillo",
    "Chowdhury",
    "Dubois",
    "Eriksen",
    "Fernandes",
    "Fischer",
    "Gallagher",
    "Haddad",
    "Hoffmann",
    "Ibrahim",
    "Ito",
    "Jansen",
    "Kaur",
    "Kowalski",
    "Larsen",
    "Lindqvist",
    "Mbeki",
    "Moreau",
    "Nakamura",
    "Novak",
    "Nwosu",
    "Okafor",
    "Olsen",
    "Park",
    "Petrov",
    "Quispe",
    "Rahman",
    "Rossi",
    "Santos",
    "Schneider",
    "Silva",
    "Singh",
    "Sørensen",
    "Tanaka",
    "Torres",
    "Varga",
    "Wagner",
    "Weiss",
    "Xu",
    "Yilmaz",
    "Zhang",
    "Züger",
)
DOMAINS = ("example.com", "example.org", "example.net")


def ascii_local(text: str) -> str:
    """`Sørensen` → `sorensen`: addresses stay ASCII, names keep their letters."""
    text = text.replace("ø", "o").replace("Ø", "O")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


def people(count: int, seed: int = 2026) -> list[tuple[str, str]]:
    """`count` distinct (email, name) pairs."""
    rng = random.Random(seed)
    out = []
    for n in range(1, count + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = f"{ascii_local(first)}.{ascii_local(last)}{n}"
        out.append((f"{local}@{DOMAINS[n % len(DOMAINS)]}", f"{first} {last}"))
    return out


def people_csv(count: int, seed: int = 2026) -> str:
    """The same people as the CSV `newsletter subscribers import` reads (`email,name`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["email", "name"])
    writer.writerows(people(count, seed))
    return buffer.getvalue()
