"""Slack acknowledgements: `referent-bot run`'s Slack front beside a bare slack-bolt app.

    python -m bench.slack [--quick] [--rate 25] [--repeat 6]

Every slash command (French and English names, from handlers.chat.commands.REGISTRY) and every
button (every action of handlers.chat.actions.REGISTRY, chart requests included) is posted, signed
as Slack signs it, to the bot's HTTP endpoint (`referent-bot run`, its own process, Slack front
plus notifier and chart pool, on the bench world of bench/world.py), at a fixed rate; the
figure is the time to the HTTP answer (the acknowledgement Slack waits 3 seconds for). The
buttons' references are the real ones: found by walking the replies of every command and of
the buttons they show, as a referent would, on a copy of the database. The work after the
acknowledgement (use case, chart drawing, Web API calls to the fake Slack) runs meanwhile.
The baseline is bench/slack_echo.py (a bare AsyncApp that acks at once), same requests, same
rate. Goal: p99 <= 150 ms.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import shutil
import tempfile
import time
import urllib.parse
from collections import defaultdict
from pathlib import Path

import aiohttp

from bench import world as bench_world
from bench.common import Figure, free_port, parser, percentile, ratio, report
from bench.process import SIGNING_SECRET, bot_config, run_bot, spawn, wait_port
from handlers.chat import actions, commands, pending_input
from handlers.chat.bindings import ChatPlace
from handlers.chat.linking import ChatAccount
from handlers.core.actions import Press
from handlers.core.context import Context
from handlers.core.reply import Button
from handlers.dashboard import charts
from storage.engine import make_engine, make_sessionmaker
from tests.bot.slack.fake_slack_api import TEAM, FakeSlack

GOAL_P99_MS = 150.0
SLACK_LIMIT_MS = 3000.0
CHART_ACTIONS = {action.name for action in charts.ACTIONS}
CHART_COMMANDS = set(charts.COMMAND.words)
#: The commands a slash command runs: the menu's (the chat entry's own words need a place).
COMMANDS = [command for command in commands.REGISTRY if command.listed]
#: Presses that change or remove what the walk needs next: their references are noted, not
#: followed.
NOT_FOLLOWED = {
    "approve", "refuse", "approve_all_ok", "refuse_all_ok", "approve_matching_ok", "set_status",
    "remove_ok", "members_hidden", "ads_hidden", "validation_set", "language", "add_as",
    "delete", "identifiers", "cancel",
}  # fmt: skip
assert set(actions.REGISTRY.words) >= NOT_FOLLOWED, NOT_FOLLOWED - set(actions.REGISTRY.words)


def sign(body: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    digest = hmac.new(
        SIGNING_SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256
    ).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}


def channel_of(referent: bench_world.Referent) -> str:
    return f"D0BENCH{referent.index:04d}"


def command_body(referent: bench_world.Referent, text: str, fake_url: str) -> str:
    return urllib.parse.urlencode({
        "token": "legacy", "team_id": TEAM, "team_domain": "passpass",
        "channel_id": channel_of(referent), "channel_name": "directmessage",
        "user_id": referent.slack_id, "user_name": f"r{referent.index}", "command": "/passpass",
        "text": text, "api_app_id": "A0PASSPASS", "response_url": f"{fake_url}/response/cmd",
        "trigger_id": f"trigger-{time.time()}",
    })  # fmt: skip


def press_body(referent: bench_world.Referent, action: str, ref: str, fake_url: str) -> str:
    value = actions.callback_data(action, ref)
    ts = f"{time.time():.6f}"
    payload = {
        "type": "block_actions", "api_app_id": "A0PASSPASS", "token": "legacy",
        "user": {"id": referent.slack_id, "team_id": TEAM}, "team": {"id": TEAM},
        "container": {"type": "message", "message_ts": ts, "channel_id": channel_of(referent),
                      "is_ephemeral": False},
        "channel": {"id": channel_of(referent)}, "trigger_id": f"trigger-{time.time()}",
        "message": {"ts": ts, "type": "message"},
        "response_url": f"{fake_url}/response/{ts}",
        "actions": [{"action_id": "rb:0", "block_id": "b", "type": "button", "value": value,
                     "action_ts": ts}],
    }  # fmt: skip
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def discover(url: str, referents: list[bench_world.Referent]) -> dict[str, list[tuple[int, str]]]:
    """action -> [(referent index, ref)]: the buttons each referent is shown, walking from every
    command through the buttons it offers (on the database given: pass a copy)."""
    engine = make_engine(url)
    ctx = Context(make_sessionmaker(engine))
    found: dict[str, list[tuple[int, str]]] = defaultdict(list)
    try:
        for referent in referents:
            account = ChatAccount("slack", referent.slack_id, team_id=TEAM)
            place = ChatPlace("slack", channel_of(referent), TEAM, is_group=False)
            seen: set[str] = set()
            queue: list[Button] = []
            for command in COMMANDS:
                reply = pending_input.on_command(ctx, account, place, command.name, [], "fr").reply
                pending_input.clear(ctx, account, place)
                queue.extend(b for row in reply.buttons for b in row)
            while queue:
                button = queue.pop(0)
                if button.action in seen:
                    continue
                seen.add(button.action)
                found[button.action].append((referent.index, button.ref))
                if button.action in NOT_FOLLOWED or button.input is not None:
                    continue
                press = Press(button.action, button.ref)
                answer = pending_input.on_press(ctx, account, place, press, "fr", "D:1")
                pending_input.clear(ctx, account, place)
                queue.extend(b for row in answer.reply.buttons for b in row)
    finally:
        engine.dispose()
    return found


async def fire(session: aiohttp.ClientSession, endpoint: str, body: str) -> tuple[int, float]:
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    started = time.perf_counter()
    async with session.post(endpoint, data=body, headers=headers) as response:
        await response.read()
        return response.status, (time.perf_counter() - started) * 1000


async def measure(endpoint: str, requests: list[tuple[str, str]], rate: float) -> dict:
    """kind -> [ms], for `requests` [(kind, body)] posted at `rate` a second."""
    results: dict[str, list[float]] = defaultdict(list)
    failed: list[tuple[str, int]] = []
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as session:
        for _kind, body in requests[:5]:  # warm-up: connections, the first queries
            await fire(session, endpoint, body)

        async def one(kind: str, body: str) -> None:
            status, ms = await fire(session, endpoint, body)
            if status == 200:
                results[kind].append(ms)
            else:
                failed.append((kind, status))

        tasks = []
        start = loop.time()
        for index, (kind, body) in enumerate(requests):
            delay = start + index / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one(kind, body)))
        await asyncio.gather(*tasks)
    return {"acks": results, "failed": failed}


def build_requests(world: bench_world.BenchWorld, found: dict, repeat: int, fake_url: str):
    """(kind, body) for every command name and every action, `repeat` times each, interleaved,
    spread over the referents the walk found references for."""
    referents = {r.index: r for r in world.referents}
    rounds = []
    for turn in range(repeat):
        batch = []
        for position, command in enumerate(COMMANDS):
            for name in dict.fromkeys((command.name, command.english)):
                referent = world.referents[(turn * 7 + position) % len(world.referents)]
                batch.append((f"/passpass {name}", command_body(referent, name, fake_url)))
        for action in sorted(actions.REGISTRY.words):
            # an action no button led to: pressed with its community as reference (the use case
            # may refuse it as a bad button; the acknowledgement is measured all the same)
            refs = found.get(action) or [(0, str(referents[0].community_id))]
            index, ref = refs[turn % len(refs)]
            batch.append((f"button {action}", press_body(referents[index], action, ref,
                                                         fake_url)))  # fmt: skip
        rounds.append(batch)
    # the destructive presses of each round go last, so that a round's walk stays valid
    return [request for batch in rounds for request in batch]


def summarise(acks: dict[str, list[float]], select) -> list[float]:
    return [ms for kind, values in acks.items() if select(kind) for ms in values]


def is_chart(kind: str) -> bool:
    word = kind.split(" ", 1)[1]
    return word in CHART_ACTIONS or word in CHART_COMMANDS


async def run(repeat: int, rate: float, walkers: int, referents: int) -> tuple[list, list]:
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-slack-") as name:
        folder = Path(name)
        world = bench_world.build(folder / "bench.sqlite3", referents, 6)
        shutil.copyfile(folder / "bench.sqlite3", folder / "walk.sqlite3")
        found = discover(f"sqlite:///{folder / 'walk.sqlite3'}", list(world.referents[:walkers]))
        missing = sorted(set(actions.REGISTRY.words) - set(found))
        fake = FakeSlack()
        await fake.start()
        try:
            requests = build_requests(world, found, repeat, fake.url)
            port = free_port()
            config = bot_config(folder, world.url, slack_url=fake.api_url, slack_port=port)
            child = run_bot(config, folder / "bot-slack.log")
            try:
                await wait_port(port, child)
                bot = await measure(f"http://127.0.0.1:{port}/slack/events", requests, rate)
                await asyncio.sleep(3.0)  # the work after the last acknowledgements
                child.check()
            finally:
                await child.stop()
            port = free_port()
            echo_child = spawn(["-m", "bench.slack_echo", "--api-url", fake.api_url,
                                "--port", str(port)], folder / "echo-slack.log")  # fmt: skip
            try:
                await wait_port(port, echo_child)
                echo = await measure(f"http://127.0.0.1:{port}/slack/events", requests, rate)
            finally:
                await echo_child.stop()
            answered = len(fake.of("chat.postMessage")) + len(fake.of("chat.postEphemeral"))
            updates = len(fake.of("chat.update"))
            uploads = len(fake.of("files.completeUploadExternal"))
            modals = len(fake.of("views.open"))
        finally:
            await fake.stop()
    figures: list[Figure] = []
    groups = (
        ("commands", lambda k: k.startswith("/") and not is_chart(k)),
        ("buttons", lambda k: k.startswith("button") and not is_chart(k)),
        ("chart requests", is_chart),
        ("all", lambda k: True),
    )
    for label, select in groups:
        mine, base = summarise(bot["acks"], select), summarise(echo["acks"], select)
        for q in (50, 99):
            value, baseline = percentile(mine, q), percentile(base, q)
            goal = f"<= {GOAL_P99_MS:.0f} ms" if q == 99 else ""
            figures.append(Figure(
                f"ack {label} p{q} ({len(mine)} requests)", value, "ms", baseline,
                ratio(value, baseline), goal, value <= GOAL_P99_MS if q == 99 else None,
            ))  # fmt: skip
    worst_kind, worst = max(
        ((kind, percentile(values, 99)) for kind, values in bot["acks"].items()),
        key=lambda item: item[1],
    )
    figures.append(Figure(
        f"slowest kind p99: {worst_kind}", worst, "ms",
        percentile(echo["acks"].get(worst_kind, []), 99), None,
        f"< {SLACK_LIMIT_MS:.0f} ms (Slack)", worst < SLACK_LIMIT_MS,
    ))  # fmt: skip
    kinds = sorted(bot["acks"])
    notes.append(
        f"{len(requests)} signed requests at {rate:.0f} a second: "
        f"{sum(1 for k in kinds if k.startswith('/'))} command names and "
        f"{sum(1 for k in kinds if k.startswith('button'))} of the {len(actions.REGISTRY)} "
        f"button actions, {repeat} times each. Refused or failed: bot {len(bot['failed'])}, "
        f"echo {len(echo['failed'])}. Replies seen by the fake Slack: {answered} messages, "
        f"{updates} updates, {uploads} file uploads, {modals} modals opened."
    )
    if missing:
        notes.append(
            "Actions no button led to in the walk (pressed with a made-up reference, "
            "the community's id): " + ", ".join(missing) + "."
        )
    per_kind = ", ".join(
        f"{kind.split(' ', 1)[1]} {percentile(bot['acks'][kind], 99):.0f}" for kind in kinds
    )
    notes.append(f"p99 by kind (ms): {per_kind}.")
    return figures, notes


def main(argv: list[str] | None = None) -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--rate", type=float, default=25.0)
    args.add_argument("--repeat", type=int, default=6)
    options = args.parse_args(argv)
    repeat, walkers, referents = (1, 1, 10) if options.quick else (options.repeat, 6, 100)
    figures, notes = asyncio.run(run(repeat, options.rate, walkers, referents))
    report("Slack acknowledgements", figures, notes, options.json)


if __name__ == "__main__":
    main()
