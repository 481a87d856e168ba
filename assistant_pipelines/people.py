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
_HONORIFIC = re.compile(r"^(?:mr|mrs|ms|mx|dr|prof)\.?\s+(?=\S+\s)", re.IGNORECASE)  # "Dr Sam Lee"
_ROLE_SUFFIX = re.compile(r"\s*[\(\[][^)\]]*[\)\]]\s*$")  # "Priya Nair (PM)" / "Ann [guest]"


# Mailboxes nobody reads: automated senders ("noreply@status.example") and mail-system addresses.
_UNATTENDED = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|notifications?|mailer[-_.]?daemon|postmaster|bounces?)(?:[+-][^@]*)?@",
    re.IGNORECASE)


def reply_address(emails: Iterable[str]) -> str | None:
    """The first of ``emails`` a person reads: not a no-reply or mail-system mailbox. None if
    there is none (a digest to "noreply@…" would reach nobody, or bounce)."""
    return next((e for e in emails if not _UNATTENDED.match(e.strip())), None)


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
    # Keys only guessed (an e-mail's local part): any real name, alias or login replaces them,
    # and they never settle a first name two people share.
    _weak_keys: set[str] = field(default_factory=set)

    # -- building -------------------------------------------------------------------------
    def add(self, person: Person) -> None:
        self.people[person.person_id] = person
        self._index(person.display_name, person.person_id, "name")
        bare = _ROLE_SUFFIX.sub("", person.display_name).strip()
        if bare and bare != person.display_name:  # "Priya Nair (PM)" is also "Priya Nair"
            self._index(bare, person.person_id, "name")
        name_key = alias_key(bare or person.display_name)
        first = name_key.split(" ")[0]
        if first and " " in name_key:
            self._first_names.setdefault(first, set()).add(person.person_id)
        for email in person.emails:
            self._index(email, person.person_id, "email")
            self._index(email.split("@")[0], person.person_id, "alias", weak=True)
        for alias in person.aliases:
            self._index(alias, person.person_id, "alias")
        if person.github_login:
            self._index(person.github_login, person.person_id, "github")
            self._index("@" + person.github_login.lstrip("@"), person.person_id, "github")
        if person.jira_name:
            self._index(person.jira_name, person.person_id, "jira")

    def _index(self, text: str, person_id: str, kind: str, *, weak: bool = False) -> None:
        key = alias_key(text)
        if not key:
            return
        if weak:
            if key in self._by_key:
                return
            self._weak_keys.add(key)
        elif key in self._weak_keys:
            del self._by_key[key]  # a real spelling beats a guessed one
            self._weak_keys.discard(key)
        self._by_key.setdefault(key, (person_id, kind, text.strip()))
        person = self.people[person_id]
        if kind == "alias" and not weak and text != person.display_name and text not in person.aliases:
            person.aliases.append(text)

    # -- resolving ------------------------------------------------------------------------
    def resolve(self, text: str | None) -> str | None:
        """The person id ``text`` names (an e-mail, a name, an alias, a login, "@login", a
        "Name (Role)", "Last, First", a first name only one person has), or None. Never a
        guess between two people: an ambiguous first name or a near-spelling that fits two
        names resolves to None."""
        return self._resolve(text, exact=False)

    def _resolve(self, text: str | None, *, exact: bool) -> str | None:
        """``exact``: only a spelling on record (no first name alone, no near-spelling)."""
        if not text or not text.strip():
            return None
        candidates = [text.strip()]
        bare = _HONORIFIC.sub("", _ROLE_SUFFIX.sub("", text).strip()).strip()
        if bare and bare != candidates[0]:
            candidates.append(bare)
        angle = re.search(r"<([^>]+@[^>]+)>", text)
        if angle:
            candidates.insert(0, angle.group(1))
        reversed_name = re.fullmatch(r"([^,@]+),\s*([^,@]+)", bare or text.strip())
        if reversed_name:  # "Nair, Priya" as some trackers export names
            candidates.append(f"{reversed_name[2]} {reversed_name[1]}")
        for candidate in candidates:
            key = alias_key(candidate)
            found = self._by_key.get(key)
            if found and key in self._weak_keys and self._first_names.get(key, {found[0]}) != {found[0]}:
                continue  # "sam" is sam@'s mailbox, but also the first name of another Sam
            if found and self._stranger_first_name(key, found):
                continue
            if found:
                return found[0]
        if exact:
            return None
        key = alias_key(bare or text)
        owners = set(self._first_names.get(key, ()))
        if owners and key in self._weak_keys:
            owners.add(self._by_key[key][0])  # "sam" may also be Samuel's mailbox
        if len(owners) == 1:  # a first name alone, if only one person has it
            return next(iter(owners))
        return self._fuzzy(key)

    def _stranger_first_name(self, key: str, found: tuple[str, str, str]) -> bool:
        """Whether ``key`` is the one-word name of someone only seen by e-mail ("Priya
        <priya@customer.example>") that is also the first name of a fuller-named person: the
        bare name then means that person, and the stranger stays reachable by address."""
        person = self.people[found[0]]
        return (found[1] == "name" and " " not in key and person.origin == "observed" and bool(person.emails)
                and bool(self._first_names.get(key, set()) - {found[0]}))

    def _fuzzy(self, key: str) -> str | None:
        """A near-spelling of one full name: the same first name and a surname one typo away
        ("Priya Nairr"), or the same words in another order ("Nair Priya"). Different first
        names are different people ("Dana Smith" is not "Dan Smith"), and a spelling close
        to two names matches neither."""
        tokens = key.split()
        if len(key) < 5 or len(tokens) < 2:
            return None
        from rapidfuzz import fuzz

        matches: set[str] = set()
        for person_id, person in self.people.items():
            name = alias_key(_ROLE_SUFFIX.sub("", person.display_name).strip() or person.display_name).split()
            if len(name) < 2:
                continue
            if sorted(name) == sorted(tokens):
                matches.add(person_id)
            elif len(name) == len(tokens) and name[0] == tokens[0]:
                rest, known = " ".join(tokens[1:]), " ".join(name[1:])
                if len(known) >= 4 and rest[:1] == known[:1] and fuzz.ratio(rest, known) >= 85:
                    matches.add(person_id)
        return next(iter(matches)) if len(matches) == 1 else None

    def observe(self, name: str | None, email: str | None = None, *, kind: str = "name") -> str | None:
        """Resolve a sighting, creating an observed person when it matches nobody.

        A sighting with an e-mail address nobody has joins a known person only by a name on
        record: "Sam <sam@customer.example>" is not the team's only Sam just because the first
        name matches, and their address must not become that person's."""
        email = email.strip().lower() if email and _EMAIL.match(email.strip()) else None
        if email:
            person_id = self.resolve(email) or self._resolve(name, exact=True)
        else:
            person_id = self.resolve(name)
        if person_id:
            person = self.people[person_id]
            if email and email not in person.emails:
                person.emails.append(email)
                self._index(email, person_id, "email")
            if name and alias_key(name) not in self._by_key:
                owners = self._first_names.get(alias_key(name), {person_id})
                if owners == {person_id}:  # a first name others share stays unbound
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
    except OSError as exc:
        raise DirectoryError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    for person in parse_directory(data, str(path)):
        directory.add(person)
    return directory


