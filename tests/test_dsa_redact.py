"""Redaction of personal data from statement-of-reasons free text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.provisional import urls

from charter.dsa.redact import personal_data_kinds, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"@Shun_stokes: hi"', '"[handle]: hi"'),
        ("mail a.b+c@ex-ample.co.uk now", "mail [email] now"),
        ("call +49 30 1234567 today", "call [phone] today"),
        ("or 0044 (20) 7946-0958.", "or [phone]."),
        ("see http://t.co/JOOsdSubIR", "see [link]"),
        ("visit www.example.de/a?b=1 and bit.ly/3xYz", "visit [link] and [link]"),
        ("RT @a_b @c: x", "RT [handle] [handle]: x"),
    ],
)
def test_personal_data_becomes_placeholders(text, expected):
    assert redact(text) == expected


def test_policy_prose_is_left_alone():
    text = "Rule HATE.1a of charter-example 1.0.0 applied on 2026-09-02 (score 0.97, hash c2a1b323cc90)."
    assert redact(text) == text


def test_kinds_are_counted():
    assert personal_data_kinds("@a and @b see https://x.example/y, mail me@x.example") == {
        "email": 1, "link": 1, "handle": 2,
    }
    assert personal_data_kinds("nothing personal here") == {}


@settings(max_examples=60, deadline=None)
@given(
    email=st.emails(),
    url=urls(),
    handle=st.from_regex(r"@[A-Za-z0-9_]{1,15}", fullmatch=True),
    phone=st.from_regex(r"\+[1-9][0-9]{1,2} [0-9]{2,4} [0-9]{6,8}", fullmatch=True),
)
def test_generated_personal_data_never_survives(email, url, handle, phone):
    out = redact(f"from {email}, see {url} by {handle} or call {phone}.")
    assert email not in out and url not in out and handle not in out and phone not in out
    assert out.startswith("from [email], see [link]")
