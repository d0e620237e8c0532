"""The request journal: what the mock received, redacted and bounded, and admin reset."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api_schema import load_examples
from mock_api import MockConfig, create_app
from mock_api.control.journal import REDACTED, Journal, redact_url
from mock_api.testing import AUTH, KEY, run_mock_server, task

# --- the journal on its own ----------------------------------------------------------


def recorded(journal: Journal, **request: Any) -> dict[str, Any]:
    """One request journaled, as the journal shows it (``/__admin/requests``)."""
    journal.record(**request)
    return journal.entries()[-1]


def test_headers_json_fields_query_and_urls_are_redacted() -> None:
    journal = Journal()
    body = [
        {"taskType": "authentication", "apiKey": "sk-body-key-999"},
        task(
            webhookURL="http://127.0.0.1:9/hook?token=tok123&run=7",
            positivePrompt="my key is sk-header-key-111, draw it",
        ),
    ]
    entry = recorded(
        journal,
        method="POST",
        path="/v1",
        query="api_key=q-secret&page=2",
        headers=[("Authorization", "Bearer sk-header-key-111"), ("X-Api-Key", "other"), ("Accept", "*/*")],
        body=json.dumps(body).encode(),
    )
    text = json.dumps(entry)
    for secret in ("sk-body-key-999", "sk-header-key-111", "tok123", "q-secret", "other"):
        assert secret not in text
    assert entry["headers"]["authorization"] == f"Bearer {REDACTED}"
    assert entry["headers"]["accept"] == "*/*"
    assert entry["body"][0]["apiKey"] == REDACTED
    assert entry["body"][1]["webhookURL"].endswith("run=7") and "page=2" in entry["query"]
    assert entry["body"][1]["positivePrompt"] == f"my key is {REDACTED}, draw it"


def test_a_body_that_is_not_json_is_kept_as_text_still_redacted() -> None:
    entry = recorded(Journal(), method="POST", path="/v1", body=b'[{"apiKey": "sk-raw-1234", "oops" ]')
    assert entry["bodyIsJson"] is False and "sk-raw-1234" not in entry["body"]


def test_the_journal_is_bounded_and_long_strings_are_shortened() -> None:
    journal = Journal(max_entries=5)
    for n in range(12):
        journal.record(method="GET", path=f"/p{n}")
    assert [e["path"] for e in journal.entries()] == [f"/p{n}" for n in range(7, 12)]
    big = recorded(journal, method="POST", path="/v1", body=json.dumps([{"image": "A" * 100_000}]).encode())
    assert len(big["body"][0]["image"]) < 300
    many = [{"apiKey": "sk-many-0001", "positivePrompt": "p" * 1500} for _ in range(100)]
    huge = recorded(journal, method="POST", path="/v1", body=json.dumps(many).encode())
    assert huge["bodyTruncated"] and len(huge["body"]) == journal.max_body_chars
    assert "sk-many-0001" not in huge["body"]


def test_a_key_in_a_long_string_is_scrubbed_before_the_string_is_cut() -> None:
    key = "sk-straddling-key-4242"
    prompt = "p" * 190 + key + "q" * 3000  # the key crosses the 200-character cut
    body = [{"taskType": "authentication", "apiKey": key}, task(positivePrompt=prompt)]
    entry = recorded(Journal(), method="POST", path="/v1", body=json.dumps(body).encode())
    kept = entry["body"][1]["positivePrompt"]
    assert len(kept) < 300 and key[:8] not in kept


def test_a_key_that_json_escapes_is_found_in_the_body_too() -> None:
    key = 'sk-\u00e9l\u00e8ve-"quoted"-77'  # escaped differently in JSON text than in the string
    body = [{"taskType": "authentication", "apiKey": key}, task(positivePrompt=f"remember {key} please")]
    entry = recorded(Journal(), method="POST", path="/v1", body=json.dumps(body).encode())
    assert entry["body"][1]["positivePrompt"] == f"remember {REDACTED} please"
    assert key not in json.dumps(entry, ensure_ascii=False)


def test_json_too_deep_to_walk_is_not_kept_even_as_text() -> None:
    # JSON escapes could spell the key in a way no text search finds ("\u0073" for "s").
    key = "sk-secret-key-1"
    body = "[" * 5000 + '"sk-\\u0073ecret-key-1"' + "]" * 5000
    headers = [("Authorization", f"Bearer {key}")]
    entry = recorded(Journal(), method="POST", path="/v1", headers=headers, body=body)
    assert entry["bodyIsJson"] is False and "ecret-key-1" not in json.dumps(entry)


def test_url_userinfo_and_signatures_are_redacted() -> None:
    url = "https://user:pw@bucket.s3.amazonaws.com/o.png?X-Amz-Signature=abc&X-Amz-Expires=60"
    shown = redact_url(url)
    assert "pw" not in shown and "abc" not in shown and "X-Amz-Expires=60" in shown


# --- through the real server -------------------------------------------------------


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with run_mock_server(MockConfig(random_seed=2, speed=0.0)) as base:
        yield base


def journal(url: str) -> list[dict]:
    return httpx.get(url + "/__admin/requests", timeout=10).json()["requests"]


def test_requests_are_journaled_with_the_key_redacted(url: str) -> None:
    httpx.delete(url + "/__admin/requests", timeout=10).raise_for_status()
    t = task(numberResults=1)
    (item,) = httpx.post(url + "/v1?trace=1", json=[t], headers=AUTH, timeout=30).json()["data"]
    httpx.get(item["imageURL"], timeout=30).raise_for_status()
    auth_task = {"taskType": "authentication", "apiKey": KEY}
    ping = {"taskType": "ping", "ping": True}
    httpx.post(url + "/v1", json=[auth_task, ping], timeout=30).raise_for_status()
    httpx.post(url + "/v1", content=b"not json " + KEY.encode(), headers=AUTH, timeout=30)

    entries = journal(url)
    assert KEY not in json.dumps(entries)
    assert [(e["method"], e["path"]) for e in entries] == [
        ("POST", "/v1"),
        ("GET", httpx.URL(item["imageURL"]).path),
        ("POST", "/v1"),
        ("POST", "/v1"),
    ]
    first = entries[0]
    assert first["body"] == [t] and first["status"] == 200 and first["query"] == "trace=1"
    assert first["headers"]["authorization"] == f"Bearer {REDACTED}"
    assert entries[2]["body"][0]["apiKey"] == REDACTED
    assert entries[3]["status"] == 400 and entries[3]["bodyIsJson"] is False
    # The admin calls themselves are not journaled.
    assert not any(e["path"].startswith("/__admin") for e in entries)


def test_faulted_requests_are_journaled_with_a_note(url: str) -> None:
    httpx.delete(url + "/__admin/requests", timeout=10).raise_for_status()
    headers = {**AUTH, "X-Mock-Fault": "503"}
    httpx.post(url + "/v1", json=[task()], headers=headers, timeout=30)
    (entry,) = journal(url)
    assert entry["status"] == 503 and "503" in entry["note"]
    assert entry["headers"]["x-mock-fault"] == "503"


def test_delete_clears_and_reset_forgets_everything(url: str) -> None:
    t = task()
    (item,) = httpx.post(url + "/v1", json=[t], headers=AUTH, timeout=30).json()["data"]
    httpx.post(url + "/__admin/faults", json={"fault": "500", "count": 9}, timeout=10).raise_for_status()
    assert journal(url)
    httpx.delete(url + "/__admin/requests", timeout=10).raise_for_status()
    assert journal(url) == []

    assert httpx.post(url + "/__admin/reset", timeout=10).json() == {"reset": True}
    assert httpx.get(url + "/__admin/faults", timeout=10).json()["active"] is None
    # Images, jobs and used taskUUIDs are gone: the same taskUUID is new again.
    assert httpx.get(item["imageURL"], timeout=30).status_code == 404
    poll = {"taskType": "getResponse", "taskUUID": t["taskUUID"]}
    assert httpx.post(url + "/v1", json=[poll], headers=AUTH, timeout=30).status_code == 404
    assert httpx.post(url + "/v1", json=[t], headers=AUTH, timeout=30).status_code == 200


OWN_KEY = "sk-own-required-key-6d2f"  # --require-key
OWN_ADMIN = "sk-own-admin-key-0b7e"  # --admin-key


def test_the_mocks_own_keys_are_scrubbed_wherever_they_show_up() -> None:
    # Offered as the key or not: in a path, under an innocent query name, in a header, a body.
    config = MockConfig(require_key=OWN_KEY, admin_key=OWN_ADMIN)
    with run_mock_server(config) as base, httpx.Client(timeout=30, trust_env=False) as client:
        client.get(base + f"/image/{OWN_KEY}.png")
        client.get(base + f"/image/x.png?api_key={OWN_KEY}&k={OWN_KEY}&n=1")
        client.get(base + f"/image/{OWN_ADMIN}.png", headers={"X-Trace": OWN_ADMIN})
        client.post(base + "/v1", json=[task(positivePrompt=f"say {OWN_KEY}")])  # no key: refused
        admin = {"Authorization": f"Bearer {OWN_ADMIN}"}
        entries = client.get(base + "/__admin/requests", headers=admin, timeout=30).json()["requests"]
    assert OWN_KEY not in json.dumps(entries) and OWN_ADMIN not in json.dumps(entries)
    shown = [(e["path"], e["query"]) for e in entries]
    assert (f"/image/{REDACTED}.png", "") in shown
    assert ("/image/x.png", f"api_key={REDACTED}&k={REDACTED}&n=1") in shown
    assert entries[-2]["headers"]["x-trace"] == REDACTED
    assert entries[-1]["body"][0]["positivePrompt"] == f"say {REDACTED}"


def test_a_secret_parameter_or_header_is_scrubbed_under_other_names_too() -> None:
    entry = recorded(
        Journal(),
        method="GET",
        path="/image/q-key-5678.png",
        query="token=q-key-5678&k=q-key-5678",
        headers=[("X-Api-Key", "h-key-1234"), ("X-Trace", "h-key-1234")],
        body=json.dumps([task(positivePrompt="h-key-1234 and q-key-5678")]).encode(),
    )
    assert "q-key-5678" not in json.dumps(entry) and "h-key-1234" not in json.dumps(entry)
    assert entry["query"] == f"token={REDACTED}&k={REDACTED}" and entry["headers"]["x-trace"] == REDACTED


def test_bodies_are_kept_as_text_and_decoded_on_each_read() -> None:
    # Kept decoded, a body of many small values took 20 times its text, for as long as the
    # journal kept it; reading the journal decoded and stored back even the ones kept as text.
    app = create_app(MockConfig())
    redacted = [task(webhookURL="http://127.0.0.1:9/hook?token=t0k3n-1&run=2"), {"n": [1.5, None, "é"]}]
    clean = [task()]
    with run_mock_server(app=app) as base, httpx.Client(timeout=30, trust_env=False) as client:
        client.delete(base + "/__admin/requests").raise_for_status()
        for body in (redacted, clean, [{}] * 500):
            client.post(base + "/v1", json=body, headers=AUTH)
        for _ in range(2):
            entries = client.get(base + "/__admin/requests").json()["requests"]
            assert [e["bodyIsJson"] for e in entries] == [True, True, True]
            assert entries[0]["body"][0]["webhookURL"] == f"http://127.0.0.1:9/hook?token={REDACTED}&run=2"
            assert entries[0]["body"][1] == redacted[1]
            assert entries[1]["body"] == clean and entries[2]["body"] == [{}] * 500
    assert all(isinstance(e["body"], str) for e in app.state.mock.journal._entries)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(
    value=json_values,
    secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=8, max_size=20),
)
def test_any_json_body_is_journaled_without_the_key(value: object, secret: str) -> None:
    secret = "sk-" + secret  # key-shaped, so it is not a substring of the journal's own words
    body = json.dumps([{"taskType": "authentication", "apiKey": secret}, value]).encode()
    entry = recorded(
        Journal(), method="POST", path="/v1", headers=[("Authorization", f"Bearer {secret}")], body=body
    )
    assert secret not in json.dumps(entry)


@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=200))
def test_any_bytes_are_journaled_without_raising(raw: bytes) -> None:
    entry = recorded(Journal(), method="POST", path="/v1", body=raw)
    json.dumps(entry)


def test_uvicorn_access_log_lines_are_redacted() -> None:
    import logging

    from mock_api.control.logs import redact_logs

    redactor = redact_logs("sk-required-key-42")
    assert redact_logs() is redactor  # installed once
    assert logging.getLogger("uvicorn.access").filters.count(redactor) == 1
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/v1?apiKey=sk-in-query-7&page=2&k=sk-required-key-42", "1.1", 200),
        None,
    )
    assert redactor.filter(record)
    assert len(record.args) == 5  # uvicorn's AccessFormatter unpacks them
    line = record.getMessage()
    assert "sk-in-query-7" not in line and "sk-required-key-42" not in line and "page=2" in line


def test_uvicorn_error_lines_are_formatted_once_and_redacted() -> None:
    import logging

    from websockets.frames import Frame, Opcode

    from mock_api.control.logs import redact_logs

    redactor = redact_logs()

    def shown(msg: str, *args: object) -> str:
        record = logging.LogRecord("uvicorn.error", logging.DEBUG, __file__, 1, msg, args, None)
        assert redactor.filter(record) and record.args == ()
        return record.getMessage()

    key = "sk-frame-key-31337"
    frame = Frame(
        Opcode.TEXT, json.dumps([{"taskType": "authentication", "x": "y" * 60, "apiKey": key}]).encode()
    )
    assert key[-6:] in str(frame)  # websockets cuts the middle of a long frame: the key's end shows
    line = shown("< %s", frame)
    assert "sk-frame" not in line and key[-6:] not in line and line.startswith("< TEXT")
    assert shown("> %s: %s", "Authorization", f"Bearer {key}") == f"> Authorization: Bearer {REDACTED}"
    line = shown('%s - "WebSocket %s" [accepted]', "127.0.0.1:1", f"/v1?token={key}&k={key}&n=1")
    assert key not in line and line.endswith('"WebSocket /v1?token=[redacted]&k=[redacted]&n=1" [accepted]')
    assert "(its arguments could not be formatted)" in shown("%d of %d", "one")  # not raised


@settings(max_examples=150, deadline=None)
@given(
    value=json_values,
    secret=st.text(alphabet='abcdefghijklmnopqrstuvwxyz0123456789-"\\', min_size=8, max_size=20),
    where=st.text(max_size=20),
    ascii_only=st.booleans(),
)
def test_a_bearer_key_pasted_anywhere_in_a_small_body_is_scrubbed(
    value: object, secret: str, where: str, ascii_only: bool
) -> None:
    # Small bodies without a secret-named field skip the journal's json.dumps check when the
    # key is not in their text: the key pasted into a prompt or a field name must still go,
    # also when it, or the text around it, holds quotes and backslashes (escaped in JSON).
    secret = "sk-" + secret
    prompt = f"p {where}{secret}{where}"
    raw = json.dumps([task(positivePrompt=prompt), {f"x{secret}": value}, value], ensure_ascii=ascii_only)
    bearer = [("Authorization", f"Bearer {secret}")]
    keyed = recorded(Journal(), method="POST", path="/v1", headers=bearer, body=raw.encode())
    assert keyed["bodyIsJson"] and secret not in json.dumps(keyed, ensure_ascii=False)
    kept_prompt, kept_names = keyed["body"][0]["positivePrompt"], list(keyed["body"][1])
    assert secret not in kept_prompt and not any(secret in name for name in kept_names)
    other = [("Authorization", "Bearer x-other-key")]
    unkeyed = recorded(Journal(), method="POST", path="/v1", headers=other, body=raw.encode())
    assert unkeyed["body"][0]["positivePrompt"] == prompt  # and nothing else is touched


@settings(max_examples=300, deadline=None)
@given(
    value=json_values,
    prompt=st.text(max_size=40),
    ascii_only=st.booleans(),
    cut=st.integers(min_value=0, max_value=400),
)
def test_a_body_kept_as_text_reads_as_it_would_have_been_redacted_at_once(
    value: object, prompt: str, ascii_only: bool, cut: int
) -> None:
    # A body with nothing to redact is kept as its text and decoded when the journal is read:
    # what it shows must be what parsing and redacting it on arrival gives, JSON or not
    # (``cut`` makes some of them invalid JSON).
    raw = json.dumps([task(positivePrompt=prompt), value], ensure_ascii=ascii_only).encode()
    for body in (raw, raw[:cut]):
        journal = Journal()
        bearer = [("Authorization", "Bearer sk-the-bearer-key-0001")]
        shown = recorded(journal, method="POST", path="/v1", headers=bearer, body=body)
        text, parsed, is_json, truncated, _ = journal._redact(body, ["sk-the-bearer-key-0001"])
        at_once = parsed if is_json else text
        assert (shown["body"], shown["bodyIsJson"], shown["bodyTruncated"]) == (at_once, is_json, truncated)


def test_documented_requests_skip_the_parse_and_anything_secret_does_not() -> None:
    journal = Journal()
    for example in load_examples():
        raw = json.dumps([example.request]).encode()
        if b"http" not in raw:  # the edits name their reference by URL: those are parsed at once
            assert journal._clean_text(raw, ["sk-the-bearer-key-0001"]) is not None, example.title
    body = json.dumps([task(positivePrompt="a sign")])
    assert journal._clean_text(body, []) == body
    for dirty in (
        body.replace("a sign", "sk-the-bearer-key-0001"),  # the bearer key
        body.replace("a sign", 'say \\"sk-the-bearer-key-0001\\"'),
        body.replace("a sign", "a \\u0073ign"),  # an escape could spell a secret
        body.replace('"positivePrompt"', '"X-API-KEY"'),
        body.replace('"positivePrompt"', '"Key"'),
        body.replace('"positivePrompt"', '"apiKey\\"x"'),  # a name with an escaped quote in it
        body.replace('"positivePrompt":', '"apiKey" :'),
        body.replace("a sign", "https://example.com/a.png?sig=1"),
        body.replace("a sign", "p" * 2001),  # a string the journal shortens
    ):
        assert journal._clean_text(dirty, ["sk-the-bearer-key-0001"]) is None, dirty


def test_the_secret_name_verdicts_stay_bounded_whatever_names_come() -> None:
    from mock_api.control import journal

    for n in range(journal._NAME_CACHE_SIZE * 3):
        journal.is_secret_name(f"madeUp{n}")
    journal.is_secret_name("x" * 10_000)  # a long name is judged, never kept
    assert len(journal._name_verdicts) <= journal._NAME_CACHE_SIZE
    assert all(len(name) <= journal._NAME_CACHE_CHARS for name in journal._name_verdicts)
    assert journal.is_secret_name("apiKey") and not journal.is_secret_name("madeUp1")
