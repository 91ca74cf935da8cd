"""Signed party calls: what the verifier accepts and every way it refuses."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from fate_flow.errors import SignatureError
from fate_flow.settings import DatabaseSettings, SecuritySettings, Settings
from fate_flow.utils.signing import (PARTY_ENV, SECRET_ENV, SIGNATURE_HEADERS, MemoryNonceStore,
                                     SecurityConfigError, SignatureVerifier, check_security_settings,
                                     env_signer, sign_headers, signing_enabled, task_environment)

SECURITY = SecuritySettings(sign_requests=True, secret="our-secret",
                            party_secrets={"10000": "their-secret"}, max_age=300)
PATH = "/v1/schedule/202001010000000000001/host/9999/create"
BODY = b'{"f_job_id": "202001010000000000001"}'


def verifier(security: SecuritySettings = SECURITY) -> SignatureVerifier:
    return SignatureVerifier(security, [9999], MemoryNonceStore(security.max_age))


def settings(**security) -> Settings:
    return Settings(work_mode=0, party_ids=(9999,), host="127.0.0.1", port=1, work_dir=Path("."),
                    database=DatabaseSettings("sqlite:///x.db"), security=SecuritySettings(**security))


def refused(v: SignatureVerifier, headers: dict, method="POST", path=PATH, body=BODY, now=None) -> str:
    with pytest.raises(SignatureError) as info:
        v.verify(method, path, body, headers, now=now)
    assert info.value.retcode != 0
    return info.value.reason


def test_a_good_signature_names_the_caller():
    headers = sign_headers("their-secret", "10000", "POST", PATH, BODY)
    assert set(headers) == set(SIGNATURE_HEADERS)
    assert verifier().verify("POST", PATH, BODY, headers) == "10000"


def test_own_party_and_local_party_sign_with_our_secret():
    v = verifier()
    assert v.verify("POST", PATH, BODY, sign_headers("our-secret", "9999", "POST", PATH, BODY)) == "9999"
    assert v.verify("POST", PATH, BODY, sign_headers("our-secret", "0", "POST", PATH, BODY)) == "0"
    assert "bad signature" in refused(v, sign_headers("their-secret", "9999", "POST", PATH, BODY))


def test_wrong_secret_is_a_bad_signature():
    assert "bad signature" in refused(verifier(), sign_headers("guessed", "10000", "POST", PATH, BODY))


@pytest.mark.parametrize("method, path, body", [
    ("POST", PATH, BODY + b" "),
    ("POST", PATH.replace("create", "kill"), BODY),
    ("POST", PATH.replace("9999", "9998"), BODY),
    ("GET", PATH, BODY),
])
def test_tampered_request_is_a_bad_signature(method, path, body):
    headers = sign_headers("their-secret", "10000", "POST", PATH, BODY)
    assert "bad signature" in refused(verifier(), headers, method, path, body)


def test_a_claimed_party_is_bound_to_the_signature():
    headers = dict(sign_headers("their-secret", "10000", "POST", PATH, BODY), **{"X-Fate-Party": "9999"})
    assert "bad signature" in refused(verifier(), headers)


@pytest.mark.parametrize("missing", SIGNATURE_HEADERS)
def test_missing_header_is_unsigned(missing):
    headers = sign_headers("their-secret", "10000", "POST", PATH, BODY)
    del headers[missing]
    reason = refused(verifier(), headers)
    assert reason.startswith("unsigned") and missing in reason


def test_no_headers_at_all_is_unsigned():
    assert refused(verifier(), {}).startswith("unsigned")


def test_unknown_party_is_refused():
    reason = refused(verifier(), sign_headers("x", "12345", "POST", PATH, BODY))
    assert reason.startswith("unknown party 12345")


def test_replay_is_refused_but_a_fresh_signature_passes():
    v = verifier()
    headers = sign_headers("their-secret", "10000", "POST", PATH, BODY)
    assert v.verify("POST", PATH, BODY, headers) == "10000"
    assert refused(v, headers).startswith("replayed")
    assert v.verify("POST", PATH, BODY, sign_headers("their-secret", "10000", "POST", PATH, BODY)) == "10000"


def test_a_refused_forgery_does_not_burn_the_nonce():
    v = verifier()
    headers = sign_headers("their-secret", "10000", "POST", PATH, BODY)
    forged = dict(headers, **{"X-Fate-Signature": "0" * 64})
    assert "bad signature" in refused(v, forged)
    assert v.verify("POST", PATH, BODY, headers) == "10000"


def test_stale_request_is_refused():
    now = time.time()
    headers = sign_headers("their-secret", "10000", "POST", PATH, BODY, now=now - 301)
    assert refused(verifier(), headers, now=now).startswith("stale")
    recent = sign_headers("their-secret", "10000", "POST", PATH, BODY, now=now - 290)
    assert verifier().verify("POST", PATH, BODY, recent, now=now) == "10000"


def test_future_timestamp_beyond_the_window_is_refused():
    now = time.time()
    headers = sign_headers("their-secret", "10000", "POST", PATH, BODY, now=now + 301)
    assert "future" in refused(verifier(), headers, now=now)
    ahead = sign_headers("their-secret", "10000", "POST", PATH, BODY, now=now + 60)  # modest clock skew
    assert verifier().verify("POST", PATH, BODY, ahead, now=now) == "10000"


@pytest.mark.parametrize("header, value, reason", [
    ("X-Fate-Timestamp", "nan", "bad timestamp"),
    ("X-Fate-Timestamp", "-5", "bad timestamp"),
    ("X-Fate-Nonce", "short", "bad nonce"),
    ("X-Fate-Nonce", "a" * 65, "bad nonce"),
    ("X-Fate-Party", "10000; drop", "unknown party"),
])
def test_malformed_headers_are_refused(header, value, reason):
    headers = dict(sign_headers("their-secret", "10000", "POST", PATH, BODY), **{header: value})
    assert refused(verifier(), headers).startswith(reason)


def test_query_string_is_not_signed():
    headers = sign_headers("their-secret", "10000", "POST", PATH + "?wait=5", BODY)
    assert verifier().verify("POST", PATH, BODY, headers) == "10000"


def test_percent_encoded_path_is_signed_as_the_receiver_decodes_it():
    encoded = "/v1/schedule/j/host/9999/a%2Bb%3D/save%20pipeline"
    headers = sign_headers("their-secret", "10000", "POST", encoded, BODY)
    assert verifier().verify("POST", "/v1/schedule/j/host/9999/a+b=/save pipeline", BODY, headers) == "10000"


def test_env_signer_reads_the_task_environment():
    assert env_signer({}) is None
    assert env_signer({SECRET_ENV: "our-secret"}) is None
    signer = env_signer({SECRET_ENV: "their-secret", PARTY_ENV: "10000"})
    assert verifier().verify("POST", PATH, BODY, signer("POST", PATH, BODY)) == "10000"


def test_signing_switch_and_task_environment():
    assert not signing_enabled(settings())
    assert signing_enabled(settings(sign_requests=True, secret="s"))
    assert signing_enabled(settings(use_permission=True, secret="s"))
    cluster = Settings(**{**settings(secret="s").__dict__, "work_mode": 1})
    assert signing_enabled(cluster)
    assert task_environment(settings(), "9999") == {}
    assert task_environment(cluster, "9999") == {SECRET_ENV: "s", PARTY_ENV: "9999"}


def test_signing_without_a_secret_refuses_to_start():
    check_security_settings(settings())  # standalone, signing off: no secret needed
    with pytest.raises(SecurityConfigError, match="security.secret"):
        check_security_settings(settings(sign_requests=True))
    cluster = Settings(**{**settings().__dict__, "work_mode": 1})
    with pytest.raises(SecurityConfigError, match="cluster mode"):
        check_security_settings(cluster)


def test_database_nonce_store_refuses_replays_and_prunes(tmp_path):
    from fate_flow.db import DB, init_db
    from fate_flow.db.models import RequestNonce
    from fate_flow.party.nonce_store import DatabaseNonceStore

    init_db(DatabaseSettings(f"sqlite:///{tmp_path / 'flow.db'}"))
    with DB.connection_context():
        store = DatabaseNonceStore(max_age=300)
        now = time.time()
        assert store.remember("10000", "a" * 32, now)
        assert not store.remember("10000", "a" * 32, now)
        assert store.remember("9999", "a" * 32, now)  # nonces are per party
        assert store.remember("10000", "b" * 32, now - 400)  # old row, pruned at the next prune
        store._last_prune = 0.0
        assert store.remember("10000", "c" * 32, now)
        kept = {r.f_nonce for r in RequestNonce.select()}
        assert kept == {f"10000:{'a' * 32}", f"9999:{'a' * 32}", f"10000:{'c' * 32}"}
