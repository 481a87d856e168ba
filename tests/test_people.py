"""The person directory: ``people.yaml`` parsing, name resolution across sources, and
observed people (names that match no one are kept, never merged into someone else)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from assistant_pipelines.people import (
    DirectoryError,
    Person,
    PersonDirectory,
    alias_key,
    directory_from_rows,
    load_directory,
    parse_directory,
    reply_address,
)

PEOPLE_YAML = """\
people:
  - id: zoe
    name: Zoë Müller
    emails: [Zoe.Mueller@Example.com]
    aliases: [ZM]
    github: zoem
  - name: Sam Lee
    email: sam@example.com
    jira: slee
  - name: Sam Park
    emails: [spark@example.com]
  - name: Priya Nair
    emails: [priya.nair@example.com]
    github: "@pnair"
  - name: Dan Smith
  - name: Olu
"""


@pytest.fixture
def directory(tmp_path: Path) -> PersonDirectory:
    path = tmp_path / "people.yaml"
    path.write_text(PEOPLE_YAML, encoding="utf-8")
    return load_directory(path)


# -- people.yaml --------------------------------------------------------------------------
def test_people_yaml_is_loaded_with_ids_emails_aliases_and_logins(directory: PersonDirectory) -> None:
    assert list(directory.people) == ["zoe", "sam.lee", "sam.park", "priya.nair", "dan.smith", "olu"]
    zoe = directory.people["zoe"]
    assert (zoe.display_name, zoe.emails, zoe.aliases, zoe.github_login) == (
        "Zoë Müller", ["zoe.mueller@example.com"], ["ZM"], "zoem")
    assert directory.people["sam.lee"].emails == ["sam@example.com"]  # "email:" as one value
    assert directory.people["priya.nair"].github_login == "pnair"  # "@pnair" written with its @
    assert all(p.origin == "directory" for p in directory.people.values())


def test_missing_or_empty_file_is_an_empty_directory(tmp_path: Path) -> None:
    assert load_directory(None).people == {}
    assert load_directory(tmp_path / "absent.yaml").people == {}
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    assert load_directory(tmp_path / "empty.yaml").people == {}
    (tmp_path / "bare.yaml").write_text("- name: Ann Lee\n", encoding="utf-8")  # a bare list works too
    assert list(load_directory(tmp_path / "bare.yaml").people) == ["ann.lee"]


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("people: [unclosed", "not valid YAML"),
        ("people: {name: Ann}", "expected a 'people' list of entries"),
        ("people:\n  - Ann Lee\n", "entry 1: expected a mapping"),
        ("people:\n  - name: Ann\n  - emails: [b@x.org]\n", "entry 2: 'name' is missing"),
        ("people:\n  - name: '  '\n", "entry 1: 'name' is missing"),
        ("people:\n  - name: Ann\n  - name: Bob\n    id: ann\n", "entry 2: 'id' 'ann' is already used by entry 1"),
        ("people:\n  - name: Ann\n    emails: {work: a@x.org}\n", "entry 1: 'emails' must be a list"),
        ("people:\n  - name: Ann\n    emails: [[a@x.org]]\n", "entry 1: 'emails' must be a list"),
        ("people:\n  - name: Ann\n    aliases: 3\n", "entry 1: 'aliases' must be a list"),
        ("people:\n  - name: Ann\n    emails: [ann-at-x.org]\n", "entry 1: 'emails' has 'ann-at-x.org', which is not an e-mail"),
        ("people:\n  - name: Ann\n    emails: [a@x.org]\n  - name: Bob\n    email: A@X.org\n",
         "entry 2: 'emails' has 'a@x.org', already entry 1's"),
        ("people:\n  - name: Ann\n    github: [ann, ann2]\n", "entry 1: 'github' must be text"),
        ("people:\n  - name: Ann\n    jira: {key: ann}\n", "entry 1: 'jira' must be text"),
        ("people:\n  - name: Ann\n    emials: [a@x.org]\n", "entry 1: unknown field 'emials'"),
    ],
)
def test_people_yaml_errors_name_the_entry_and_the_field(tmp_path: Path, yaml_text: str, expected: str) -> None:
    path = tmp_path / "people.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(DirectoryError) as raised:
        load_directory(path)
    assert expected in str(raised.value)
    assert str(path) in str(raised.value)


def test_unreadable_people_yaml_is_a_directory_error(tmp_path: Path) -> None:
    path = tmp_path / "people.yaml"
    path.write_bytes(b"people:\n  - name: \xff\xfe\n")
    with pytest.raises(DirectoryError, match="not valid YAML"):
        load_directory(path)


def test_demo_people_yaml_parses() -> None:
    demo = Path(__file__).resolve().parents[1] / "assistant_pipelines" / "demo" / "people.yaml"
    if not demo.is_file():
        pytest.skip("no demo people.yaml")
    directory = load_directory(demo)
    assert directory.people and all(p.emails for p in directory.people.values())


# -- resolution ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "person_id"),
    [
        ("zoe.mueller@example.com", "zoe"),
        ("ZOE.MUELLER@EXAMPLE.COM", "zoe"),  # e-mail addresses compare case-insensitively
        ("Zoë Müller <zoe.mueller@example.com>", "zoe"),
        ("Someone Else <zoe.mueller@example.com>", "zoe"),  # the address wins over the name
        ("Zoë Müller", "zoe"),
        ("Zoe Muller", "zoe"),  # accents do not matter
        ("zoë müller", "zoe"),
        ("Zoe", "zoe"),  # the only Zoe: a first name is enough
        ("Zoë", "zoe"),
        ("ZM", "zoe"),  # an alias
        ("zm", "zoe"),
        ("zoem", "zoe"),  # GitHub login
        ("@zoem", "zoe"),  # @mention
        ("Zoë Müller (PM)", "zoe"),  # "Name (Role)"
        ("Zoë Müller [guest]", "zoe"),
        ("Müller, Zoë", "zoe"),  # "Last, First"
        ("Sam Lee", "sam.lee"),
        ("slee", "sam.lee"),  # Jira name
        ("Dr Sam Lee", "sam.lee"),
        ("sam.lee", "sam.lee"),  # dots and underscores read as spaces
        ("sam_lee", "sam.lee"),
        ("spark", "sam.park"),  # an e-mail's local part
        ("Priya", "priya.nair"),
        ("@pnair", "priya.nair"),
        ("Priya Nairr", "priya.nair"),  # a surname one typo away
        ("Nair Priya", "priya.nair"),  # the same words in another order
        ("Olu", "olu"),
        ("Olu (host)", "olu"),
    ],
)
def test_resolve(directory: PersonDirectory, text: str, person_id: str) -> None:
    assert directory.resolve(text) == person_id


@pytest.mark.parametrize(
    "text",
    [
        None, "", "   ",
        "Sam",  # two people are called Sam: no guess (even though sam@ is Sam Lee's mailbox)
        "Sam P", "Nair", "I", "me", "Bob",
        "Dana Smith",  # a different first name is a different person, however close
        "Danielle Smith",
        "Zoe Miller Jones",
    ],
)
def test_unresolvable_or_ambiguous_names_resolve_to_nobody(directory: PersonDirectory, text: str | None) -> None:
    assert directory.resolve(text) is None


def test_a_first_name_that_is_also_someone_elses_mailbox_is_ambiguous() -> None:
    directory = PersonDirectory()
    directory.add(Person("samuel", "Samuel Lee", emails=["sam@example.com"]))
    directory.add(Person("sam.park", "Sam Park"))
    assert directory.resolve("Sam") is None
    assert directory.resolve("sam@example.com") == "samuel"
    directory.add(Person("ann", "Ann Berg", emails=["ann@example.com"]))
    assert directory.resolve("Ann") == "ann"  # first name and mailbox agree


def test_a_near_spelling_close_to_two_people_matches_neither() -> None:
    directory = PersonDirectory()
    directory.add(Person("a", "Priya Nair"))
    directory.add(Person("b", "Priya Naik"))
    assert directory.resolve("Priya Nair") == "a" and directory.resolve("Priya Naik") == "b"
    assert directory.resolve("Priya Nain") is None


def test_alias_key_folds_case_accents_quotes_and_separators() -> None:
    assert alias_key("  Zoë   MÜLLER ") == "zoe muller"
    assert alias_key("José_Ortega") == "jose ortega"
    assert alias_key("O'Brien") == "obrien"
    assert alias_key("Ann.Lee@Example.COM") == "ann.lee@example.com"  # e-mails keep their dots


# -- observe ------------------------------------------------------------------------------
def test_observe_resolves_known_people_and_records_new_spellings(directory: PersonDirectory) -> None:
    assert directory.observe("Zoe M.", "zoe.mueller@example.com") == "zoe"
    assert "Zoe M." in directory.people["zoe"].aliases
    assert directory.resolve("Zoe M.") == "zoe"
    assert directory.observe("Priya Nair", "priya@home.example") == "priya.nair"
    assert "priya@home.example" in directory.people["priya.nair"].emails
    assert directory.resolve("priya@home.example") == "priya.nair"


def test_observe_creates_observed_people_for_unknown_names(directory: PersonDirectory) -> None:
    bob = directory.observe("Bob Stone")
    assert bob == "bob.stone"
    assert directory.people[bob].origin == "observed"
    assert directory.people[bob].display_name == "Bob Stone"
    assert directory.observe("bob stone") == bob  # the second sighting is the same person
    assert directory.observe(None, "lena@customer.example") == "lena@customer.example"
    assert directory.people["lena@customer.example"].display_name == "lena"
    assert directory.observe("ghuser", kind="github") == "ghuser"
    assert directory.people["ghuser"].github_login == "ghuser"
    assert directory.resolve("@ghuser") == "ghuser"
    assert directory.observe(None, None) is None
    assert directory.observe("  ", "not-an-address") is None


def test_observe_never_merges_two_different_people(directory: PersonDirectory) -> None:
    sam = directory.observe("Sam")  # ambiguous between Sam Lee and Sam Park: kept apart
    assert sam not in {"sam.lee", "sam.park"}
    assert directory.people[sam].origin == "observed"
    assert directory.observe("Sam") == sam
    dana = directory.observe("Dana Smith")
    assert dana not in {"dan.smith", None}
    # An e-mail known for one Sam does not make the bare first name theirs.
    directory.observe("Sam", "spark@example.com")
    assert directory.resolve("Sam") == sam
    # A first name alone does not join a stranger's address to the only person of that name.
    stranger = directory.observe("Priya", "priya@customer.example")
    assert stranger == "priya@customer.example"
    assert directory.people["priya.nair"].emails == ["priya.nair@example.com"]
    assert directory.observe("Priya") == "priya.nair"  # without an address: the team's Priya
    assert directory.observe("Priya", "priya@customer.example") == stranger  # and the stranger stays apart
    # Near names with their own addresses stay two people.
    kim = directory.observe("Alex Kim", "alex@one.example")
    king = directory.observe("Alex King", "alex@two.example")
    assert (kim, king) == ("alex@one.example", "alex@two.example")
    # The same full name from a second address is the same person (name is a join key).
    assert directory.observe("Alex Kim", "alex.kim@home.example") == kim
    assert directory.people[kim].emails == ["alex@one.example", "alex.kim@home.example"]


SIGHTINGS = [
    ("Lena Vogt", "lena.vogt@customer.example", "name"),
    ("Zoe", None, "name"),
    ("+49 170 5550142", None, "name"),
    ("kwame", None, "github"),
    ("Kwame Mensah", "kwame@example.com", "jira"),
    ("Lena", None, "name"),
    ("Sam Lee", "sam.lee@gmail.example", "name"),
    ("Speaker 2", None, "name"),
]


def _build(order: list[tuple[str | None, str | None, str]]) -> PersonDirectory:
    directory = PersonDirectory()
    for person in parse_directory({"people": [{"name": "Zoë Müller", "id": "zoe"}, {"name": "Sam Lee"}]}, "x"):
        directory.add(person)
    for name, email, kind in order:
        directory.observe(name, email, kind=kind)
    return directory


def test_ids_are_deterministic_for_the_same_sightings() -> None:
    first, second = _build(SIGHTINGS), _build(list(SIGHTINGS))
    assert {k: vars(v) for k, v in first.people.items()} == {k: vars(v) for k, v in second.people.items()}
    assert first.alias_rows() == second.alias_rows()
    assert "lena.vogt@customer.example" in first.people and "speaker.2" in first.people


def test_observed_ids_do_not_depend_on_the_order_for_unrelated_names() -> None:
    """(Where one sighting can resolve another, "Kwame" after "Kwame Mensah", order matters:
    the ``people_sightings`` query fixes it.)"""
    unrelated = [s for s in SIGHTINGS if s[0] not in {"kwame", "Lena", "Zoe"}]
    ids = set(_build(unrelated).people)
    for seed in range(5):
        shuffled = list(unrelated)
        random.Random(seed).shuffle(shuffled)
        assert set(_build(shuffled).people) == ids


def test_directory_round_trips_through_the_people_table(directory: PersonDirectory) -> None:
    directory.observe("Lena Vogt", "lena@customer.example")
    rows = [
        {"person_id": p.person_id, "display_name": p.display_name, "emails": json.dumps(p.emails),
         "aliases": json.dumps(p.aliases), "github_login": p.github_login, "jira_name": p.jira_name,
         "origin": p.origin}
        for p in directory.people.values()
    ]
    again = directory_from_rows(rows)
    for text in ("Zoe", "@zoem", "slee", "lena@customer.example", "Lena Vogt", "spark", "Priya Nairr"):
        assert again.resolve(text) == directory.resolve(text), text
    assert again.resolve("Sam") is None
    assert again.people["lena@customer.example"].origin == "observed"


def test_alias_rows_name_each_spelling_once(directory: PersonDirectory) -> None:
    rows = directory.alias_rows()
    keys = [r["alias_key"] for r in rows]
    assert len(keys) == len(set(keys))
    by_key = {r["alias_key"]: r for r in rows}
    assert by_key["zoe.mueller@example.com"]["alias_kind"] == "email"
    assert by_key["@zoem"] == {"alias_key": "@zoem", "alias": "@zoem", "person_id": "zoe", "alias_kind": "github"}
    assert by_key["slee"]["alias_kind"] == "jira"


def test_a_digest_goes_to_an_address_someone_reads() -> None:
    assert reply_address(["noreply@status.kestrel-hosting.example", "ops@kestrel-hosting.example"]) == (
        "ops@kestrel-hosting.example")
    for unattended in ("noreply@x.example", "no-reply@x.example", "No_Reply+alerts@x.example",
                       "donotreply@x.example", "do-not-reply@x.example", "notifications@github.example",
                       "MAILER-DAEMON@x.example", "postmaster@x.example", "bounces-123@lists.example"):
        assert reply_address([unattended]) is None, unattended
    for person in ("priya@northwind.example", "noreen@x.example", "replyto.anna@x.example", "notify-me@x.example"):
        assert reply_address([person]) == person
    assert reply_address([]) is None
