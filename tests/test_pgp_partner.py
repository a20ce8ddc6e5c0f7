"""PGP with a partner's SFTP mailbox (real sshd): 837 files go up sealed, answers come down verified."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from connectors.payer_sim import load_roster, load_rules
from connectors.payer_sim.mailbox import Mailbox
from connectors.pgp import PgpKeyring, pgp_from_config
from connectors.pipeline.runtime import open_pipeline
from connectors.pipeline.sftp_transport import SftpTransports, poll_partner
from edi.partners import SecretRef, TradingPartner, parse_partners
from edi.pipeline import Pipeline
from edi.settings import Settings
from tests.pgp_keys import TestKey, bad_signature_message, make_keys, write_public
from tests.servers.sshd import ClientKey, Sshd, sshd, sshd_key
from tests.test_payer_sim_mailbox import NOW, ROSTER, RULES, x12_837

__all__ = ["sshd", "sshd_key"]  # fixtures, imported for pytest

PASSPHRASE = "ours"
BATCH = b"ISA*00*          *00*          *ZZ*ENGINE01       *ZZ*PAYER01 ~ not PHI, test text~"


@pytest.fixture(scope="module")
def keys() -> dict[str, TestKey]:
    return {**make_keys("us", passphrase=PASSPHRASE), **make_keys("payer")}


@pytest.fixture(scope="module")
def payer(keys: dict[str, TestKey]) -> Iterator[PgpKeyring]:
    with PgpKeyring() as ring:
        ring.set_own_key(keys["payer"].secret, None)
        ring.import_public_key(keys["us"].public, keys["us"].fingerprint)
        yield ring


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Pipeline]:
    pipe = open_pipeline(Settings.from_env({"EDI_DATA_DIR": str(tmp_path / "data")}), create_key=True)
    yield pipe
    pipe.repository.engine.dispose()


def _setup(sshd: Sshd, sshd_key: ClientKey, keys: dict[str, TestKey], box: Path, tmp_path: Path,
           ) -> tuple[PgpKeyring, TradingPartner, SftpTransports]:
    for folder in ("inbound", "outbound"):
        (box / folder).mkdir(parents=True, exist_ok=True)
    known_hosts = sshd.write_known_hosts(tmp_path / "known_hosts")
    public = write_public(keys["payer"], tmp_path)
    config = parse_partners(f"""
partners:
  payer:
    name: Payer
    payer_ids: ["PAYER01"]
    interchange: {{sender_id: ENGINE01, receiver_id: PAYER01}}
    transactions: ["837P"]
    transport:
      sftp: {{host: "{sshd.host}", port: {sshd.port}, username: "{sshd.user}",
              private_key: {{file: "{sshd_key.private_path}"}}, known_hosts: "{known_hosts}",
              inbound_dir: "{box / 'inbound'}", outbound_dir: "{box / 'outbound'}"}}
    pgp: {{public_key: {{file: {public.name}}}, fingerprint: "{keys['payer'].fingerprint}", armor: false}}
""", base_dir=tmp_path)
    env = {"OUR_KEY": keys["us"].secret, "OUR_PASS": PASSPHRASE}
    built = pgp_from_config(config, SecretRef(env="OUR_KEY"), SecretRef(env="OUR_PASS"), environ=env)
    assert built is not None
    ring, _submitters, partners = built
    transports = SftpTransports(pgp=partners, quarantine_dir=tmp_path / "quarantine", connect_timeout=5)
    return ring, config.partner("payer"), transports


def test_batch_up_sealed_and_answers_down_verified(sshd: Sshd, sshd_key: ClientKey, keys: dict[str, TestKey],
                                                   payer: PgpKeyring, pipeline: Pipeline, tmp_path: Path) -> None:
    box = tmp_path / "box"
    ring, partner, transports = _setup(sshd, sshd_key, keys, box, tmp_path)
    try:
        assert transports.upload(partner, "B1.837", BATCH) is None
        (uploaded,) = list((box / "inbound").iterdir())
        assert uploaded.name == "B1.837.pgp" and b"not PHI" not in uploaded.read_bytes()
        assert payer.open_inbound(uploaded.read_bytes(), keys["us"].fingerprint) == BATCH

        answer = b"ISA*00*...*999 answer, not PHI~"
        (box / "outbound" / "999_B1.x12.pgp").write_bytes(payer.seal_outbound(answer, keys["us"].fingerprint))
        forged = bad_signature_message(ring, payer, keys["us"].fingerprint, b"835 not PHI payment~", b"payment")
        (box / "outbound" / "835_B1.x12.pgp").write_bytes(forged)

        assert poll_partner(pipeline, transports, partner) == 1
        (record,) = pipeline.repository.unprocessed_inbound()
        assert record.name == "999_B1.x12" and record.document_type == "999"
        assert pipeline.payloads.get(record.stored.uri) == answer
        assert list((box / "outbound").iterdir()) == []  # both collected: one recorded, one quarantined
        (kept,) = list((tmp_path / "quarantine" / "payer").iterdir())
        assert kept.name.endswith("--835_B1.x12.pgp") and kept.read_bytes() == forged
    finally:
        transports.close()
        ring.close()


def test_one_batch_through_the_payer_simulator_with_pgp(
        sshd: Sshd, sshd_key: ClientKey, keys: dict[str, TestKey], payer: PgpKeyring, pipeline: Pipeline,
        tmp_path: Path) -> None:
    box = Mailbox(tmp_path / "box", load_rules(RULES), load_roster(ROSTER), sender_id="SIMPLAN01",
                  payment_delay_seconds=0, pgp=payer, pgp_submitter=keys["us"].fingerprint)
    ring, partner, transports = _setup(sshd, sshd_key, keys, box.root, tmp_path)
    try:
        assert transports.upload(partner, "B1.x12", x12_837(900)) is None
        assert [p.name for p in box.inbound.iterdir()] == ["B1.x12.pgp"]
        assert box.process_once(NOW) == 1
        assert box.pay_due(NOW + timedelta(seconds=1)) == 1
        sealed = sorted(p.name for p in box.outbound.iterdir())
        assert [name.split("_")[0] for name in sealed] == ["277CA", "835", "999"]
        assert all(name.endswith(".x12.pgp") for name in sealed)
        assert all(not p.read_bytes().startswith(b"ISA") for p in box.outbound.iterdir())
        archived = [p.read_bytes() for p in box.archive.iterdir()]
        assert archived == [x12_837(900)]  # the simulator keeps (and pays from) the plaintext

        assert poll_partner(pipeline, transports, partner) == 3
        records = pipeline.repository.unprocessed_inbound()
        assert sorted(r.name.split("_")[0] for r in records) == ["277CA", "835", "999"]
        for record in records:
            assert not record.name.endswith(".pgp")
            assert pipeline.payloads.get(record.stored.uri).startswith(b"ISA")
    finally:
        transports.close()
        ring.close()