_FIELDS = ("id", "name", "email", "emails", "aliases", "github", "jira")


def parse_directory(data: Any, source: str) -> Iterable[Person]:
    """People from the parsed ``people.yaml`` (``{"people": [...]}`` or the bare list).

    Every problem raises :class:`DirectoryError` naming the entry (1-based) and the field: a
    directory that silently drops an e-mail or an alias would merge or split people later."""
    entries = data.get("people") if isinstance(data, dict) else data
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise DirectoryError(f"{source}: expected a 'people' list of entries, found {_kind(entries)}")
    ids: dict[str, int] = {}
    emails_seen: dict[str, int] = {}
    people = []
    for number, entry in enumerate(entries, start=1):
        where = f"{source}: entry {number}"
        if not isinstance(entry, dict):
            raise DirectoryError(f"{where}: expected a mapping with at least a 'name', found {_kind(entry)}")
        unknown = sorted(str(k) for k in entry if k not in _FIELDS)
        if unknown:
            raise DirectoryError(f"{where}: unknown field {unknown[0]!r} (fields: {', '.join(_FIELDS)})")

        name = _text(entry, "name", where)
        if name is None:
            raise DirectoryError(f"{where}: 'name' is missing or empty")
        person_id = _text(entry, "id", where) or slug(name)
        if person_id in ids:
            raise DirectoryError(f"{where}: 'id' {person_id!r} is already used by entry {ids[person_id]}")
        ids[person_id] = number
        emails = [e.lower() for e in _text_list(entry, "emails", where) + _text_list(entry, "email", where)]
        for email in emails:
            if not _EMAIL.match(email):
                raise DirectoryError(f"{where}: 'emails' has {email!r}, which is not an e-mail address")
            if emails_seen.get(email, number) != number:
                raise DirectoryError(f"{where}: 'emails' has {email!r}, already entry {emails_seen[email]}'s")
            emails_seen[email] = number
        people.append(Person(
            person_id=person_id,
            display_name=name,
            emails=list(dict.fromkeys(emails)),
            aliases=_text_list(entry, "aliases", where),
            github_login=(_text(entry, "github", where) or "").lstrip("@") or None,
            jira_name=_text(entry, "jira", where),
        ))
    return people


def _text(entry: dict[str, Any], field_name: str, where: str) -> str | None:
    value = entry.get(field_name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise DirectoryError(f"{where}: '{field_name}' must be text, found {_kind(value)}")
    return str(value).strip()


def _text_list(entry: dict[str, Any], field_name: str, where: str) -> list[str]:
    value = entry.get(field_name)
    if value is None:
        return []
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or any(isinstance(v, dict | list | bool) for v in values):
        raise DirectoryError(f"{where}: '{field_name}' must be a list of text, found {_kind(value)}")
    return [str(v).strip() for v in values if v is not None and str(v).strip()]


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false"}.get(type(value), type(value).__name__)


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
