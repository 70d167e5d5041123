"""Tests for connection profiles and their file, export and import."""

from __future__ import annotations

import json
import logging

import pytest

from app.models.profiles import (
    EMBEDDED_ID,
    REMOTE,
    ConnectionProfile,
    ProfileError,
    ProfileStore,
    default_profiles_path,
    new_profile_id,
    url_problems,
)
from app.services.credentials import KeyStore
from tests.support.memory_keyring import memory_keyring


def remote(name: str = "Staging", url: str = "https://staging.example:8443", **kw):
    return ConnectionProfile(new_profile_id(), name, kind=REMOTE, url=url, **kw)


@pytest.fixture
def store(tmp_path):
    return ProfileStore(tmp_path / "profiles.json")


def test_new_store_has_only_embedded(store):
    profiles = store.profiles()
    assert [profile.profile_id for profile in profiles] == [EMBEDDED_ID]
    assert profiles[0].is_embedded


def test_default_path_honours_config_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("OVERSEER_CONFIG_DIR", str(tmp_path))
    assert default_profiles_path() == tmp_path / "connection-profiles.json"
    assert ProfileStore().path == tmp_path / "connection-profiles.json"


def test_profiles_sorted_after_embedded(store):
    store.put(remote("zeta", "http://z.example"))
    store.put(remote("Alpha", "http://a.example"))
    assert [p.name for p in store.profiles()] == ["Embedded server", "Alpha", "zeta"]


def test_put_rejects_duplicate_name(store):
    store.put(remote("Prod"))
    with pytest.raises(ProfileError, match="already exists"):
        store.put(remote("prod"))


def test_put_rejects_invalid_url(store):
    with pytest.raises(ProfileError, match="http:// or https://"):
        store.put(remote(url="ftp://host"))


def test_embedded_profile_cannot_be_removed(store):
    with pytest.raises(ProfileError):
        store.remove(EMBEDDED_ID)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "needs the server's URL"),
        ("host:8080", "http:// or https://"),
        ("http://", "no host name"),
        ("http://host:99999", "invalid port"),
    ],
)
def test_url_problems(url, problem):
    assert problem in " ".join(url_problems(url))


def test_valid_urls_have_no_problems():
    assert url_problems("http://127.0.0.1:8080") == []
    assert url_problems("https://routilux.example/") == []


def test_save_and_load_round_trip(store):
    profile = store.put(remote(verify_tls=False, ca_bundle="/etc/ca.pem"))
    store.mark_used(profile.profile_id, when=100.0)
    store.save()

    loaded = ProfileStore(store.path)
    loaded.load()
    assert loaded.get(profile.profile_id) == store.get(profile.profile_id)
    assert loaded.last_used().profile_id == profile.profile_id


def test_recent_newest_first(store):
    first = store.put(remote("One", "http://one.example"))
    second = store.put(remote("Two", "http://two.example"))
    store.mark_used(first.profile_id, when=1.0)
    store.mark_used(second.profile_id, when=2.0)
    store.mark_used(EMBEDDED_ID, when=3.0)
    assert [p.name for p in store.recent()] == ["Embedded server", "Two", "One"]
    assert [p.name for p in store.recent(limit=1)] == ["Embedded server"]


def test_unreadable_file_gives_defaults(store, caplog):
    store.path.write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        store.load()
    assert [p.profile_id for p in store.profiles()] == [EMBEDDED_ID]
    assert "Ignoring the profiles file" in caplog.text


def test_file_never_holds_the_key(store):
    profile = store.put(remote())
    with memory_keyring():
        KeyStore().set(profile.profile_id, "super-secret-key")
        store.save()
        store.export_to(store.path.parent / "export.json")
    for name in ("profiles.json", "export.json"):
        assert "super-secret-key" not in (store.path.parent / name).read_text()


def test_export_leaves_out_embedded_and_usage(store, tmp_path):
    profile = store.put(remote())
    store.mark_used(profile.profile_id, when=5.0)
    count = store.export_to(tmp_path / "export.json")
    document = json.loads((tmp_path / "export.json").read_text())
    assert count == 1
    assert document["kind"] == "overseer-connection-profiles"
    assert [item["name"] for item in document["profiles"]] == ["Staging"]
    assert document["profiles"][0]["last_used"] is None
    assert "api_key" not in document["profiles"][0]


def test_export_selected_profiles(store, tmp_path):
    keep = store.put(remote("Keep", "http://keep.example"))
    store.put(remote("Skip", "http://skip.example"))
    assert store.export_to(tmp_path / "export.json", [keep.profile_id]) == 1


def test_import_renames_and_gets_new_ids(store, tmp_path):
    original = store.put(remote())
    store.export_to(tmp_path / "export.json")
    added = store.import_from(tmp_path / "export.json")
    assert [p.name for p in added] == ["Staging (2)"]
    assert added[0].profile_id != original.profile_id
    assert added[0].url == original.url


def test_import_ignores_keys_in_file(store, tmp_path):
    document = {
        "schema_version": 1,
        "kind": "overseer-connection-profiles",
        "profiles": [
            {"name": "Shared", "url": "http://shared.example", "api_key": "leaked"}
        ],
    }
    (tmp_path / "in.json").write_text(json.dumps(document))
    with memory_keyring() as backend:
        added = store.import_from(tmp_path / "in.json")
        assert backend.passwords == {}
    assert "leaked" not in json.dumps(added[0].to_json())


def test_import_rejects_other_files(store, tmp_path):
    (tmp_path / "state.json").write_text(json.dumps({"profiles": []}))
    with pytest.raises(ProfileError, match="not an Overseer connection profile export"):
        store.import_from(tmp_path / "state.json")
    with pytest.raises(ProfileError, match="Couldn't read"):
        store.import_from(tmp_path / "missing.json")


def test_import_keeps_missing_ca_bundle(store, tmp_path):
    profile = remote(ca_bundle=str(tmp_path / "elsewhere.pem"))
    assert profile.ca_bundle_problem() is not None
    store.put(profile)
    store.export_to(tmp_path / "export.json")
    other = ProfileStore(tmp_path / "other.json")
    added = other.import_from(tmp_path / "export.json")
    assert added[0].ca_bundle == str(tmp_path / "elsewhere.pem")
