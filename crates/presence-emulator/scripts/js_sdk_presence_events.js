#!/usr/bin/env node
// Presence events through subscribe: the official PubNub JS SDK (event engine on) against
// presence-emulator. Not part of `cargo test` by default (see tests/it/sdk_scripts.rs).
//
//   (cd /tmp/jssdk && npm install pubnub)
//   cargo build -p presence-emulator
//   NODE_PATH=/tmp/jssdk/node_modules node crates/presence-emulator/scripts/js_sdk_presence_events.js \
//       --binary target/debug/presence-emulator
//
// Same two scenarios as python_sdk_presence_events.py: own join, another client's join, a
// state-change carrying state, a leave on unsubscribe, a timeout of a user who stopped
// heartbeating; then, with --announce-max 2 --presence-interval 2 --presence-deltas, an
// interval event with occupancy 3 whose `join` holds the third user. Exits non-zero on failure.
'use strict';

const { spawn } = require('child_process');
const readline = require('readline');
const PubNub = require('pubnub');

const SUB_KEY = 'sub-c-js-events';
const WAIT_MS = 20000;

function client(origin, userId, presenceTimeout = 300) {
  return new PubNub({
    subscribeKey: SUB_KEY,
    publishKey: 'pub-c-js-events',
    userId,
    origin,
    ssl: false,
    enableEventEngine: true,
    presenceTimeout,
    logVerbosity: false,
  });
}

function watch(pn) {
  const queue = [];
  let waiter = null;
  pn.addListener({
    presence: (e) => {
      queue.push(e);
      if (waiter) waiter();
    },
  });
  return async (what, pred) => {
    const deadline = Date.now() + WAIT_MS;
    const seen = [];
    for (;;) {
      while (queue.length) {
        const e = queue.shift();
        seen.push(`${e.action}:${e.uuid}:${e.occupancy}`);
        if (pred(e)) {
          console.log(`  ok: ${what}: action=${e.action} uuid=${e.uuid} occupancy=${e.occupancy}` +
            ` state=${JSON.stringify(e.state)} join=${JSON.stringify(e.join)} channel=${e.channel} timetoken=${e.timetoken}`);
          return e;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${WAIT_MS} ms; saw ${seen.join(', ')}`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        waiter = () => { clearTimeout(t); waiter = null; resolve(); };
      });
    }
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function start(binary, extra) {
  return new Promise((resolve, reject) => {
    const proc = spawn(binary, ['--listen', '127.0.0.1:0', '--timeout-unit-ms', '100', '--log', process.env.EMU_LOG || 'warn', ...extra],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    const rl = readline.createInterface({ input: proc.stdout });
    rl.once('line', (line) => {
      const prefix = 'presence-emulator listening on http://';
      if (!line.startsWith(prefix)) { proc.kill(); reject(new Error(`unexpected first line ${line}`)); return; }
      resolve({ proc, origin: line.slice(prefix.length) });
    });
    proc.once('error', reject);
  });
}

async function eventsScenario(origin) {
  const watcher = client(origin, 'watcher');
  const expect = watch(watcher);
  watcher.subscribe({ channels: ['room'], withPresence: true });
  await expect('own join', (e) => e.action === 'join' && e.uuid === 'watcher');

  const bob = client(origin, 'bob');
  bob.subscribe({ channels: ['room'] });
  await expect("another client's join", (e) => e.action === 'join' && e.uuid === 'bob' && e.occupancy === 2);

  await bob.setState({ channels: ['room'], state: { mood: 'busy' } });
  await expect('state-change with state', (e) => e.action === 'state-change' && e.uuid === 'bob'
    && JSON.stringify(e.state) === JSON.stringify({ mood: 'busy' }));

  bob.unsubscribe({ channels: ['room'] });
  await expect('leave on unsubscribe', (e) => e.action === 'leave' && e.uuid === 'bob');

  // ghost subscribes with a 20 s presence timeout (2 s here), then its process "dies":
  // it is destroyed without a leave, so nothing keeps it present.
  const ghost = client(origin, 'ghost', 20);
  ghost.subscribe({ channels: ['room'] });
  await expect("ghost's join", (e) => e.action === 'join' && e.uuid === 'ghost');
  ghost.destroy(true);
  await expect('timeout of a user who stopped heartbeating', (e) => e.action === 'timeout' && e.uuid === 'ghost');
  for (const pn of [watcher, bob]) pn.destroy();
}

async function intervalScenario(origin) {
  const watcher = client(origin, 'watcher');
  const expect = watch(watcher);
  watcher.subscribe({ channels: ['hall'], withPresence: true });
  await expect('own join', (e) => e.action === 'join' && e.uuid === 'watcher');
  const others = [];
  for (const name of ['second', 'third']) {
    const pn = client(origin, name);
    pn.subscribe({ channels: ['hall'] });
    others.push(pn);
    await sleep(300);
  }
  await expect('interval with occupancy 3 whose join holds the third user',
    (e) => e.action === 'interval' && e.occupancy === 3 && (e.join || []).includes('third'));
  for (const pn of [watcher, ...others]) pn.destroy();
}

async function main() {
  const i = process.argv.indexOf('--binary');
  if (i < 0 || !process.argv[i + 1]) { console.error('usage: --binary PATH'); process.exit(2); }
  const binary = process.argv[i + 1];
  let failed = false;
  for (const [name, extra, scenario] of [
    ['events', [], eventsScenario],
    ['interval', ['--announce-max', '2', '--presence-interval', '2', '--presence-deltas'], intervalScenario],
  ]) {
    const { proc, origin } = await start(binary, extra);
    console.log(`${name}: emulator at ${origin} ${extra.join(' ')} (pubnub ${PubNub.prototype.getVersion ? new PubNub({ subscribeKey: 'x', userId: 'x' }).getVersion() : '?'})`);
    try {
      await scenario(origin);
      console.log(`${name}: passed`);
    } catch (e) {
      console.log(`${name}: FAILED: ${e.message}`);
      failed = true;
    } finally {
      proc.kill();
    }
  }
  process.exit(failed ? 1 : 0);
}

main();
