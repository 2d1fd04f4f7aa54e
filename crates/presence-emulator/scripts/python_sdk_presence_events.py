#!/usr/bin/env python3
"""Presence events through subscribe: the official PubNub Python SDK against presence-emulator.

Not part of `cargo test` by default (see tests/it/sdk_scripts.rs). Run it from a virtualenv
that has the SDK:

    python3 -m venv /tmp/pnvenv && /tmp/pnvenv/bin/pip install pubnub
    cargo build -p presence-emulator
    /tmp/pnvenv/bin/python crates/presence-emulator/scripts/python_sdk_presence_events.py \
        --binary target/debug/presence-emulator

It starts the emulator twice (free ports, one "second" = 100 ms):

1. a watcher subscribes to `room` with presence and receives its own join, bob's join, a
   state-change carrying bob's state, bob's leave when bob unsubscribes, and the timeout of
   ghost, who heartbeat once and stopped;
2. with `--announce-max 2 --presence-interval 2 --presence-deltas`, three users join and the
   watcher receives an interval event with occupancy 3 whose `join` holds the third user.

Exits non-zero on the first failure.
"""

import argparse
import os
import queue
import subprocess
import sys
import time

from pubnub.callbacks import SubscribeCallback
from pubnub.pnconfiguration import PNConfiguration
from pubnub.pubnub import PubNub

SUB_KEY = "sub-c-python-events"
WAIT = 20.0


class Events(SubscribeCallback):
    def __init__(self):
        self.q = queue.Queue()

    def status(self, pubnub, status):
        pass

    def message(self, pubnub, message):
        pass

    def presence(self, pubnub, presence):
        self.q.put(presence)

    def expect(self, what, pred):
        deadline = time.monotonic() + WAIT
        seen = []
        while time.monotonic() < deadline:
            try:
                e = self.q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append((e.event, e.uuid, e.occupancy))
            if pred(e):
                print(f"  ok: {what}: event={e.event} uuid={e.uuid} occupancy={e.occupancy}"
                      f" state={e.state} join={e.join} channel={e.channel} timetoken={e.timetoken}")
                return e
        raise AssertionError(f"no {what} within {WAIT}s; saw {seen}")


def client(origin, user_id, presence_timeout=300):
    config = PNConfiguration()
    config.subscribe_key = SUB_KEY
    config.publish_key = "pub-c-python-events"
    config.user_id = user_id
    config.ssl = False
    config.origin = origin
    config.set_presence_timeout(presence_timeout)
    return PubNub(config)


def start(binary, extra):
    proc = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--timeout-unit-ms", "100", "--log", "warn"] + extra,
        stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    prefix = "presence-emulator listening on http://"
    if not line.startswith(prefix):
        proc.kill()
        raise SystemExit(f"unexpected first line: {line!r}")
    return proc, line[len(prefix):]


def events_scenario(origin):
    watcher = client(origin, "watcher")
    events = Events()
    watcher.add_listener(events)
    watcher.subscribe().channels(["room"]).with_presence().execute()
    events.expect("own join", lambda e: e.event == "join" and e.uuid == "watcher")

    bob = client(origin, "bob")
    bob.subscribe().channels(["room"]).execute()
    events.expect("another client's join", lambda e: e.event == "join" and e.uuid == "bob"
                  and e.occupancy == 2)

    bob.set_state().channels(["room"]).state({"mood": "busy"}).sync()
    events.expect("state-change with state",
                  lambda e: e.event == "state-change" and e.uuid == "bob"
                  and e.state == {"mood": "busy"})

    bob.unsubscribe().channels(["room"]).execute()
    events.expect("leave on unsubscribe", lambda e: e.event == "leave" and e.uuid == "bob")

    # ghost heartbeats once (20 s presence timeout = 2 s here) and stops.
    ghost = client(origin, "ghost", presence_timeout=20)
    ghost.heartbeat().channels(["room"]).sync()
    events.expect("ghost's join", lambda e: e.event == "join" and e.uuid == "ghost")
    events.expect("timeout of a user who stopped heartbeating",
                  lambda e: e.event == "timeout" and e.uuid == "ghost")


def interval_scenario(origin):
    watcher = client(origin, "watcher")
    events = Events()
    watcher.add_listener(events)
    watcher.subscribe().channels(["hall"]).with_presence().execute()
    events.expect("own join", lambda e: e.event == "join" and e.uuid == "watcher")
    others = []
    for name in ("second", "third"):
        pn = client(origin, name)
        pn.subscribe().channels(["hall"]).execute()
        others.append(pn)
        time.sleep(0.3)
    events.expect("interval with occupancy 3 whose join holds the third user",
                  lambda e: e.event == "interval" and e.occupancy == 3
                  and "third" in (e.join or []))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    failed = False
    for name, extra, scenario in [
        ("events", [], events_scenario),
        ("interval", ["--announce-max", "2", "--presence-interval", "2", "--presence-deltas"],
         interval_scenario),
    ]:
        proc, origin = start(args.binary, extra)
        print(f"{name}: emulator at {origin} {' '.join(extra)}")
        try:
            scenario(origin)
            print(f"{name}: passed")
        except Exception as e:  # noqa: BLE001 - report and go on to the next scenario
            print(f"{name}: FAILED: {e}")
            failed = True
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    sys.stdout.flush()
    # The SDK's subscribe threads wait out their long-poll on stop(); nothing left to keep.
    os._exit(1 if failed else 0)


if __name__ == "__main__":
    main()
