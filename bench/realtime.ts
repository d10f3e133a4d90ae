/**
 * `npm run bench:realtime` (part 5 of `npm run bench`). Issue: "realtime push: p99 <= 50 ms end to end at 1,000
 * messages/s across two instances; <= 20 KB per idle connection", beside the anchor's published figures
 * (Centrifugo: p99 <= 200 ms end to end, about 30 KB per idle connection).
 *
 * 1. Latency. On PostgreSQL + Redis two instances over one fresh database, joined by Redis; otherwise one. Each is
 *    a process of its own. BENCH_USERS users x 2 devices subscribe through ChatlogClient (no `since`, each waits
 *    for `ready`); device 1 of user i on instance i % 2, device 2 on the other. Senders push JSON text messages
 *    through the instance not holding the recipient's device 1, open loop at BENCH_RATE messages/s for a warm-up
 *    and BENCH_DURATION seconds; the send time is in the content, the latency taken when the `message` frame
 *    arrives. Every message must arrive exactly once on both devices of its recipient.
 * 2. Memory. One instance in a process of its own; its VmRSS and (through the probe beside it) its V8 heap after a
 *    full GC, before and after BENCH_IDLE_CONNECTIONS idle sockets of distinct users, after a warm-up of 100
 *    sockets opened and closed again. Then SIGTERM with the sockets open: each must be closed with 1001 and the
 *    server exit 0.
 *
 *   npm run bench:realtime
 *   DATABASE_URL=postgres://root@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 BENCH_RATE=500 npm run bench:realtime
 *
 * Settings: BENCH_DURATION (s, 10), BENCH_WARMUP (s, 5), BENCH_RATE (messages/s, 1000), BENCH_USERS (100; in
 * `npm run bench`, BENCH_REALTIME_USERS), BENCH_IDLE_CONNECTIONS (10000), BENCH_CPU_PROF (latency servers).
 * Exit status 1 when the figures are invalid (a push failed, a receipt is missing or repeated, a socket dropped, a
 * server did not exit cleanly); a MISS of a target is reported, not an exit status.
 */
import 'dotenv/config';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChatlogEvent } from '../src/client/index.js';
import { summarise, type LatencySummary } from './lib/load.js';
import { Deliveries, timedText } from './lib/deliveries.js';
import { OpenLoop, untilDoneOrQuiet } from './lib/open-loop.js';
import { cpuProfile } from './lib/profile.js';
import { SOCKET_BATCH, httpFetch, subscribeAll } from './lib/subscribers.js';
import {
  environmentLines,
  fixed,
  formatTable,
  integerSetting,
  isMain,
  printReport,
  progress,
  verdictOf,
  type Headline,
  type PartOutcome,
} from './lib/report.js';
import type { Child } from './lib/child.js';
import { engine, engineDescription, runMain, startServers } from './lib/servers.js';
import { describeBound, mark, usageBetween, usageLine, type Mark } from './lib/usage.js';

const TARGET_P99_MS = 50;
const TARGET_KB_PER_CONNECTION = 20;
const ANCHOR = 'Centrifugo';
const DEVICES = 2;
/** Past this many pushes in flight the servers have fallen behind: further sends are dropped, not queued. */
const MAX_IN_FLIGHT = 1000;
const WARMUP_SOCKETS = 100;

/** Wall-clock ms with sub-millisecond resolution; the same clock stamps the send and the receipt. */
const now = () => performance.timeOrigin + performance.now();
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export type RealtimeSettings = ReturnType<typeof readRealtimeSettings>;

export function readRealtimeSettings(usersVariable = 'BENCH_USERS') {
  return {
    seconds: integerSetting('BENCH_DURATION', 10, 1, 3600),
    warmup: integerSetting('BENCH_WARMUP', 5, 0, 600),
    rate: integerSetting('BENCH_RATE', 1000, 1, 100_000),
    users: integerSetting(usersVariable, 100, 1, 10_000),
    idleConnections: integerSetting('BENCH_IDLE_CONNECTIONS', 10_000, 1, 1_000_000),
  };
}

