/**
 * Issue: "realtime push: p99 <= 50 ms end to end at 1,000 messages/s across two instances; <= 20 KB per idle
 * connection", beside the anchor's published figures (Centrifugo: p99 <= 200 ms end to end, about 30 KB per idle
 * connection).
 *
 * 1. Latency. With DATABASE_URL=postgres://... and REDIS_URL: two instances over one fresh PostgreSQL database,
 *    joined by Redis under a prefix of the run's own; otherwise one instance over a temp SQLite file. Each instance
 *    is a process of its own (`node --import tsx src/main.ts`, as `npm start`), so that the bench's clients do not
 *    share its event loop; BENCH_SERVER_MODE=in-process runs them in this process instead. 100 users x 2 devices
 *    hold a WebSocket each (no `since`, each waits for its `ready`); device 1 of user i on instance i % 2,
 *    device 2 on the other. Senders push JSON text messages (POST /record/push) through the instance that does
 *    not hold the recipient's device 1, open loop at BENCH_RATE messages/s for a warm-up and BENCH_DURATION
 *    seconds, over keep-alive connections; the send time is in the content, and the latency is taken when the
 *    `message` frame arrives. Every message must arrive exactly once on both devices of its recipient.
 * 2. Memory. One instance in a process of its own over a fresh database; its VmRSS (and, through the probe loaded
 *    beside it, its V8 heap after a full GC) before and after BENCH_IDLE_CONNECTIONS idle sockets of distinct
 *    users, after a warm-up burst of 100 sockets opened and closed again. Then SIGTERM with the sockets open:
 *    the server must close them all with 1001 and exit 0.
 *
 *   npm run bench:realtime
 *   DATABASE_URL=postgres://root@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 BENCH_DURATION=5 npm run bench:realtime
 *   BENCH_CPU_PROF=prof BENCH_PART=latency npm run bench:realtime      # --cpu-prof of the servers, summarised
 *
 * Settings: BENCH_DURATION (s, 10), BENCH_WARMUP (s, 5), BENCH_RATE (messages/s, 1000), BENCH_USERS (100),
 * BENCH_DEVICES (sockets per user, 2; 0 measures the pushes alone), BENCH_MAX_INFLIGHT (1000),
 * BENCH_SENDER_SOCKETS (keep-alive connections per instance, 64), BENCH_IDLE_CONNECTIONS (10000),
 * BENCH_PART (all | latency | memory), BENCH_SERVER_MODE (child-process | in-process), BENCH_CPU_PROF (a
 * directory for the servers' CPU profiles, latency part, child processes), BENCH_LOG_LEVEL (the servers'; quiet
 * by default, since a log line per request would be measured too).
 *
 * Exit status 1 when the figures are invalid (a push failed, a receipt is missing or repeated, a socket failed, a
 * server did not exit cleanly) or the bench could not run; a MISS of a target is reported, not an exit status.
 *
 * `npm run bench` (bench/run.ts) imports runRealtime and puts its headline figures in its final table; there the
 * receiving users are BENCH_REALTIME_USERS, since BENCH_USERS sizes its read benchmark's data set.
 */
import 'dotenv/config';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Channel, textPushBody } from './lib/chatlog.js';
import type { ChildChatlog } from './lib/child.js';
import { envelopeCheck, summariseLatencies, type LatencySummary } from './lib/load.js';
import type { ProbeSample } from './lib/probe.js';
import { formatProfile, profilesIn, summariseProfile } from './lib/profile.js';
import { environmentLines, formatTable, integerSetting, isMain, progress, runMain, verdictOf, type Headline } from './lib/report.js';
import { startBenchServer, type BenchServer, type ServerMode } from './lib/server.js';
import { countCodes, subscribeAll, type Subscriber } from './lib/sockets.js';
import { openFileLimit, raiseOpenFileLimit } from './lib/system.js';
import { describeBound, formatUsage, markUsage, usageBetween, type Usage, type UsageMark } from './lib/usage.js';

const TARGET_P99_MS = 50;
const TARGET_KB_PER_CONNECTION = 20;
const ANCHOR = 'Centrifugo';
const ANCHOR_P99_MS = 200;
const ANCHOR_KB_PER_CONNECTION = 30;

/** A send issued this long after its scheduled time counts as late. */
const LATE_MS = 10;
/** A push not answered by then is an error. */
const PUSH_TIMEOUT_MS = 10_000;
const WARMUP_SOCKETS = 100;
const SOCKET_BATCH = 250;
const SETTLE_BEFORE_MS = 2000;
const SETTLE_AFTER_MS = 5000;

/** Wall-clock milliseconds with sub-millisecond resolution; the same clock stamps the send and the receipt. */
const now = () => performance.timeOrigin + performance.now();

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const kb = (bytes: number) => bytes / 1024;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export interface RealtimeSettings {
  seconds: number;
  warmup: number;
  rate: number;
  users: number;
  devices: number;
  maxInFlight: number;
  senderSockets: number;
  idleConnections: number;
  part: 'all' | 'latency' | 'memory';
  mode: ServerMode;
  cpuProfDir?: string;
}

