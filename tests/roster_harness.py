"""A submitter's eligibility roster over the SFTP door, end to end: shared by the roster test and
``benchmarks/bench_roster.py`` so the benchmark measures exactly what the test proves.

``roster(n)`` makes a CSV of ``n`` members (seeded, the same bytes every run) and the payer
simulator's member list: most rows are enrolled members (active, or inactive: EB*1 / EB*6), every
``UNKNOWN_EVERY``-th row names a member the payer does not know (AAA 75). ``RosterRig`` runs the
embedded pipeline (every stage, the doors, the payer simulator) on a temporary data dir; the
sample submitter takes its CSV rosters in through the mapping below and has its answers written
in the layout asked for (``files`` or ``jsonl``).
"""

from __future__ import annotations

import asyncio
import io
import random
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
import yaml

from connectors.ingest.replies import DoorReplies
from connectors.ingest.runner import DoorRunner
from connectors.payer_sim.embedded import EmbeddedPayerSim
from connectors.pipeline.runner import PipelineRunner
from connectors.pipeline.runtime import open_pipeline
from connectors.pipeline.sample import SUBMITTER_ID, write_sample_config
from edi.pipeline import Pipeline
from edi.settings import DoorSettings, Settings

HERE = Path(__file__).resolve().parent
RULES = HERE / "fixtures" / "payer_sim" / "rules.yaml"
SIM_PASSWORD = "sim-pw-123456"
DOOR_PASSWORD = "door-password-1"
UNKNOWN_EVERY = 37  # one row in 37 names a member the payer does not have
INACTIVE_EVERY = 11  # one enrolled member in 11 is inactive
FIRST = ["PAT", "JO", "AL", "MARIA", "SAM", "LEE", "KIM", "ANA", "LUIS", "EVA"]
LAST = ["DOE", "ROE", "POE", "SMITH", "GARCIA", "NGUYEN", "BROWN", "LOPEZ", "KHAN", "MILLER"]

MAPPING = {
    "kind": "eligibility",
    "format": "csv",
    "match": "*.csv",
    "date_format": "%m/%d/%Y",
    "fields": {
        "controlNumber": {"counter": 9},
        "tradingPartnerServiceId": {"value": "SIMPLAN01"},
        "provider.organizationName": {"value": "HAPPY CLINIC"},
        "provider.npi": {"value": "1234567893"},
        "subscriber.memberId": {"column": "MEMBER_ID", "required": True},
        "subscriber.firstName": "FIRST_NAME",
        "subscriber.lastName": "LAST_NAME",
        "subscriber.dateOfBirth": {"column": "DOB", "date": True, "required": True},
        "subscriber.gender": {"column": "SEX", "map": {"Male": "M", "Female": "F"}},
        "encounter.dateOfService": {"column": "SERVICE_DATE", "date": "%Y-%m-%d"},
        "encounter.serviceTypeCodes[0]": {"value": "30"},
    },
}


@dataclass(frozen=True)
class Roster:
    csv: bytes
    members: list[dict[str, Any]]  # the payer simulator's roster entries
    expected: dict[int, tuple[str, str]]  # file line number -> (member id, "active" | "inactive" | "unknown")


def roster(rows: int, seed: int = 0) -> Roster:
    rng = random.Random(seed)
    out = io.StringIO()
    out.write("MEMBER_ID,FIRST_NAME,LAST_NAME,DOB,SEX,SERVICE_DATE\n")
    members: list[dict[str, Any]] = []
    expected: dict[int, tuple[str, str]] = {}
    for n in range(rows):
        year, month, day = rng.randint(1930, 2015), rng.randint(1, 12), rng.randint(1, 28)
        first, last, sex = rng.choice(FIRST), rng.choice(LAST), rng.choice(["Male", "Female"])
        member_id = f"RM{n:08d}"
        if n % UNKNOWN_EVERY == UNKNOWN_EVERY - 1:
            outcome = "unknown"
        else:
            outcome = "inactive" if n % INACTIVE_EVERY == 3 else "active"
            members.append({"member_id": member_id, "first_name": first, "last_name": last,
                            "date_of_birth": f"{year}{month:02d}{day:02d}", "gender": sex[0], "status": outcome,
                            "plan": "GOLD PPO", "group_number": "GRP100", "coverage_begin": "20000101"})
        out.write(f"{member_id},{first},{last},{month:02d}/{day:02d}/{year},{sex},2024-05-{rng.randint(1, 28):02d}\n")
        expected[n + 2] = (member_id, outcome)  # line 1 is the header
    return Roster(out.getvalue().encode(), members, expected)