async function latencyPart(settings: RealtimeSettings): Promise<PartOutcome> {
  const { users, rate } = settings;
  const profile = cpuProfile('realtime');
  const servers = await startServers({ instances: engine.instances, nodeArgs: profile.nodeArgs });
  const instances = servers.urls.length;
  const instanceOf = (user: number, device: number) => (user + device) % instances;
  /** A message to `user` goes through the instance not holding its device 1. */
  const pushInstanceOf = (user: number) => (user + 1) % instances;
  const receivers = Array.from({ length: users }, (_, i) => `r-${i}`);
  const warmupCount = settings.warmup * rate;
  const total = warmupCount + settings.seconds * rate;
  const deliveries = new Deliveries(total, DEVICES);
  const [e2e, pushLatency]: number[][] = [[], []];
  const e2eBy: number[][] = servers.urls.map(() => []);
  const loop = new OpenLoop(total, rate, MAX_IN_FLIGHT);
  const tally = { okInWindow: 0, misdelivered: 0, unexpected: 0, dropsDuringRun: 0 };
  let outcome: PartOutcome;
  try {
    const onEvent = (socket: number) => {
      const [user, device] = [Math.floor(socket / DEVICES), socket % DEVICES];
      return (event: ChatlogEvent) => {
        const at = now();
        const timed = deliveries.read(event);
        if (!timed || event.type !== 'message') return void tally.unexpected++;
        const { n, sentAt } = timed;
        if (event.record.targetId !== receivers[user] || n % users !== user) tally.misdelivered++;
        deliveries.record(n, device);
        if (n < warmupCount) return;
        e2e.push(at - sentAt);
        e2eBy[(instanceOf(user, device) - pushInstanceOf(user) + instances) % instances]!.push(at - sentAt);
      };
    };
    progress(`connecting ${users} users x ${DEVICES} devices, each waiting for ready`);
    const receiverClients = Array.from(
      { length: users * DEVICES },
      (_, i) => () => servers.client(receivers[Math.floor(i / DEVICES)]!, instanceOf(Math.floor(i / DEVICES), i % DEVICES)),
    );
    const sockets = await subscribeAll(receiverClients, onEvent);
    for (const socket of sockets) void socket.closed.then(() => tally.dropsDuringRun++);
    const transport = httpFetch();
    const senders = await Promise.all(Array.from({ length: users }, (_, i) => servers.client(`s-${i}`, pushInstanceOf(i), transport)));

    let windowStart: Mark | undefined;
    let inWindow = false;
    const push = (n: number) => {
      const user = n % users;
      const started = now();
      return senders[user]!.push({
        channelType: 0,
        msgId: `m-${n}`,
        targetId: receivers[user]!,
        msgType: 1,
        content: { content: timedText(n, started) },
      }).then(() => {
        if (inWindow) tally.okInWindow++;
        if (n >= warmupCount) pushLatency.push(now() - started);
      });
    };
    progress(`sending ${rate} messages/s open loop: ${settings.warmup} s warm-up, then ${settings.seconds} s measured`);
    const startedAt = now();
    const ticker = setInterval(() => progress(`  ${((now() - startedAt) / 1000).toFixed(0)} s: ${loop.status()}; ${deliveries.received} receipts`), 1000);
    await loop.run(push, (n) => {
      if (n === warmupCount) [windowStart, inWindow] = [mark(servers.children), true];
    });
    const windowEnd = mark(servers.children);
    inWindow = false;
    progress(`all sends issued; waiting for ${loop.inFlight} pushes in flight and the last receipts`);
    await loop.settle();
    await untilDoneOrQuiet(
      () => deliveries.received >= loop.ok * DEVICES,
      () => deliveries.received,
      3000,
      Infinity,
    );
    clearInterval(ticker);
    const drops = tally.dropsDuringRun;
    for (const socket of sockets) socket.subscription.close();
    const start = windowStart ?? windowEnd;
    const usage = await usageBetween(start, windowEnd);
    const windowSeconds = (windowEnd.at - start.at) / 1000;
    const { missing, ofFailed } = deliveries.check(loop.state);
    const summary = summarise(e2e);
    const answeredRate = tally.okInWindow / windowSeconds;
    const reached = loop.dropped === 0 && answeredRate >= rate * 0.95;
    const valid = loop.failed + missing + deliveries.duplicates + tally.misdelivered + tally.unexpected + drops + ofFailed === 0 && summary.count > 0;
    const row = (label: string, s: LatencySummary) => [label, String(s.count), fixed(s.p50, 2), fixed(s.p99, 2), fixed(s.max, 1), fixed(s.mean, 2)];
    const bound = valid
      ? [
          reached
            ? ''
            : `the servers answered ${fixed(answeredRate, 0)} of ${rate} pushes/s (${loop.dropped} sends dropped at ${MAX_IN_FLIGHT} in flight): the latency is queueing`,
          describeBound(usage),
        ]
          .filter(Boolean)
          .join('; ')
      : `failed pushes ${loop.failed}, missing ${missing}, duplicate ${deliveries.duplicates}, misdelivered ${tally.misdelivered}, other frames ${tally.unexpected}, sockets dropped ${drops}`;
    const lines = [
      `latency:  ${instances > 1 ? `${instances} instances, each` : 'one instance'} in a process of its own, over one ${engine.name} database; ${users} users x ${DEVICES} devices subscribed through ChatlogClient;`,
      `          senders push JSON text messages${instances > 1 ? " through the instance not holding the recipient's device 1" : ''}, open loop ${rate}/s, ${settings.warmup} s warm-up + ${settings.seconds} s measured`,
      '',
      formatTable(
        ['latency, measured window', 'count', 'p50 ms', 'p99 ms', 'max ms', 'mean ms'],
        [
          row('end to end: push -> WebSocket message frame', summary),
          ...(instances > 1
            ? [row('  socket on the pushing instance', summarise(e2eBy[0]!)), row('  socket on the other instance', summarise(e2eBy[1]!))]
            : []),
          row('push: HTTP request -> answer', summarise(pushLatency)),
        ],
      ),
      `delivery: ${loop.sent} of ${total} sent (${loop.dropped} dropped at the in-flight cap), ${loop.ok} answered OK, ${loop.failed} failed; ` +
        `${deliveries.received} frames for ${loop.ok * DEVICES} expected: ${missing} missing, ${deliveries.duplicates} duplicate, ${tally.misdelivered} misdelivered, ${tally.unexpected} other, ${ofFailed} of failed pushes; ${drops} sockets dropped`,
      `measured window: ${fixed(answeredRate, 0)} pushes answered OK/s (asked ${rate}/s); ${usageLine(usage)}`,
      ...[...loop.failures].map(([why, n]) => `  push failure: ${n} x ${why}`),
    ];
    const headline: Headline = {
      figure: `realtime: end-to-end p99 at ${rate} msg/s, ${instances > 1 ? `${instances} instances` : '1 instance'} (p50)`,
      measured: `${fixed(summary.p99, 1)} ms (${fixed(summary.p50, 1)})`,
      target: `<= ${TARGET_P99_MS} ms (${ANCHOR} <= 200)`,
      verdict: verdictOf(valid, reached && summary.p99 <= TARGET_P99_MS),
      bound,
    };
    outcome = { lines, headlines: [headline], valid };
  } finally {
    await servers.close();
  }
  outcome.lines.push(...profile.lines());
  return outcome;
}

