"""connectors.pgp with the real gpg: what is accepted, what is refused and why, and the configuration."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.pgp import (
    PgpError,
    PgpKeyring,
    PgpPeers,
    PgpRefusedError,
    inner_name,
    looks_like_pgp,
    pgp_from_config,
)
from edi.partners import PartnersConfigError, PgpSettings, SecretRef, parse_partners
from edi.settings import Settings
from tests.pgp_keys import PLAIN, TestKey, bad_signature_message, make_keys, write_public

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def keys() -> dict[str, TestKey]:
    mine = make_keys("us", passphrase=PASSPHRASE)
    return {**mine, **make_keys("clinic", "stranger")}


def _ring(own: TestKey, *peers: TestKey) -> PgpKeyring:
    ring = PgpKeyring()
    ring.set_own_key(own.secret, own.passphrase or None)
    for peer in peers:
        ring.import_public_key(peer.public, peer.fingerprint)
    return ring


@pytest.fixture(scope="module")
def ours(keys: dict[str, TestKey]) -> Iterator[PgpKeyring]:
    with _ring(keys["us"], keys["clinic"]) as ring:
        yield ring


@pytest.fixture(scope="module")
def clinic(keys: dict[str, TestKey]) -> Iterator[PgpKeyring]:
    with _ring(keys["clinic"], keys["us"], keys["stranger"]) as ring:
        yield ring


@pytest.fixture(scope="module")
def stranger(keys: dict[str, TestKey]) -> Iterator[PgpKeyring]:
    with _ring(keys["stranger"], keys["us"]) as ring:
        yield ring


def _refusal(ring: PgpKeyring, data: bytes, signer: str, **options: object) -> str:
    with pytest.raises(PgpRefusedError) as caught:
        ring.open_inbound(data, signer, **options)  # type: ignore[arg-type]
    text = str(caught.value)
    assert "not PHI" not in text and "example.test" not in text  # neither content nor gpg's user ids
    return text


# -- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("armor", [True, False])
def test_round_trip_both_ways(ours: PgpKeyring, clinic: PgpKeyring, keys: dict[str, TestKey], armor: bool) -> None:
    inbound = clinic.seal_outbound(PLAIN, keys["us"].fingerprint, armor=armor)
    assert PLAIN not in inbound and looks_like_pgp(inbound)
    assert inbound.startswith(b"-----BEGIN PGP MESSAGE-----") is armor
    assert ours.open_inbound(inbound, keys["clinic"].fingerprint) == PLAIN
    outbound = ours.seal_outbound(PLAIN, keys["clinic"].fingerprint, armor=armor)
    assert clinic.open_inbound(outbound, keys["us"].fingerprint) == PLAIN


def test_concurrent_use_from_threads(ours: PgpKeyring, clinic: PgpKeyring, keys: dict[str, TestKey]) -> None:
    failures: list[BaseException] = []
    results: dict[int, bytes] = {}

    def work(n: int) -> None:
        try:
            body = PLAIN + str(n).encode()
            sealed = ours.seal_outbound(body, keys["clinic"].fingerprint, armor=bool(n % 2))
            back = clinic.seal_outbound(clinic.open_inbound(sealed, keys["us"].fingerprint), keys["us"].fingerprint)
            results[n] = ours.open_inbound(back, keys["clinic"].fingerprint)
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures
    assert results == {n: PLAIN + str(n).encode() for n in range(8)}


# -- refusals ------------------------------------------------------------------------------------


def test_tampered_ciphertext_is_refused(ours: PgpKeyring, clinic: PgpKeyring, keys: dict[str, TestKey]) -> None:
    sealed = bytearray(clinic.seal_outbound(PLAIN * 20, keys["us"].fingerprint, armor=False))
    sealed[len(sealed) - 30] ^= 0x55
    # Where the flipped byte lands decides what gpg notices first: the integrity check of the
    # encrypted packet, or (when the damage survives decompression) the signature. Both refuse.
    assert "altered" in _refusal(ours, bytes(sealed), keys["clinic"].fingerprint)


def test_signature_by_an_unknown_key_is_refused(ours: PgpKeyring, stranger: PgpKeyring,
                                                 keys: dict[str, TestKey]) -> None:
    sealed = stranger.seal_outbound(PLAIN, keys["us"].fingerprint)
    assert "signed by a key we do not know" in _refusal(ours, sealed, keys["clinic"].fingerprint)


def test_signature_by_another_known_key_is_refused(keys: dict[str, TestKey], stranger: PgpKeyring) -> None:
    with _ring(keys["us"], keys["clinic"], keys["stranger"]) as ring:
        sealed = stranger.seal_outbound(PLAIN, keys["us"].fingerprint)
        text = _refusal(ring, sealed, keys["clinic"].fingerprint)
        assert f"signed by key {keys['stranger'].fingerprint}, not by the key configured for you" in text
        assert ring.open_inbound(sealed, keys["stranger"].fingerprint) == PLAIN


def test_encrypted_but_unsigned(ours: PgpKeyring, clinic: PgpKeyring, keys: dict[str, TestKey]) -> None:
    unsigned = clinic._gpg.encrypt(PLAIN, [keys["us"].fingerprint], always_trust=True, armor=True)
    assert unsigned.ok
    data = bytes(unsigned.data)
    assert "encrypted but not signed" in _refusal(ours, data, keys["clinic"].fingerprint)
    assert ours.open_inbound(data, keys["clinic"].fingerprint, require_signature=False) == PLAIN


def test_encrypted_for_someone_else_is_refused(ours: PgpKeyring, clinic: PgpKeyring,
                                               keys: dict[str, TestKey]) -> None:
    sealed = clinic.seal_outbound(PLAIN, keys["stranger"].fingerprint)
    assert "not encrypted for our key" in _refusal(ours, sealed, keys["clinic"].fingerprint)


def test_not_a_pgp_message_is_refused(ours: PgpKeyring, keys: dict[str, TestKey]) -> None:
    text = _refusal(ours, b"ISA*00*          *00*  not PHI", keys["clinic"].fingerprint)
    assert "not a PGP message" in text or "could not be decrypted" in text


def test_bad_signature_is_refused(ours: PgpKeyring, clinic: PgpKeyring, keys: dict[str, TestKey]) -> None:
    sealed = bad_signature_message(ours, clinic, keys["us"].fingerprint)
    assert "bad signature" in _refusal(ours, sealed, keys["clinic"].fingerprint)


def test_plaintext_cap(ours: PgpKeyring, clinic: PgpKeyring, keys: dict[str, TestKey]) -> None:
    sealed = clinic.seal_outbound(b"x" * 200_000, keys["us"].fingerprint)  # compresses to little
    assert len(sealed) < 20_000
    text = _refusal(ours, sealed, keys["clinic"].fingerprint, max_bytes=100_000)
    assert "larger than 100000 bytes" in text
    text = _refusal(ours, sealed, keys["clinic"].fingerprint, max_bytes=100_000, require_signature=False)
    assert "larger than 100000 bytes" in text  # never a plaintext cut short
    assert ours.open_inbound(sealed, keys["clinic"].fingerprint, max_bytes=200_000) == b"x" * 200_000


# -- keys and names ------------------------------------------------------------------------------


def test_public_key_must_match_the_configured_fingerprint(keys: dict[str, TestKey]) -> None:
    with PgpKeyring() as ring:
        with pytest.raises(PgpError, match=keys["clinic"].fingerprint):
            ring.import_public_key(keys["stranger"].public, keys["clinic"].fingerprint)
        with pytest.raises(PgpError, match="no public key with fingerprint"):
            ring.seal_outbound(PLAIN, keys["clinic"].fingerprint)


def test_wrong_passphrase_stops_at_start(keys: dict[str, TestKey]) -> None:
    with PgpKeyring() as ring, pytest.raises(PgpError, match="wrong passphrase"):
        ring.set_own_key(keys["us"].secret, "not the passphrase")


def test_names_and_sniffing() -> None:
    assert inner_name("claims.csv.pgp") == "claims.csv" and inner_name("r.json.ASC") == "r.json"
    assert inner_name("plain.json") == "plain.json" and inner_name(".pgp") == ".pgp"
    for text in (b"ISA*00*", b"{}", b"\xef\xbb\xbfISA", b"a,b\n", b""):
        assert not looks_like_pgp(text)
    assert looks_like_pgp(b"\n-----BEGIN PGP MESSAGE-----\n")


def test_keyring_folder_is_private_and_removed() -> None:
    ring = PgpKeyring()
    home = ring.home
    assert home.is_dir() and (home.stat().st_mode & 0o777) == 0o700
    ring.close()
    assert not home.exists()


# -- configuration -------------------------------------------------------------------------------


def _config_yaml(folder: Path, keys: dict[str, TestKey], *, fingerprint: str | None = None) -> str:
    clinic_key = write_public(keys["clinic"], folder)
    return f"""