@dataclass
class RosterRig:
    pipeline: Pipeline
    sftp_port: int
    known_hosts: Any
    outbound: Path  # the sample submitter's /outbound on the door's disk

    async def _session(self, work: Any) -> Any:
        async with asyncssh.connect("127.0.0.1", self.sftp_port, username=SUBMITTER_ID, password=DOOR_PASSWORD,
                                    known_hosts=self.known_hosts, client_keys=[], agent_path=None,
                                    config=None) as conn, conn.start_sftp_client() as sftp:
            return await work(sftp)

    def upload(self, name: str, data: bytes) -> None:
        """Put the file in /inbound as an SFTP client does; returns once the door has taken it in."""
        async def put(sftp: Any) -> None:
            async with sftp.open(f"/inbound/{name}", "wb") as f:
                await f.write(data)

        asyncio.run(self._session(put))

    def listdir(self) -> list[str]:
        async def names(sftp: Any) -> list[str]:
            return [n for n in await sftp.listdir("/outbound") if n not in (".", "..")]

        return asyncio.run(self._session(names))

    def read(self, name: str) -> bytes:
        async def get(sftp: Any) -> bytes:
            async with sftp.open(f"/outbound/{name}", "rb") as f:
                return bytes(await f.read())

        return asyncio.run(self._session(get))

    def wait_for(self, count: Any, target: int, *, stall: float = 300.0, poll: float = 0.5) -> float:
        """Poll ``count()`` (answers on the door's disk) until it reaches ``target``; the monotonic
        time it did. Fails when nothing new arrived for ``stall`` seconds: a stuck pipeline, not a
        slow one (the machine may be shared)."""
        last, since = -1, time.monotonic()
        while True:
            now, found = time.monotonic(), count()
            if found >= target:
                return now
            if found != last:
                last, since = found, now
            elif now - since > stall:
                raise AssertionError(f"{found} of {target} answers, none new for {stall:.0f} s")
            time.sleep(poll)

    def response_files(self) -> int:
        return sum(1 for p in self.outbound.iterdir() if p.name.endswith(".eligibility.response.json"))

    def jsonl_lines(self, name: str = "roster.csv") -> int:
        """Whole lines of NAME.responses.jsonl, plus one once its .done marker is there."""
        path = self.outbound / f"{name}.responses.jsonl"
        lines = path.read_bytes().count(b"\n") if path.exists() else 0
        return lines + (self.outbound / f"{name}.responses.done").exists()


@contextmanager
def roster_rig(tmp: Path, members: list[dict[str, Any]], *, answers: str = "files",
               prefetch: int = 1) -> Iterator[RosterRig]:
    """The embedded pipeline, doors and payer simulator; the sample submitter's SFTP answers in
    the ``answers`` layout; ``prefetch`` as ``edi worker --prefetch``."""
    with ExitStack() as stack:
        sim = EmbeddedPayerSim({"payer": {"name": "SIMULATED HEALTH PLAN", "id": "SIMPLAN01"},  # type: ignore[arg-type]
                                "members": members}, RULES, tmp / "mailbox", sftp_password=SIM_PASSWORD,
                               payment_delay=0.3, poll_seconds=0.1).start()
        stack.callback(sim.stop)
        env = {"EDI_DATA_DIR": str(tmp / "data"), "EDI_SFTP_DOOR_PORT": "0"}
        config = write_sample_config(tmp / "cfg", core_url=sim.core_url, sftp_port=sim.sftp_port,
                                     known_hosts_line=sim.known_hosts_line(), sftp_password=SIM_PASSWORD,
                                     window_seconds=1.0, poll_seconds=0.3, doors_dir=tmp / "doors",
                                     door_password=DOOR_PASSWORD)
        (tmp / "cfg" / "roster-mapping.yaml").write_text(yaml.safe_dump(MAPPING), encoding="utf-8")
        partners = yaml.safe_load(config.partners_file.read_text(encoding="utf-8"))
        doors = partners["submitters"][SUBMITTER_ID]["doors"]
        doors["mappings"] = ["roster-mapping.yaml"]
        doors["sftp"]["answers"] = answers
        config.partners_file.write_text(yaml.safe_dump(partners, sort_keys=False), encoding="utf-8")
        settings = Settings.from_env(env)
        pipeline = open_pipeline(settings, partners_file=config.partners_file, create_key=True)
        stack.callback(pipeline.repository.engine.dispose)
        door_settings = DoorSettings.from_env(env)
        replies = DoorReplies.from_config(pipeline.partners.submitters, door_settings)
        runner = PipelineRunner(pipeline, broker_url=f"sqla+sqlite:///{tmp / 'data' / 'broker.db'}",
                                sweep_interval=0.5, poll_interval=0.5, replies=replies,
                                prefetch=prefetch).start()
        stack.callback(runner.stop)
        door_runner = DoorRunner(pipeline, door_settings).start()
        stack.callback(door_runner.stop)
        server = door_runner.sftp_server
        yield RosterRig(pipeline, server.port, asyncssh.import_known_hosts(server.known_hosts_line()),
                        door_settings.sftp_root / SUBMITTER_ID / "outbound")


def answer_matches(document: dict[str, Any], member_id: str, outcome: str) -> bool:
    """Is this 271 answer the one the simulator owes this member (EB*1, EB*6, or AAA 75)?"""
    response = (document.get("data") or {}).get("response") or {}
    subscriber = response.get("subscriber") or {}
    codes = [e.get("code") for e in subscriber.get("aaaErrors") or []]
    benefits = [b.get("code") for b in response.get("benefitsInformation") or []]
    if subscriber.get("memberId") != member_id:  # the 271 echoes the member asked about
        return False
    if outcome == "unknown":
        return codes == ["75"] and not benefits
    return not codes and benefits[:1] == (["1"] if outcome == "active" else ["6"])


