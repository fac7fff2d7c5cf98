"""Decisions and action items from sentences phrased in several ways (not the builder's only)."""

from llaso.features.meeting.actions import (
    Utterance,
    extract_action_items,
    extract_decisions,
    split_sentences,
    split_when,
)


def u(speaker, text, at=0.0):
    return Utterance(at, at + 2, speaker, text)


def test_commitments_requests_and_assignments():
    items = extract_action_items([
        u("S1", "Okay, I'll circulate the revised agenda before lunch."),
        u("S2", "Priya, could you book the conference call for next Wednesday?"),
        u("S3", "Sure."),
        u("S1", "Can you double-check the invoice totals?"),
        u("S3", "Yes, I can do that."),
        u("S2", "Marcus is going to migrate the database in two weeks."),
        u("S1", "I think the numbers look fine."),
        u("S3", "I can see why that matters."),
    ])
    found = [(i.who, i.what, i.when) for i in items]
    assert found == [
        ("S1", "circulate the revised agenda", "before lunch"),
        ("Priya", "book the conference call", "for next Wednesday"),
        ("S3", "double-check the invoice totals", None),
        ("Marcus", "migrate the database", "in two weeks"),
    ]
    assert items[1].said_by == "S2" and items[1].text.startswith("Priya")


def test_acceptances_and_talk_are_not_items():
    assert extract_action_items([u("A", "I'll do that."), u("B", "Let me think."), u("A", "We will see."),
                                 u("B", "I can take care of it.")]) == []


def test_decisions():
    decisions = extract_decisions([
        u("A", "So we've decided to freeze hiring until March."),
        u("B", "Let's get started."),
        u("C", "The decision is to renew the lease."),
        u("A", "Let's move on to the next item."),
    ])
    assert [d.what for d in decisions] == ["freeze hiring until March", "renew the lease"]


def test_deadlines_and_sentences():
    assert split_when("send the figures by the end of the week") == ("send the figures", "by the end of the week")
    assert split_when("update the wiki tomorrow morning") == ("update the wiki", "tomorrow morning")
    parts = split_sentences(10.0, 14.0, "A", "First one. Second one is longer?")
    assert [p.text for p in parts] == ["First one.", "Second one is longer?"]
    assert parts[0].start == 10.0 and parts[-1].end == 14.0 and parts[0].end == parts[1].start