submitters:
  clinic-a:
    pgp: {{public_key: {{file: {clinic_key.name}}}, fingerprint: "{fingerprint or keys['clinic'].fingerprint}",
           armor: false}}
  clinic-b: {{}}
"""


def test_pgp_from_config(tmp_path: Path, keys: dict[str, TestKey], clinic: PgpKeyring) -> None:
    config = parse_partners(_config_yaml(tmp_path, keys), base_dir=tmp_path)
    (tmp_path / "our.key").write_text(keys["us"].secret)
    env = {"EDI_PGP_PRIVATE_KEY_FILE": str(tmp_path / "our.key"), "MY_PASS": PASSPHRASE}
    settings = Settings.from_env(env)
    built = pgp_from_config(config, settings.pgp_private_key, SecretRef(env="MY_PASS"), environ=env)
    assert built is not None
    ring, submitters, partners = built
    try:
        assert submitters.configured("clinic-a") and not submitters.configured("clinic-b")
        assert not partners.settings
        name, sealed = submitters.seal("clinic-a", "answer.json", PLAIN)
        assert name == "answer.json.pgp" and not sealed.startswith(b"-----")  # armor: false
        assert clinic.open_inbound(sealed, keys["us"].fingerprint) == PLAIN
        assert submitters.seal("clinic-b", "answer.json", PLAIN) == ("answer.json", PLAIN)
        inbound = clinic.seal_outbound(PLAIN, keys["us"].fingerprint)
        assert submitters.open("clinic-a", "r.json.asc", inbound) == ("r.json", PLAIN)
        with pytest.raises(PgpRefusedError, match="no PGP key is configured for you"):
            submitters.open("clinic-b", "r.json", inbound)
    finally:
        ring.close()


def test_configuration_errors(tmp_path: Path, keys: dict[str, TestKey]) -> None:
    with pytest.raises(PartnersConfigError) as caught:
        parse_partners(_config_yaml(tmp_path, keys, fingerprint="ABCD"), base_dir=tmp_path)
    assert caught.value.paths == ["submitters.clinic-a.pgp.fingerprint"]
    config = parse_partners(_config_yaml(tmp_path, keys, fingerprint=keys["stranger"].fingerprint),
                            base_dir=tmp_path)
    with pytest.raises(PgpError, match="our private key is not"):
        pgp_from_config(config, None)
    env = {"KEY": keys["us"].secret, "PASS": PASSPHRASE}
    with pytest.raises(PgpError, match=r"^submitters\.clinic-a\.pgp\.public_key: .*no key|fingerprint"):
        pgp_from_config(config, SecretRef(env="KEY"), SecretRef(env="PASS"), environ=env)
    with pytest.raises(PgpError, match="secret env:NOPE is not set"):
        pgp_from_config(config, SecretRef(env="NOPE"), environ=env)
    assert pgp_from_config(parse_partners("submitters: {a: {}}"), None) is None
    assert isinstance(config.submitters["clinic-a"].pgp, PgpSettings)


def test_settings_take_references_only() -> None:
    settings = Settings.from_env({"EDI_PGP_PRIVATE_KEY": "-----BEGIN PGP PRIVATE KEY BLOCK-----"})
    assert settings.pgp_private_key == SecretRef(env="EDI_PGP_PRIVATE_KEY") and settings.pgp_passphrase is None
    assert "BEGIN" not in repr(settings)
    with pytest.raises(ValueError, match="not both"):
        Settings.from_env({"EDI_PGP_PASSPHRASE": "x", "EDI_PGP_PASSPHRASE_FILE": "/p"})


def test_unconfigured_peer_gets_clear_refusal(ours: PgpKeyring) -> None:
    peers = PgpPeers(ours, {})
    assert peers.wants_open("x", "a.json", b"-----BEGIN PGP MESSAGE-----\n")
    assert not peers.wants_open("x", "a.json.pgp", b"{}")