/**
 * The settings from the environment. `usersVariable` names the setting of the receiving users (BENCH_USERS when
 * run alone; `npm run bench` gives BENCH_USERS to its read benchmark and reads BENCH_REALTIME_USERS here).
 */
export function readRealtimeSettings(usersVariable = 'BENCH_USERS'): RealtimeSettings {
  const part = process.env.BENCH_PART?.trim() || 'all';
  if (part !== 'all' && part !== 'latency' && part !== 'memory') throw new Error(`BENCH_PART must be all, latency or memory (got "${part}")`);
  const mode = process.env.BENCH_SERVER_MODE?.trim() || 'child-process';
  if (mode !== 'child-process' && mode !== 'in-process') throw new Error(`BENCH_SERVER_MODE must be child-process or in-process (got "${mode}")`);
  const cpuProfDir = process.env.BENCH_CPU_PROF?.trim() || undefined;
  if (cpuProfDir !== undefined && mode !== 'child-process') {
    throw new Error('BENCH_CPU_PROF profiles the server processes; in-process, profile the bench itself: node --cpu-prof --import tsx bench/realtime.ts');
  }
  return {
    seconds: integerSetting('BENCH_DURATION', 10, 1, 3600),
    warmup: integerSetting('BENCH_WARMUP', 5, 0, 600),
    rate: integerSetting('BENCH_RATE', 1000, 1, 100_000),
    users: integerSetting(usersVariable, 100, 1, 10_000),
    devices: integerSetting('BENCH_DEVICES', 2, 0, 8),
    maxInFlight: integerSetting('BENCH_MAX_INFLIGHT', 1000, 1, 100_000),
    senderSockets: integerSetting('BENCH_SENDER_SOCKETS', 64, 1, 10_000),
    idleConnections: integerSetting('BENCH_IDLE_CONNECTIONS', 10_000, 1, 1_000_000),
    part,
    mode,
    cpuProfDir,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Latency push -> WebSocket receipt
// ---------------------------------------------------------------------------------------------------------------

const enum PushState {
  NotSent = 0,
  InFlight,
  Ok,
  Failed,
  Dropped,
}

interface LatencyResult {
  server: BenchServer;
  setup: string[];
  rate: number;
  scheduled: number;
  measuredScheduled: number;
  sent: number;
  dropped: number;
  late: number;
  maxLatenessMs: number;
  pushOk: number;
  pushFailed: number;
  pushFailures: Array<[string, number]>;
  achievedRate: number;
  answeredRate: number;
  expectedReceipts: number;
  received: number;
  missing: number;
  duplicates: number;
  misdelivered: number;
  unexpectedFrames: number;
  receiptsOfFailedPushes: number;
  socketsClosed: number;
  e2e: LatencySummary;
  e2eByInstance: Array<[string, LatencySummary]>;
  push: LatencySummary;
  usage: Usage;
  profiles: string[];
  valid: boolean;
}

async function measureLatency(settings: RealtimeSettings, run: string): Promise<LatencyResult> {
  const pg = /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL?.trim() ?? '');
  const redis = (process.env.REDIS_URL?.trim() ?? '') !== '';
  const instances = pg && redis ? 2 : 1;
  const profilesBefore = new Set(settings.cpuProfDir !== undefined && existsSync(settings.cpuProfDir) ? profilesIn(settings.cpuProfDir) : []);
  if (settings.cpuProfDir !== undefined) mkdirSync(settings.cpuProfDir, { recursive: true });

  progress(`latency: starting ${instances} instance(s) (${settings.mode}) over a fresh database`);
  const server = await startBenchServer({
    instances,
    mode: settings.mode,
    nodeArgs: settings.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${settings.cpuProfDir}`],
  });
  let closed = false;
  try {
    progress(`${server.engine}: ${server.location}; bus ${server.bus}; instances ${server.urls.join(', ')}`);
    const { users, rate, devices } = settings;
    const receivers = Array.from({ length: users }, (_, i) => `r-${run}-${i}`);
    const senders = Array.from({ length: users }, (_, i) => `s-${run}-${i}`);
    const [receiverTokens, senderTokens] = await Promise.all([Promise.all(receivers.map((uid) => server.token(uid))), Promise.all(senders.map((uid) => server.token(uid)))]);
    const instanceOf = (user: number, device: number) => (user + device) % server.urls.length;
    /** The instance a message to `user` is pushed through: not the one of device 1. */
    const pushInstanceOf = (user: number) => (user + 1) % server.urls.length;

    const warmupCount = settings.warmup * rate;
    const total = warmupCount + settings.seconds * rate;
    const state = new Uint8Array(total);
    const receipts = new Uint8Array(total * devices);
    const e2e: number[] = [];
    /** Every receipt's latency since the last progress line, warm-up included. */
    let recentE2e: number[] = [];
    const e2eBy: number[][] = server.urls.map(() => []);
    const pushLatency: number[] = [];
    const pushFailures = new Map<string, number>();
    let received = 0;
    let duplicates = 0;
    let misdelivered = 0;
    let unexpectedFrames = 0;

    const onFrame = (user: number, device: number) => (data: string) => {
      const at = now();
      let frame: { type?: string; record?: { targetId?: string; content?: { content?: string } } };
      try {
        frame = JSON.parse(data) as typeof frame;
      } catch {
        unexpectedFrames++;
        return;
      }
      if (frame.type !== 'message') {
        unexpectedFrames++;
        return;
      }
      const text = frame.record?.content?.content ?? '';
      const [tag, nText, tText] = text.split(' ');
      const n = Number(nText);
      if (tag !== run || !Number.isSafeInteger(n) || n < 0 || n >= total) {
        unexpectedFrames++;
        return;
      }
      if (frame.record?.targetId !== receivers[user] || n % users !== user) misdelivered++;
      received++;
      const slot = n * devices + device;
      if (receipts[slot]! > 0) duplicates++;
      receipts[slot] = Math.min(255, receipts[slot]! + 1);
      const ms = at - Number(tText);
      recentE2e.push(ms);
      if (n >= warmupCount) {
        e2e.push(ms);
        // Which instance the socket is on, relative to the one the message was pushed through.
        e2eBy[(instanceOf(user, device) - pushInstanceOf(user) + server.urls.length) % server.urls.length]!.push(ms);
      }
    };

    progress(`connecting ${users} users x ${devices} devices = ${users * devices} sockets, each waiting for ready`);
    const specs = receivers.flatMap((_, user) =>
      Array.from({ length: devices }, (_, device) => ({ url: server.urls[instanceOf(user, device)]!, token: receiverTokens[user]!, onFrame: onFrame(user, device) })),
    );
    const sockets: Subscriber[] = await subscribeAll(specs, SOCKET_BATCH, (opened) => progress(`  ${opened} sockets ready`));
    let socketsClosed = 0;
    for (const socket of sockets) void socket.closed.then(() => socketsClosed++);

    const agents = server.urls.map(() => new Agent({ keepAlive: true, maxSockets: settings.senderSockets }));
    const targets = server.urls.map((url) => new URL(url));
    let inFlight = 0;
    let sent = 0;
    let dropped = 0;
    let late = 0;
    let maxLateness = 0;
    let pushOk = 0;
    /** Pushes answered OK inside the measured window. */
    let answeredInWindow = 0;
    let pushFailed = 0;
    /** The measured window: machine, bench and server CPU at its start and end. */
    let windowStart: UsageMark | undefined;
    let windowEnd: UsageMark | undefined;
    const mark = () => markUsage(server.children);
    const fail = (n: number, why: string) => {
      state[n] = PushState.Failed;
      pushFailed++;
      pushFailures.set(why, (pushFailures.get(why) ?? 0) + 1);
    };

    const push = (n: number) => {
      const user = n % users;
      const instance = pushInstanceOf(user);
      const started = now();
      const body = textPushBody(Channel.private, `${run}-${n}`, receivers[user]!, `${run} ${n} ${started.toFixed(3)}`);
      state[n] = PushState.InFlight;
      inFlight++;
      sent++;
      let settled = false;
      const settle = (why?: string) => {
        if (settled) return;
        settled = true;
        inFlight--;
        if (why !== undefined) return fail(n, why);
        state[n] = PushState.Ok;
        pushOk++;
        if (windowStart !== undefined && windowEnd === undefined) answeredInWindow++;
        if (n >= warmupCount) pushLatency.push(now() - started);
      };
      const req = request(
        {
          agent: agents[instance],
          host: targets[instance]!.hostname,
          port: targets[instance]!.port,
          path: '/record/push',
          method: 'POST',
          headers: { authorization: `Bearer ${senderTokens[user]}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          timeout: PUSH_TIMEOUT_MS,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => settle(envelopeCheck(res.statusCode ?? 0, Buffer.concat(chunks).toString())));
          res.on('error', (err) => settle(`response error: ${err.message}`));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${PUSH_TIMEOUT_MS} ms`)));
      req.on('error', (err) => settle(`request error: ${err.message}`));
      req.end(body);
    };

    progress(`sending ${rate} messages/s open loop: ${settings.warmup} s warm-up, then ${settings.seconds} s measured`);

    const startedAt = now();
    let next = 0;
    let lastProgress = { at: startedAt, sent: 0 };
    const ticker = setInterval(() => {
      const at = now();
      const recent = summariseLatencies(recentE2e);
      recentE2e = [];
      const phase = next <= warmupCount ? 'warm-up' : 'measured';
      progress(
        `  ${((at - startedAt) / 1000).toFixed(0)} s (${phase}): ${((sent - lastProgress.sent) / ((at - lastProgress.at) / 1000)).toFixed(0)} sends/s, ` +
          `${pushOk} ok, ${pushFailed} failed, ${dropped} dropped, ${inFlight} in flight; ${received} receipts; ` +
          `last second e2e p50 ${fixed(recent.p50, 1)} ms, p99 ${fixed(recent.p99, 1)} ms`,
      );
      lastProgress = { at, sent };
    }, 1000);
    await new Promise<void>((resolve) => {
      const tick = () => {
        const due = Math.min(total, Math.floor(((now() - startedAt) * rate) / 1000) + 1);
        while (next < due) {
          if (next === warmupCount) windowStart = mark();
          const lateness = now() - (startedAt + (next * 1000) / rate);
          if (lateness > LATE_MS) late++;
          maxLateness = Math.max(maxLateness, lateness);
          if (inFlight >= settings.maxInFlight) {
            state[next] = PushState.Dropped;
            dropped++;
          } else {
            push(next);
          }
          next++;
        }
        if (next >= total) {
          windowEnd = mark();
          resolve();
          return;
        }
        setTimeout(tick, Math.max(0, startedAt + (next * 1000) / rate - now()));
      };
      tick();
    });
    const sendSeconds = (now() - startedAt) / 1000;

    // Drain: the pushes still in flight, then the receipts still on their way.
    progress(`all ${total} sends issued in ${sendSeconds.toFixed(1)} s; waiting for ${inFlight} pushes in flight and the last receipts`);
    const drainDeadline = now() + PUSH_TIMEOUT_MS + 1000;
    while (inFlight > 0 && now() < drainDeadline) await sleep(20);
    let lastReceived = -1;
    let quietSince = now();
    while (received < pushOk * devices && now() - quietSince < 3000) {
      if (received !== lastReceived) {
        lastReceived = received;
        quietSince = now();
      }
      await sleep(20);
    }
    clearInterval(ticker);
    for (const agent of agents) agent.destroy();

    const measuredScheduled = total - warmupCount;
    const startMark = windowStart ?? mark();
    const endMark = windowEnd ?? mark();
    const windowMs = endMark.at - startMark.at;
    const usage = await usageBetween(startMark, endMark, {
      children: server.children,
      selfLabel: server.mode === 'in-process' ? 'this process (servers, senders and receivers)' : 'bench process (senders and receivers)',
      selfIsServer: server.mode === 'in-process',
      databaseName: server.engine === 'PostgreSQL' ? server.databaseName : undefined,
    });

    let missing = 0;
    let receiptsOfFailedPushes = 0;
    let measuredSent = 0;
    for (let n = 0; n < total; n++) {
      if (n >= warmupCount && state[n] !== PushState.Dropped && state[n] !== PushState.NotSent) measuredSent++;
      for (let d = 0; d < devices; d++) {
        const count = receipts[n * devices + d]!;
        if (state[n] === PushState.Ok && count === 0) missing++;
        if (state[n] !== PushState.Ok && count > 0) receiptsOfFailedPushes++;
      }
    }

    progress('closing the sockets and the servers');
    const socketsClosedEarly = socketsClosed;
    for (const socket of sockets) socket.ws.close(1000);
    await Promise.race([Promise.all(sockets.map((s) => s.closed)), sleep(5000)]);
    for (const socket of sockets) socket.ws.terminate();
    closed = true;
    await server.close();
    // One profile per thread; thread 0 is the main thread, the others are tsx's loader worker.
    const profiles = settings.cpuProfDir === undefined ? [] : profilesIn(settings.cpuProfDir).filter((file) => !profilesBefore.has(file) && /\.\d+\.0\.\d+\.cpuprofile$/.test(file));

    const instancesText = server.urls.length === 1 ? 'one instance' : `${server.urls.length} instances`;
    const where =
      server.mode === 'in-process'
        ? 'in the bench process'
        : `${server.urls.length === 1 ? 'in a process of its own' : 'each in a process of its own'} (node --import tsx src/main.ts)`;
    const setup = [
      `latency:  ${instancesText} ${where} over ${server.engine === 'PostgreSQL' ? 'one PostgreSQL database' : 'one SQLite file'}, bus ${server.bus}` +
        (instances === 1 ? ` (one instance: ${pg ? 'REDIS_URL is not set' : 'DATABASE_URL is not postgres://'}, so no second instance to cross)` : ''),
      `          ${users} users x ${devices} devices = ${users * devices} sockets (no since, each waited for ready)` +
        (server.urls.length > 1 ? '; device 1 of user i on instance i % 2, device 2 on the other' : ''),
      `          ${users} senders push JSON text messages (POST /record/push)` +
        (server.urls.length > 1 ? " through the instance not holding the recipient's device 1" : '') +
        `, open loop ${rate}/s, ${settings.warmup} s warm-up + ${settings.seconds} s measured;`,
      `          ${settings.senderSockets} keep-alive connections per instance, at most ${settings.maxInFlight} pushes in flight; all on 127.0.0.1`,
    ];
    const e2eByInstance: Array<[string, LatencySummary]> =
      server.urls.length > 1 ? [['  socket on the pushing instance', summariseLatencies(e2eBy[0]!)], ['  socket on the other instance', summariseLatencies(e2eBy[1]!)]] : [];

    const valid = pushFailed === 0 && missing === 0 && duplicates === 0 && misdelivered === 0 && unexpectedFrames === 0 && socketsClosedEarly === 0 && receiptsOfFailedPushes === 0;
    return {
      server,
      setup,
      rate,
      scheduled: total,
      measuredScheduled,
      sent,
      dropped,
      late,
      maxLatenessMs: maxLateness,
      pushOk,
      pushFailed,
      pushFailures: [...pushFailures.entries()].sort((a, b) => b[1] - a[1]),
      achievedRate: measuredSent / (windowMs / 1000),
      answeredRate: answeredInWindow / (windowMs / 1000),
      expectedReceipts: pushOk * devices,
      received,
      missing,
      duplicates,
      misdelivered,
      unexpectedFrames,
      receiptsOfFailedPushes,
      socketsClosed: socketsClosedEarly,
      e2e: summariseLatencies(e2e),
      e2eByInstance,
      push: summariseLatencies(pushLatency),
      usage,
      profiles,
      valid,
    };
  } finally {
    if (!closed) await server.close().catch((err: unknown) => progress(`closing failed: ${String(err)}`));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Memory per idle connection
// ---------------------------------------------------------------------------------------------------------------

interface MemoryReading {
  /** VmRSS as found, before the probe's full GC. */
  rssAsFound: number;
  /** VmRSS after the full GC. */
  rss: number;
  sample: ProbeSample;
}

interface MemoryResult {
  server: BenchServer;
  connections: number;
  fdLimits: { bench: number; server: number };
  before: MemoryReading;
  after: MemoryReading;
  connectSeconds: number;
  closeCodes: Map<number, number>;
  exitProblem?: string;
  valid: boolean;
}

async function readMemory(child: ChildChatlog): Promise<MemoryReading> {
  const rssAsFound = child.rss();
  const sample = await child.sample(true);
  return { rssAsFound, rss: child.rss(), sample };
}

async function measureMemory(settings: RealtimeSettings, run: string): Promise<MemoryResult> {
  progress('memory: starting one instance in a process of its own over a fresh database');
  const server = await startBenchServer({ mode: 'child-process', instances: 1 });
  let closed = false;
  try {
    const child = server.children[0]!;
    progress(`${server.engine}: ${server.location}; pid ${child.pid}, ${server.url}`);
    // One descriptor per socket on each side, plus the database, logs, and a margin.
    const wanted = settings.idleConnections + WARMUP_SOCKETS + 1000;
    const fdLimits = { bench: raiseOpenFileLimit(process.pid, wanted), server: raiseOpenFileLimit(child.pid, wanted) };
    let connections = settings.idleConnections;
    const room = Math.min(fdLimits.bench, fdLimits.server) - WARMUP_SOCKETS - 1000;
    if (room < connections) {
      progress(`WARNING: open-file limits (bench ${fdLimits.bench}, server ${fdLimits.server}) leave room for ${room} sockets; measuring ${room}`);
      connections = Math.max(1, room);
    }
    progress(`open-file limit (ulimit -n): bench ${fdLimits.bench}, server ${fdLimits.server} (hard ${openFileLimit(child.pid).hard})`);

    progress(`signing ${connections + WARMUP_SOCKETS} tokens`);
    const tokens: string[] = [];
    for (let i = 0; i < connections + WARMUP_SOCKETS; i++) tokens.push(await server.token(`idle-${run}-${i}`));

    progress(`warm-up: ${WARMUP_SOCKETS} sockets opened and closed again, then ${SETTLE_BEFORE_MS / 1000} s to settle`);
    const warm = await subscribeAll(
      tokens.slice(connections).map((token) => ({ url: server.url, token })),
      SOCKET_BATCH,
    );
    for (const socket of warm) socket.ws.close(1000);
    await Promise.all(warm.map((socket) => socket.closed));
    await sleep(SETTLE_BEFORE_MS);
    const before = await readMemory(child);
    progress(`before: VmRSS ${mb(before.rss)}, V8 heap used ${mb(before.sample.heapUsed)} (after a full GC)`);

    progress(`opening ${connections} idle sockets of distinct users, ${SOCKET_BATCH} at a time, each waiting for ready`);
    const started = now();
    let lastLine = 0;
    const sockets = await subscribeAll(
      tokens.slice(0, connections).map((token) => ({ url: server.url, token })),
      SOCKET_BATCH,
      (opened) => {
        if (opened - lastLine >= 1000 || opened === connections) {
          lastLine = opened;
          progress(`  ${opened} sockets ready, server VmRSS ${mb(child.rss())}`);
        }
      },
    );
    const connectSeconds = (now() - started) / 1000;
    progress(`${sockets.length} sockets open in ${connectSeconds.toFixed(1)} s; ${SETTLE_AFTER_MS / 1000} s to settle`);
    await sleep(SETTLE_AFTER_MS);
    const after = await readMemory(child);
    progress(`after: VmRSS ${mb(after.rss)}, V8 heap used ${mb(after.sample.heapUsed)} (after a full GC)`);
    const stillOpen = sockets.filter((socket) => socket.ws.readyState === socket.ws.OPEN).length;

    progress('SIGTERM to the server with every socket open: each must be closed with 1001, and the server exit 0');
    closed = true;
    let exitProblem: string | undefined;
    try {
      await server.close();
    } catch (err) {
      exitProblem = err instanceof Error ? err.message : String(err);
    }
    const codes = await Promise.race([Promise.all(sockets.map((socket) => socket.closed)), sleep(5000).then(() => undefined)]);
    for (const socket of sockets) socket.ws.terminate();
    const closeCodes = countCodes(codes ?? (await Promise.all(sockets.map((socket) => socket.closed))));
    const valid = exitProblem === undefined && stillOpen === connections && closeCodes.get(1001) === connections;
    return { server, connections, fdLimits, before, after, connectSeconds, closeCodes, exitProblem, valid };
  } finally {
    if (!closed) await server.close().catch((err: unknown) => progress(`closing failed: ${String(err)}`));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------------------------

function latencyLines(r: LatencyResult): string[] {
  const row = (label: string, s: LatencySummary) => [label, String(s.count), fixed(s.p50, 2), fixed(s.p90, 2), fixed(s.p99, 2), fixed(s.max, 1), fixed(s.mean, 2)];
  const lines = [
    formatTable(
      ['latency (measured window)', 'count', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'mean ms'],
      [row('end to end: push -> WebSocket message frame', r.e2e), ...r.e2eByInstance.map(([label, s]) => row(label, s)), row('push: HTTP request -> answer', r.push)],
    ),
    '',
    formatTable(
      ['delivery', 'count', 'expected'],
      [
        ['messages scheduled (warm-up + measured)', String(r.scheduled), ''],
        ['  sent', String(r.sent), String(r.scheduled)],
        ['  dropped (in-flight cap reached)', String(r.dropped), '0'],
        [`  late (> ${LATE_MS} ms behind schedule; max ${fixed(r.maxLatenessMs, 1)} ms)`, String(r.late), '0'],
        ['  pushes answered OK', String(r.pushOk), String(r.sent)],
        ['  pushes failed', String(r.pushFailed), '0'],
        ['message frames received', String(r.received), String(r.expectedReceipts)],
        ['  missing receipts', String(r.missing), '0'],
        ['  duplicate receipts', String(r.duplicates), '0'],
        ['  delivered to the wrong user', String(r.misdelivered), '0'],
        ['  other or unparseable frames', String(r.unexpectedFrames), '0'],
        ['  receipts of failed pushes', String(r.receiptsOfFailedPushes), '0'],
        ['sockets closed during the run', String(r.socketsClosed), '0'],
      ],
    ),
    `achieved in the measured window: ${fixed(r.achievedRate, 0)} pushes sent/s, ${fixed(r.answeredRate, 0)} answered OK/s (asked ${r.rate}/s)`,
    '',
    formatUsage(r.usage),
  ];
  if (r.pushFailures.length > 0) lines.push('', 'push failures:', ...r.pushFailures.map(([label, count]) => `  ${count} x ${label}`));
  return lines;
}

function memoryLines(r: MemoryResult): string[] {
  const row = (label: string, before: number, after: number) => [label, mb(before), mb(after), mb(after - before), fixed(kb((after - before) / r.connections), 1)];
  const external = (s: ProbeSample) => s.memory.external;
  return [
    formatTable(
      [`server process, ${r.connections} idle sockets`, 'before', 'after', 'difference', 'KB per socket'],
      [
        row('VmRSS (/proc/<pid>/status), as found', r.before.rssAsFound, r.after.rssAsFound),
        row('VmRSS after a full GC', r.before.rss, r.after.rss),
        row('V8 heap used (after a full GC)', r.before.sample.heapUsed, r.after.sample.heapUsed),
        row('V8 heap total', r.before.sample.heapTotal, r.after.sample.heapTotal),
        row('external (incl. array buffers)', external(r.before.sample), external(r.after.sample)),
      ],
    ),
    `connected in ${r.connectSeconds.toFixed(1)} s (${fixed(r.connections / r.connectSeconds, 0)} sockets/s, batches of ${SOCKET_BATCH}); open-file limits: bench ${r.fdLimits.bench}, server ${r.fdLimits.server}`,
    `SIGTERM with the sockets open: close codes ${[...r.closeCodes.entries()].map(([code, count]) => `${code} x ${count}`).join(', ')}; ${r.exitProblem === undefined ? 'server exited 0' : `server: ${r.exitProblem}`}`,
  ];
}

function verdict(ok: boolean): string {
  return ok ? 'PASS' : 'MISS';
}

/** Whether the servers kept up with the asked rate (else the latencies are mostly queueing). */
const rateReached = (latency: LatencyResult, settings: RealtimeSettings) => latency.dropped === 0 && latency.achievedRate >= settings.rate * 0.95;

/**
 * Memory per idle socket: the largest growth of RSS as found, RSS after a full GC (the verdict should not hang on
 * when GC ran), and the live JS objects (heap used + external after GC), since new objects may fill heap pages
 * that were already resident before the sockets and so not show in RSS at all; in KB.
 */
function perSocketKb(memory: MemoryResult): number {
  const { before, after } = memory;
  const growth = Math.max(after.rss - before.rss, after.rssAsFound - before.rssAsFound, after.sample.heapUsed + after.sample.memory.external - before.sample.heapUsed - before.sample.memory.external);
  return kb(growth / memory.connections);
}

function summaryTable(latency: LatencyResult | undefined, memory: MemoryResult | undefined, settings: RealtimeSettings): string {
  const rows: string[][] = [];
  if (latency) {
    const reached = rateReached(latency, settings);
    const figure = latency.e2e.p99;
    const targetVerdict = latency.e2e.count === 0 ? 'n/a (no receipts)' : !latency.valid ? 'INVALID' : !reached ? 'MISS (rate not reached)' : verdict(figure <= TARGET_P99_MS);
    rows.push([
      `end-to-end p99 at ${settings.rate} msg/s${latency.server.urls.length > 1 ? ', 2 instances' : ', 1 instance'}`,
      `${fixed(figure, 1)} ms`,
      `<= ${TARGET_P99_MS} ms`,
      targetVerdict,
      `<= ${ANCHOR_P99_MS} ms`,
      latency.e2e.count === 0 || !latency.valid ? '-' : reached ? verdict(figure <= ANCHOR_P99_MS) : 'MISS',
    ]);
    rows.push(['  (p50 / max)', `${fixed(latency.e2e.p50, 1)} / ${fixed(latency.e2e.max, 1)} ms`, '', '', '', '']);
    if (!reached) rows.push(['  (pushes answered OK per second)', `${fixed(latency.answeredRate, 0)}/s`, `${settings.rate}/s`, '', '', '']);
    rows.push([
      'missing / duplicate receipts',
      `${latency.missing} / ${latency.duplicates}`,
      '0 / 0',
      latency.missing === 0 && latency.duplicates === 0 && latency.pushFailed === 0 ? 'PASS' : 'FAIL',
      '',
      '',
    ]);
  }
  if (memory) {
    const perSocket = perSocketKb(memory);
    rows.push([
      `memory per idle connection at ${memory.connections}*`,
      `${fixed(perSocket, 1)} KB`,
      `<= ${TARGET_KB_PER_CONNECTION} KB`,
      memory.valid ? verdict(perSocket <= TARGET_KB_PER_CONNECTION) : 'INVALID',
      `~${ANCHOR_KB_PER_CONNECTION} KB`,
      memory.valid ? verdict(perSocket <= ANCHOR_KB_PER_CONNECTION) : '-',
    ]);
    rows.push(['  (V8 heap used, after GC)', `${fixed(kb((memory.after.sample.heapUsed - memory.before.sample.heapUsed) / memory.connections), 1)} KB`, '', '', '', '']);
  }
  return formatTable(['figure', 'measured', 'target', 'verdict', `${ANCHOR} (published)`, 'vs anchor'], rows, ['left', 'right', 'right', 'left', 'right', 'left']);
}

/** The headline figures for `npm run bench`'s final table. */
function headlines(latency: LatencyResult | undefined, memory: MemoryResult | undefined, settings: RealtimeSettings): Headline[] {
  const rows: Headline[] = [];
  if (latency) {
    const reached = rateReached(latency, settings);
    const p99 = latency.e2e.p99;
    const valid = latency.valid && latency.e2e.count > 0;
    const bound = [
      latency.dropped > 0
        ? `the servers fell behind (${latency.dropped} of ${latency.scheduled} sends dropped at the cap of ${settings.maxInFlight} in flight): the latency is queueing`
        : latency.answeredRate < settings.rate * 0.95
          ? `the servers answered ${fixed(latency.answeredRate, 0)} of ${settings.rate} pushes/s: the latency is queueing`
          : '',
      describeBound(latency.usage),
    ].filter(Boolean);
    rows.push({
      figure: `realtime: end-to-end p99 at ${settings.rate} msg/s, ${latency.server.urls.length > 1 ? '2 instances' : '1 instance'} (p50)`,
      measured: `${fixed(p99, 1)} ms (${fixed(latency.e2e.p50, 1)})`,
      target: `<= ${TARGET_P99_MS} ms (${ANCHOR} <= ${ANCHOR_P99_MS})`,
      verdict: verdictOf(valid, reached && p99 <= TARGET_P99_MS),
      bound: valid ? bound.join('; ') : `missing ${latency.missing}, duplicate ${latency.duplicates}, failed pushes ${latency.pushFailed}, sockets closed ${latency.socketsClosed}`,
    });
  }
  if (memory) {
    const perSocket = perSocketKb(memory);
    const heap = kb((memory.after.sample.heapUsed - memory.before.sample.heapUsed) / memory.connections);
    rows.push({
      figure: `realtime: memory per idle connection at ${memory.connections.toLocaleString('en-US')}`,
      measured: `${fixed(perSocket, 1)} KB`,
      target: `<= ${TARGET_KB_PER_CONNECTION} KB (${ANCHOR} ~${ANCHOR_KB_PER_CONNECTION})`,
      verdict: verdictOf(memory.valid, perSocket <= TARGET_KB_PER_CONNECTION),
      bound: memory.valid ? `per socket: V8 heap ${fixed(heap, 1)} KB, VmRSS ${fixed(kb((memory.after.rss - memory.before.rss) / memory.connections), 1)} KB` : memory.exitProblem ?? 'not every socket closed with 1001',
    });
  }
  return rows;
}

export interface RealtimeOutcome {
  engine: string;
  /** Where the data lived (dropped at the end). */
  locations: string;
  /** The detailed report: set-up, latency and delivery tables, memory table, the summary against the targets. */
  lines: string[];
  headlines: Headline[];
  /** False when a figure cannot be trusted (a push failed, a receipt is missing or repeated, a server did not exit 0). */
  valid: boolean;
}

/** Runs the parts the settings ask for and reports them. */
export async function runRealtime(settings: RealtimeSettings): Promise<RealtimeOutcome> {
  const run = randomBytes(4).toString('hex');
  let latency: LatencyResult | undefined;
  let memory: MemoryResult | undefined;
  if (settings.part !== 'memory') latency = await measureLatency(settings, run);
  if (settings.part !== 'latency') memory = await measureMemory(settings, run);

  const engine = (latency ?? memory)!.server.engine;
  const locations = [latency && `latency: ${latency.server.location}`, memory && `memory: ${memory.server.location}`].filter(Boolean).join('; ');
  const lines = [
    ...(latency ? [...latency.setup, '', ...latencyLines(latency)] : []),
    ...(memory
      ? [
          ...(latency ? [''] : []),
          `memory:   one instance in a process of its own (node --import tsx src/main.ts, probe loaded beside it), ${memory.server.engine}, bus ${memory.server.bus};`,
          `          ${WARMUP_SOCKETS} warm-up sockets opened and closed, ${SETTLE_BEFORE_MS / 1000} s settle, full GC, "before";`,
          `          ${memory.connections} idle sockets of distinct users, ${SETTLE_AFTER_MS / 1000} s settle, full GC, "after";`,
          "          the kernel's socket buffers are in no process's RSS and are not counted",
          '',
          ...memoryLines(memory),
        ]
      : []),
    '',
    summaryTable(latency, memory, settings),
    `(${ANCHOR}'s figures are its published ones, on its own hardware; ours are on the machine above, clients included)`,
    ...(latency && !rateReached(latency, settings)
      ? [
          `note: the servers did not keep up with ${settings.rate} messages/s (${latency.dropped} sends dropped at the in-flight cap), so the latencies are`,
          '      mostly time queued behind earlier pushes; a lower BENCH_RATE finds the rate this machine sustains within the target',
        ]
      : []),
    ...(memory ? ['(* the largest growth of VmRSS as found, VmRSS after a full GC, and V8 heap used + external, divided by the sockets)'] : []),
  ];
  if (latency && latency.profiles.length > 0) {
    lines.push('', 'CPU profiles of the servers over the whole latency run (warm-up, load and drain included):');
    for (const file of latency.profiles) lines.push('', ...formatProfile(summariseProfile(file)));
  }
  return { engine, locations, lines, headlines: headlines(latency, memory, settings), valid: (latency?.valid ?? true) && (memory?.valid ?? true) };
}

async function main(): Promise<number> {
  const outcome = await runRealtime(readRealtimeSettings());
  const lines = [
    '',
    'chatlog bench: realtime push, end-to-end latency across instances and memory per idle WebSocket',
    ...environmentLines(outcome.engine, `fresh databases, dropped at the end; ${outcome.locations}`),
    '',
    ...outcome.lines,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return outcome.valid ? 0 : 1;
}

if (isMain(import.meta.url)) runMain(main);