/** VmRSS as found and after a full GC, and the heap after it. */
async function readMemory(child: Child) {
  const rssAsFound = child.rss();
  const sample = await child.sample(true);
  return { rssAsFound, rss: child.rss(), sample };
}

async function memoryPart(settings: RealtimeSettings): Promise<PartOutcome> {
  const connections = settings.idleConnections;
  // One descriptor per socket here and in the server (which inherits this limit), plus a margin.
  const limit = Number(/^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? Infinity);
  if (limit < connections + WARMUP_SOCKETS + 1000)
    throw new Error(`ulimit -n is ${limit}: ${connections} idle sockets need about ${connections + WARMUP_SOCKETS + 1000}`);
  const servers = await startServers();
  const child = servers.children[0]!;
  const clients = (from: number, n: number) => Array.from({ length: n }, (_, i) => () => servers.client(`idle-${from + i}`));
  let before, after, sockets, connectSeconds, stillOpen;
  try {
    progress(`memory: warm-up, ${WARMUP_SOCKETS} sockets opened and closed again`);
    for (const socket of await subscribeAll(clients(connections, WARMUP_SOCKETS))) socket.subscription.close();
    await sleep(2000);
    before = await readMemory(child);
    progress(`opening ${connections} idle sockets of distinct users, ${SOCKET_BATCH} at a time`);
    const started = now();
    sockets = await subscribeAll(
      clients(0, connections),
      undefined,
      (opened) => opened % 1000 < SOCKET_BATCH && progress(`  ${opened} sockets ready, server VmRSS ${mb(child.rss())}`),
    );
    connectSeconds = (now() - started) / 1000;
    let dropped = 0;
    for (const socket of sockets) void socket.closed.then(() => dropped++);
    await sleep(5000);
    after = await readMemory(child);
    stillOpen = connections - dropped;
  } catch (err) {
    await servers.close().catch(() => undefined);
    throw err;
  }
  progress('SIGTERM to the server with every socket open: each must be closed with 1001, and the server exit 0');
  const exitProblem = await servers.close().then(
    () => undefined,
    (err: Error) => err.message,
  );
  const codes = await Promise.race([Promise.all(sockets.map((s) => s.closed)), sleep(5000).then(() => [] as number[])]);
  for (const socket of sockets) socket.subscription.close();
  const closeCodes = new Map<number, number>();
  for (const code of codes) closeCodes.set(code, (closeCodes.get(code) ?? 0) + 1);
  const valid = exitProblem === undefined && stillOpen === connections && closeCodes.get(1001) === connections;
  const growth = (a: number, b: number) => (b - a) / connections / 1024;
  const heap = growth(before.sample.heapUsed, after.sample.heapUsed);
  const rss = growth(before.rss, after.rss);
  // The verdict should not hang on when GC ran, and new objects may fill heap pages that were resident before.
  const perSocket = Math.max(
    rss,
    growth(before.rssAsFound, after.rssAsFound),
    growth(before.sample.heapUsed + before.sample.external, after.sample.heapUsed + after.sample.external),
  );
  return {
    valid,
    lines: [
      `memory:   one instance in a process of its own; ${WARMUP_SOCKETS} warm-up sockets opened and closed, 2 s, full GC: before; ${connections} idle sockets, 5 s, full GC: after`,
      `          VmRSS as found ${mb(before.rssAsFound)} -> ${mb(after.rssAsFound)}, after a full GC ${mb(before.rss)} -> ${mb(after.rss)} (${fixed(rss, 1)} KB per socket);`,
      `          V8 heap used ${mb(before.sample.heapUsed)} -> ${mb(after.sample.heapUsed)} (${fixed(heap, 1)} KB per socket), external ${mb(before.sample.external)} -> ${mb(after.sample.external)};`,
      "          per socket: the largest growth of VmRSS as found, after GC, and heap + external (the kernel's socket buffers are in no process's RSS)",
      `          connected in ${connectSeconds.toFixed(1)} s; SIGTERM with the sockets open: close codes ${[...closeCodes].map(([code, n]) => `${code} x ${n}`).join(', ') || 'none'}; ${exitProblem ?? 'server exited 0'}`,
    ],
    headlines: [
      {
        figure: `realtime: memory per idle connection at ${connections.toLocaleString('en-US')}`,
        measured: `${fixed(perSocket, 1)} KB`,
        target: `<= ${TARGET_KB_PER_CONNECTION} KB (${ANCHOR} ~30)`,
        verdict: verdictOf(valid, perSocket <= TARGET_KB_PER_CONNECTION),
        bound: valid ? `per socket: V8 heap ${fixed(heap, 1)} KB, VmRSS ${fixed(rss, 1)} KB` : (exitProblem ?? 'not every socket was closed with 1001'),
      },
    ],
  };
}

export async function runRealtime(settings: RealtimeSettings): Promise<PartOutcome> {
  const parts = [await latencyPart(settings), await memoryPart(settings)];
  return {
    lines: parts.flatMap((p, i) => [...(i > 0 ? [''] : []), ...p.lines]),
    headlines: parts.flatMap((p) => p.headlines),
    valid: parts.every((p) => p.valid),
  };
}

async function main(): Promise<number> {
  const outcome = await runRealtime(readRealtimeSettings());
  return printReport(
    environmentLines('realtime push, end-to-end latency across instances and memory per idle WebSocket', engineDescription()),
    ['', ...outcome.lines],
    [outcome],
  );
}

if (isMain(import.meta.url)) runMain(main);
