"""One person per human across sources: the directory and name resolution.

A person is seeded from ``people.yaml`` (id, name, e-mails, aliases, GitHub login, Jira name) or
observed in the sources (an e-mail sender, a ticket assignee, a transcript speaker). Every
spelling seen is an alias. Names that match nobody become observed people of their own: they
are kept, never dropped. No Dagster here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ROLE_SUFFIX = re.compile(r"\s*[\(\[][^)\]]*[\)\]]\s*$")  # "Priya Nair (PM)" / "Ann [guest]"


class DirectoryError(ValueError):
    """``people.yaml`` is not in the expected shape: the message names the entry and field."""


def alias_key(text: str) -> str:
    """The form spellings are compared in: case-folded, accents removed, single spaces."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = re.sub(r"[\"'`]", "", folded)
    return " ".join(re.sub(r"[._\-]+", " ", folded).split()) if "@" not in folded else folded.strip()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", ".", alias_key(text)).strip(".") or "unknown"


@dataclass
class Person:
    person_id: str
    display_name: str
    emails: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    github_login: str | None = None
    jira_name: str | None = None
    origin: str = "directory"  # directory | observed


@dataclass
class PersonDirectory:
    people: dict[str, Person] = field(default_factory=dict)
    _by_key: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # key → (id, kind, spelling)
    _first_names: dict[str, set[str]] = field(default_factory=dict)

    # -- building -------------------------------------------------------------------------
    def add(self, person: Person) -> None:
        self.people[person.person_id] = person
        self._index(person.display_name, person.person_id, "name")
        first = alias_key(person.display_name).split(" ")[0]
        if first and " " in alias_key(person.display_name):
            self._first_names.setdefault(first, set()).add(person.person_id)
        for email in person.emails:
            self._index(email, person.person_id, "email")
            self._index(email.split("@")[0], person.person_id, "alias", weak=True)
        for alias in person.aliases:
            self._index(alias, person.person_id, "alias")
        if person.github_login:
            self._index(person.github_login, person.person_id, "github")
            self._index("@" + person.github_login, person.person_id, "github")
        if person.jira_name:
            self._index(person.jira_name, person.person_id, "jira")

    def _index(self, text: str, person_id: str, kind: str, *, weak: bool = False) -> None:
        key = alias_key(text)
        if not key:
            return
        if weak and key in self._by_key:
            return
        self._by_key.setdefault(key, (person_id, kind, text.strip()))
        person = self.people[person_id]
        if kind != "email" and text != person.display_name and text not in person.aliases:
            if kind == "alias" and not weak:
                person.aliases.append(text)

    # -- resolving ------------------------------------------------------------------------
    def resolve(self, text: str | None) -> str | None:
        """The person id ``text`` names (an e-mail, a name, a login, a first name), or None."""
        if not text or not text.strip():
            return None
        candidates = [text.strip()]
        bare = _ROLE_SUFFIX.sub("", text).strip()
        if bare and bare != candidates[0]:
            candidates.append(bare)
        angle = re.search(r"<([^>]+@[^>]+)>", text)
        if angle:
            candidates.insert(0, angle.group(1))
        for candidate in candidates:
            found = self._by_key.get(alias_key(candidate))
            if found:
                return found[0]
        key = alias_key(bare or text)
        owners = self._first_names.get(key)
        if owners and len(owners) == 1:  # a first name alone, if only one person has it
            return next(iter(owners))
        return self._fuzzy(key)

    def _fuzzy(self, key: str) -> str | None:
        if len(key) < 5 or " " not in key:
            return None
        from rapidfuzz import fuzz, process

        names = {alias_key(p.display_name): pid for pid, p in self.people.items()}
        match = process.extractOne(key, list(names), scorer=fuzz.WRatio, score_cutoff=92)
        return names[match[0]] if match else None

    def observe(self, name: str | None, email: str | None = None, *, kind: str = "name") -> str | None:
        """Resolve a sighting, creating an observed person when it matches nobody."""
        email = email.strip().lower() if email and _EMAIL.match(email.strip()) else None
        person_id = (self.resolve(email) if email else None) or self.resolve(name)
        if person_id:
            person = self.people[person_id]
            if email and email not in person.emails:
                person.emails.append(email)
                self._index(email, person_id, "email")
            if name and alias_key(name) not in self._by_key:
                self._index(name, person_id, "alias")
            return person_id
        if not (name and name.strip()) and not email:
            return None
        display = (name or "").strip() or (email or "").split("@")[0]
        person_id = self._unique_id(email or slug(display))
        self.add(Person(person_id, display, emails=[email] if email else [],
                        github_login=name if kind == "github" else None,
                        jira_name=name if kind == "jira" else None, origin="observed"))
        return person_id

    def _unique_id(self, base: str) -> str:
        candidate, n = base, 2
        while candidate in self.people:
            candidate, n = f"{base}.{n}", n + 1
        return candidate

    def alias_rows(self) -> list[dict[str, Any]]:
        return [
            {"alias_key": key, "alias": spelling, "person_id": pid, "alias_kind": kind}
            for key, (pid, kind, spelling) in sorted(self._by_key.items())
        ]


def load_directory(path: Path | None) -> PersonDirectory:
    """The directory seeded from ``people.yaml`` (missing file → empty directory)."""
    directory = PersonDirectory()
    if path is None or not path.is_file():
        return directory
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DirectoryError(f"{path}: not valid YAML: {exc}") from None
    for person in parse_directory(data, str(path)):
        directory.add(person)
    return directory


def parse_directory(data: Any, source: str) -> Iterable[Person]:
    entries = data.get("people") if isinstance(data, dict) else data
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise DirectoryError(f"{source}: expected a 'people' list of entries")
    seen: set[str] = set()
    people = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not str(entry.get("name") or "").strip():
            raise DirectoryError(f"{source}: entry {number} needs at least a 'name'")
        name = str(entry["name"]).strip()
        person_id = str(entry.get("id") or slug(name)).strip()
        if person_id in seen:
            raise DirectoryError(f"{source}: entry {number}: id {person_id!r} is used twice")
        seen.add(person_id)

        def as_list(value: Any, field_name: str) -> list[str]:
            if value is None:
                return []
            if isinstance(value, str):
                return [value]
            if isinstance(value, list):
                return [str(v).strip() for v in value if str(v).strip()]
            raise DirectoryError(f"{source}: entry {number}: '{field_name}' must be a list")

        people.append(Person(
            person_id=person_id,
            display_name=name,
            emails=[e.lower() for e in as_list(entry.get("emails") or entry.get("email"), "emails")],
            aliases=as_list(entry.get("aliases"), "aliases"),
            github_login=str(entry["github"]).strip() if entry.get("github") else None,
            jira_name=str(entry["jira"]).strip() if entry.get("jira") else None,
        ))
    return people


def directory_from_rows(rows: Iterable[dict[str, Any]]) -> PersonDirectory:
    """The directory as the ``people`` table stores it (JSON text lists)."""
    import json

    directory = PersonDirectory()
    for row in rows:
        directory.add(Person(
            person_id=row["person_id"],
            display_name=row["display_name"],
            emails=list(json.loads(row["emails"] or "[]")),
            aliases=list(json.loads(row["aliases"] or "[]")),
            github_login=row.get("github_login"),
            jira_name=row.get("jira_name"),
            origin=row.get("origin") or "directory",
        ))
    return directory
