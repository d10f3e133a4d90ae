/**
 * `npm run bench`: every benchmark of chatlog in one run, each over a fresh database created and dropped by the
 * bench (PostgreSQL beside the database DATABASE_URL names, with Redis when REDIS_URL is set; else a temp SQLite
 * file), and one final table of the headline figures against their targets.
 *
 * 1. push     Push throughput: 32 connections of multipart POST /record/push (one file part `file` holding a
 *             serialized Proto{common, Common}, every request a msgId of its own, rotating senders and targets),
 *             beside the ceiling of this machine measured in the same run: a bare Koa endpoint that reads the same
 *             upload with the same busboy reader and limits and answers a small envelope, storing nothing
 *             (bench/lib/ceiling-server.ts). Order ceiling, push, ceiling, so drift on a shared machine shows.
 *             Every answer must be result 0 with a new logId, and the messages table must hold them all.
 *             Targets: >= 3,000 persisted messages/s; push / ceiling >= 0.8.
 * 2. commit   The same load against WRITE_BATCH_MAX=1 (a transaction per message) and the default group commit;
 *             the gain should be well beyond noise (>= 1.5x, a target of this bench's own).
 * 3. reads    BENCH_MESSAGES messages across BENCH_USERS users (500 groups of 40, a quarter of the messages in
 *             groups), written in bulk before the server starts (bench/lib/seed.ts); then sync-record {count: 1000,
 *             start: a random early position} of random users and pri-chat-record {targetId, count: 100} of random
 *             conversations. Targets: sync p50 <= 20 ms, history p50 <= 5 ms.
 * 4. group    bench/group-push.ts: a send to a 10,000-member group against a private send; target <= 1.5.
 * 5. realtime bench/realtime.ts: end-to-end p99 at 1,000 msg/s across two instances (<= 50 ms) and memory per idle
 *             connection at 10,000 (<= 20 KB).
 *
 * The servers of parts 1 to 3 run each in a process of its own, started as `npm start` starts them (child.ts), so
 * that the load generator (autocannon, in this process) does not share their event loop; the CPU of each process,
 * the database and the machine is read over every measured window, and a missed target names what bounded it.
 *
 *   npm run bench
 *   DATABASE_URL=postgres://root@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 npm run bench
 *   BENCH_ONLY=push,commit npm run bench
 *   BENCH_CPU_PROF=prof BENCH_ONLY=push npm run bench        # --cpu-prof of the servers, summarised in the report
 *
 * Settings: BENCH_ONLY (push,commit,reads,group,realtime: all), BENCH_DURATION (s per measured run, 10),
 * BENCH_WARMUP (s before each measured run of parts 1, 2, 3 and 5; 5), BENCH_CONNECTIONS (32, parts 1, 2 and 4),
 * BENCH_MESSAGES (1,000,000), BENCH_USERS (10,000),
 * BENCH_READ_CONNECTIONS (concurrent reads, 1: the latency of one request), BENCH_CPU_PROF (a directory for the
 * servers' CPU profiles), and those of bench/realtime.ts (BENCH_REALTIME_USERS stands for its BENCH_USERS).
 *
 * Exit status 1 when a part could not run or its figures are invalid (a failed request, a lost message); a MISS
 * of a target is reported, not an exit status.
 */
import 'dotenv/config';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import knex from 'knex';
import { signToken } from '../src/auth/jwt.js';
import type { DatabaseConfig } from '../src/config.js';
import { knexConfig } from '../src/store/database.js';
import { runGroupPush, readGroupPushSettings } from './group-push.js';
import { batchesBetween, describeWritePath, freshPushCheck, writeBatches, type WriteBatches } from './lib/chatlog.js';
import { spawnChatlog, type ChildChatlog } from './lib/child.js';
import { envelopeCheck, runLoad, type LatencySummary, type LoadResult, type ResponseCheck } from './lib/load.js';
import { multipartPushes } from './lib/multipart.js';
import { formatProfile, profilesIn, summariseProfile, type ProfileSummary } from './lib/profile.js';
import { interrupted, onInterrupt } from './lib/interrupt.js';
import { timeStore } from './lib/query-timing.js';
import { environmentLines, formatFailures, formatHeadlines, formatRuns, integerSetting, progress, redactUrl, runMain, verdictOf, type Headline } from './lib/report.js';
import { generator, seedDataset, type Dataset } from './lib/seed.js';
import { startBenchServer, type BenchServer, type BenchServerOptions } from './lib/server.js';
import { describeBound, describeLatencyBound, formatUsage, measureUsage, type Usage } from './lib/usage.js';
import { readRealtimeSettings, runRealtime } from './realtime.js';

const PARTS = ['push', 'commit', 'reads', 'group', 'realtime'] as const;
type Part = (typeof PARTS)[number];

const TARGET_PUSH_RATE = 3000;
const TARGET_CEILING_RATIO = 0.8;
/** Not from the issue: group commit should make a difference well beyond run-to-run noise (a few percent). */
const TARGET_COMMIT_GAIN = 1.5;
const TARGET_SYNC_P50_MS = 20;
const TARGET_HISTORY_P50_MS = 5;
const SYNC_COUNT = 1000;
const HISTORY_COUNT = 100;
/** Push senders and targets rotate, so that the inbox rows spread over many users. */
const PUSH_SENDERS = 100;
const PUSH_TARGETS = 1000;
/** The read data set's shape besides BENCH_MESSAGES and BENCH_USERS (DESIGN.md's measured schema). */
const GROUPS = 500;
const GROUP_SIZE = 40;
const GROUP_SHARE = 0.25;
/** A sync starts at a random position in this first share of the ids. */
const EARLY_SHARE = 0.1;
/** Lets requests abandoned at the end of a run finish before the next starts. */
const PAUSE_MS = 500;

interface Settings {
  only: Set<Part>;
  seconds: number;
  warmup: number;
  connections: number;
  messages: number;
  users: number;
  readConnections: number;
  cpuProfDir?: string;
}

function readSettings(): Settings {
  const text = process.env.BENCH_ONLY?.trim() || PARTS.join(',');
  const names = text.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !(PARTS as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) throw new Error(`BENCH_ONLY must list some of ${PARTS.join(',')} (got "${text}")`);
  const cpuProfDir = process.env.BENCH_CPU_PROF?.trim() || undefined;
  return {
    only: new Set(names as Part[]),
    seconds: integerSetting('BENCH_DURATION', 10, 1, 3600),
    warmup: integerSetting('BENCH_WARMUP', 5, 0, 600),
    connections: integerSetting('BENCH_CONNECTIONS', 32, 1, 10_000),
    messages: integerSetting('BENCH_MESSAGES', 1_000_000, 1000, 100_000_000),
    users: integerSetting('BENCH_USERS', 10_000, 100, 10_000_000),
    readConnections: integerSetting('BENCH_READ_CONNECTIONS', 1, 1, 1000),
    cpuProfDir: cpuProfDir && resolve(cpuProfDir),
  };
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const count = (value: number) => Math.round(value).toLocaleString('en-US');

/** The outcome of one part: its section of the report, its rows of the final table, and whether it is valid. */
interface PartOutcome {
  lines: string[];
  headlines: Headline[];
  valid: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Servers, profiles, measured runs
// ---------------------------------------------------------------------------------------------------------------

/** CPU profiles of the servers, summarised once they have exited. */
const profiles: Array<{ label: string; summary: ProfileSummary }> = [];

/** node flags that make a server write its CPU profile into a folder of its own (BENCH_CPU_PROF). */
function profileArgs(settings: Settings, label: string): { nodeArgs: string[]; collect(): void } {
  if (settings.cpuProfDir === undefined) return { nodeArgs: [], collect: () => undefined };
  const dir = join(settings.cpuProfDir, `${label.replace(/[^a-z0-9]+/gi, '-')}-${randomBytes(3).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  return {
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
    collect() {
      // One profile per thread; thread 0 is the main thread, the others are tsx's loader worker.
      for (const file of profilesIn(dir).filter((name) => /\.\d+\.0\.\d+\.cpuprofile$/.test(name))) profiles.push({ label, summary: summariseProfile(file) });
    },
  };
}

/** The top functions and origins by self time in the profile of `label`, for a bound sentence; '' without one. */
function topFunctions(label: string, top = 3): string {
  const found = profiles.find((p) => p.label === label);
  if (!found) return '';
  const { functions, origins, busyMs } = found.summary;
  const list = (entries: Array<[string, number]>) =>
    entries
      .slice(0, top)
      .map(([name, ms]) => `${name.split('  ')[0]} ${fixed((ms / busyMs) * 100, 0)}%`)
      .join(', ');
  return `profile self time: ${list(functions)} (by origin: ${list(origins)})`;
}

/** A chatlog server in a process of its own over a fresh database, profiled when BENCH_CPU_PROF is set. */
async function startServer(settings: Settings, label: string, options: BenchServerOptions = {}): Promise<{ server: BenchServer; close(): Promise<void> }> {
  const profile = profileArgs(settings, label);
  const server = await startBenchServer({ ...options, mode: 'child-process', nodeArgs: profile.nodeArgs });
  progress(`${label}: ${server.engine} ${server.location}, bus ${server.bus}, pid ${server.children[0]!.pid}, ${server.url}`);
  return {
    server,
    async close() {
      await server.close();
      profile.collect();
    },
  };
}

/** The bare Koa + busboy endpoint in a process of its own. */
async function startCeiling(settings: Settings): Promise<{ child: ChildChatlog; close(): Promise<void> }> {
  const profile = profileArgs(settings, 'ceiling');
  const child = await spawnChatlog({
    script: 'bench/lib/ceiling-server.ts',
    env: { ...process.env, JWT_SECRET: 'unused', JWT_PUBLIC_KEY: '', LOG_LEVEL: 'silent' },
    nodeArgs: profile.nodeArgs,
  });
  progress(`ceiling: bare Koa + busboy endpoint, pid ${child.pid}, ${child.url}`);
  const unregister = onInterrupt(async () => {
    await child.stop(3000);
  });
  return {
    child,
    async close() {
      unregister();
      const exit = await child.stop();
      if (exit.code !== 0) throw new Error(`the ceiling server exited with code ${exit.code}, signal ${exit.signal}:\n${child.tail()}`);
      profile.collect();
    },
  };
}

interface Measured {
  warm?: LoadResult;
  result: LoadResult;
  usage: Usage;
  /** Group commit over the measured run, when the spec named a chatlog server's metrics. */
  batches?: WriteBatches;
}

interface RunSpec {
  title: string;
  url: string;
  path: string;
  headers: Record<string, string>;
  headersFor?: (n: number) => Record<string, string>;
  body: (n: number) => string | Buffer;
  check: ResponseCheck;
  connections: number;
  /** The servers whose CPU and event loop are read over the measured run. */
  children: ChildChatlog[];
  databaseName?: string;
  /** A chatlog server whose write batches (GET /metrics) are read over the measured run. */
  metricsUrl?: string;
}

/** A warm-up (BENCH_WARMUP s) and a measured run (BENCH_DURATION s), with a progress line a second. */
async function warmAndMeasure(settings: Settings, spec: RunSpec): Promise<Measured> {
  let offset = 0;
  const load = (title: string, seconds: number) =>
    runLoad({
      ...spec,
      title,
      // Request numbers go on across the warm-up and the run: every request of the run differs from every other.
      body: (n) => spec.body(offset + n),
      headersFor: spec.headersFor && ((n) => spec.headersFor!(offset + n)),
      durationSeconds: seconds,
      onSecond: (elapsed, responses, errors) => progress(`  ${title}: ${elapsed.toFixed(0)} s, ${count(responses)} responses/s, ${errors} errors`),
    });
  let warm: LoadResult | undefined;
  if (settings.warmup > 0) {
    progress(`${spec.title}: warm-up ${settings.warmup} s, ${spec.connections} connections`);
    warm = await load(`${spec.title} (warm-up)`, settings.warmup);
    // The next run numbers its requests after every request the warm-up may have built.
    offset = 10_000_000;
    await sleep(PAUSE_MS);
  }
  progress(`${spec.title}: ${settings.seconds} s, ${spec.connections} connections`);
  const before = spec.metricsUrl === undefined ? undefined : await writeBatches(spec.metricsUrl);
  const { value: result, usage } = await measureUsage(
    { children: spec.children, selfLabel: 'bench process (autocannon)', databaseName: spec.databaseName },
    () => load(spec.title, settings.seconds),
  );
  const after = spec.metricsUrl === undefined ? undefined : await writeBatches(spec.metricsUrl);
  progress(`${spec.title}: ${count(result.rps)} req/s, p50 ${fixed(result.p50, 2)} ms, p99 ${fixed(result.p99, 2)} ms, ${result.errors} errors`);
  await sleep(PAUSE_MS);
  const batches = before && after && batchesBetween(before, after);
  return { warm, result, usage, batches };
}

/** Rows in the messages table of the bench database: what was persisted, not what was answered. */
async function countMessages(database: DatabaseConfig): Promise<number> {
  const db = knex(knexConfig(database));
  try {
    const row = await db('messages').count({ n: '*' }).first();
    return Number(row?.n ?? NaN);
  } finally {
    await db.destroy();
  }
}

/** Server CPU per request, ms: how much work one request costs the server, whatever the concurrency. */
function cpuPerRequest(measured: Measured): number {
  const server = measured.usage.loads.find((l) => l.role === 'server');
  return server ? (server.cpuCores * 1000) / measured.result.rps : NaN;
}

/**
 * The write path of a push run: transactions per second, writes per transaction, and the time between two
 * transactions, which is about a transaction's length while writes queue (one at a time per instance); and the
 * server's CPU per push, with the rate one core would allow at that cost.
 */
function writePath(measured: Measured): string {
  const { batches } = measured;
  const cpu = cpuPerRequest(measured);
  const server = `server ${fixed(cpu, 2)} ms CPU/push (<= ${count(1000 / cpu)}/s per core)`;
  if (!batches || batches.batches === 0) return server;
  return `${describeWritePath(batches, measured.result.seconds)}; ${server}`;
}

// ---------------------------------------------------------------------------------------------------------------
// 1 and 2. Push throughput against the ceiling; group commit
// ---------------------------------------------------------------------------------------------------------------

interface PushLoad {
  /** Bodies and headers of a push load; `tag` (short, no spaces) keeps msgIds apart between the runs of the bench. */
  spec(title: string, tag: string, url: string, tokens: string[], children: ChildChatlog[], databaseName?: string): RunSpec;
  senders: string[];
  bodyBytes: number;
  protoBytes: number;
}

function pushLoad(settings: Settings, run: string): PushLoad {
  const senders = Array.from({ length: PUSH_SENDERS }, (_, i) => `sender-${run}-${i}`);
  const targets = Array.from({ length: PUSH_TARGETS }, (_, i) => `target-${run}-${i}`);
  const sample = multipartPushes(targets.slice(0, 1), 'x');
  return {
    senders,
    bodyBytes: sample.bodyBytes,
    protoBytes: sample.protoBytes,
    spec(title, tag, url, tokens, children, databaseName) {
      const pushes = multipartPushes(targets, `${run}-${tag}`);
      return {
        title,
        url,
        path: '/record/push',
        headers: { 'content-type': pushes.contentType },
        // Request n goes to target n % 1000; the sender shifts by one every 1000 requests, so the pairs vary.
        headersFor: (n) => ({ authorization: `Bearer ${tokens[(n + Math.floor(n / PUSH_TARGETS)) % tokens.length]}` }),
        body: (n) => pushes.body(n),
        check: freshPushCheck(),
        connections: settings.connections,
        children,
        databaseName,
      };
    },
  };
}

/** Everything answered OK by a measured phase (warm-up included), and the requests it may have left in flight. */
function answered(measured: Measured, connections: number): { ok: number; abandoned: number } {
  const runs = [measured.warm, measured.result].filter((r): r is LoadResult => r !== undefined);
  return { ok: runs.reduce((sum, r) => sum + r.responses - r.errors, 0), abandoned: runs.length * connections };
}

/** Checks that the database holds every message answered OK (and no more than those plus the abandoned ones). */
async function persistence(server: BenchServer, measured: Measured, connections: number): Promise<{ line: string; valid: boolean }> {
  const rows = await countMessages(server.config.database);
  const { ok, abandoned } = answered(measured, connections);
  const valid = rows >= ok && rows <= ok + abandoned;
  return {
    valid,
    line: `persisted: ${count(rows)} rows in messages for ${count(ok)} pushes answered OK (warm-up included; up to ${abandoned} more may have been left in flight at run ends)${valid ? '' : '  <-- MISMATCH'}`,
  };
}

async function pushPart(settings: Settings, run: string): Promise<PartOutcome> {
  const load = pushLoad(settings, run);
  const ceiling = await startCeiling(settings);
  let ceilingClosed = false;
  const runs: Measured[] = [];
  try {
    const ceilingSecret = randomBytes(16).toString('hex');
    const ceilingTokens = await Promise.all(load.senders.map((uid) => signToken(ceilingSecret, uid)));
    const ceiling1 = await warmAndMeasure(settings, load.spec('ceiling 1', 'c1', ceiling.child.url, ceilingTokens, [ceiling.child]));
    runs.push(ceiling1);

    const { server, close } = await startServer(settings, 'push');
    let push: Measured;
    let stored: { line: string; valid: boolean };
    try {
      const tokens = await Promise.all(load.senders.map((uid) => server.token(uid)));
      push = await warmAndMeasure(settings, { ...load.spec('push', 'push', server.url, tokens, server.children, server.engine === 'PostgreSQL' ? server.databaseName : undefined), metricsUrl: server.url });
      runs.push(push);
      stored = await persistence(server, push, settings.connections);
    } finally {
      await close();
    }

    const ceiling2 = await warmAndMeasure(settings, load.spec('ceiling 2', 'c2', ceiling.child.url, ceilingTokens, [ceiling.child]));
    runs.push(ceiling2);
    ceilingClosed = true;
    await ceiling.close();

    const ceilingRps = (ceiling1.result.rps + ceiling2.result.rps) / 2;
    const ratio = push.result.rps / ceilingRps;
    const errors = runs.reduce((sum, m) => sum + m.result.errors + (m.warm?.errors ?? 0), 0);
    const valid = errors === 0 && stored.valid;
    const pushRate = push.result.rps;
    const results = runs.map((m) => m.result);
    const lines = [
      `setup:    ${settings.connections} connections, ${settings.warmup} s warm-up + ${settings.seconds} s measured per run; order ceiling, push, ceiling;`,
      `          multipart body ${load.bodyBytes} bytes (a file part of ${load.protoBytes} bytes: Proto{common, Common{private text}}); ${PUSH_SENDERS} senders x ${PUSH_TARGETS} targets rotating;`,
      '          push: chatlog in a process of its own, default settings; ceiling: bare Koa + the same busboy reader and limits, nothing stored',
      '',
      formatRuns(results),
      '(latency over every response; cpu cores and event loop columns: the bench process running autocannon)',
      '',
      formatUsage(push.usage, 'load during push'),
      '',
      formatUsage(ceiling1.usage, 'load during ceiling 1'),
      '',
      `push / ceiling, throughput: ${fixed(ratio, 2)} (ceiling: mean of ${count(ceiling1.result.rps)} and ${count(ceiling2.result.rps)} req/s)`,
      `server CPU per request: push ${fixed(cpuPerRequest(push), 3)} ms, ceiling ${fixed(cpuPerRequest(ceiling1), 3)} ms`,
      `push: ${writePath(push)}`,
      stored.line,
    ];
    if (errors > 0) lines.push('', 'errors:', ...formatFailures(runs.flatMap((m) => [m.warm, m.result]).filter((r): r is LoadResult => r !== undefined)));
    const pushBound = [writePath(push), describeBound(push.usage), topFunctions('push')].filter(Boolean).join('; ');
    return {
      lines,
      valid,
      headlines: [
        {
          figure: `push: persisted messages/s, multipart, ${settings.connections} connections (p50 / p99)`,
          measured: `${count(pushRate)}/s (${fixed(push.result.p50, 1)} / ${fixed(push.result.p99, 1)} ms)`,
          target: `>= ${count(TARGET_PUSH_RATE)}/s`,
          verdict: verdictOf(valid, pushRate >= TARGET_PUSH_RATE),
          bound: valid ? pushBound : 'failed requests or unpersisted messages (see push section)',
        },
        {
          figure: 'push / bare Koa + busboy ceiling (ceiling req/s)',
          measured: `${fixed(ratio, 2)} (${count(ceilingRps)}/s)`,
          target: `>= ${TARGET_CEILING_RATIO}`,
          verdict: verdictOf(valid, ratio >= TARGET_CEILING_RATIO),
          bound: `server CPU per request ${fixed(cpuPerRequest(push), 3)} ms vs ${fixed(cpuPerRequest(ceiling1), 3)} ms at the ceiling (${fixed(cpuPerRequest(push) / cpuPerRequest(ceiling1), 0)}x the work); ${[describeBound(push.usage), topFunctions('push')].filter(Boolean).join('; ')}`,
        },
      ],
    };
  } finally {
    if (!ceilingClosed) await ceiling.close().catch((err: unknown) => progress(`closing the ceiling failed: ${String(err)}`));
  }
}

async function commitPart(settings: Settings, run: string): Promise<PartOutcome> {
  const load = pushLoad(settings, run);
  const variants = [
    { label: 'WRITE_BATCH_MAX=1', tag: 'commit-1', options: { settings: { WRITE_BATCH_MAX: '1' } } },
    // The default, whatever the environment says.
    { label: 'default', tag: 'commit-default', options: { env: { ...process.env, WRITE_BATCH_MAX: undefined } } },
  ];
  const outcomes: Array<{ label: string; engine: string; batchMax: number; measured: Measured; meanBatch: number; stored: { line: string; valid: boolean } }> = [];
  for (const variant of variants) {
    const { server, close } = await startServer(settings, variant.tag, variant.options);
    try {
      const tokens = await Promise.all(load.senders.map((uid) => server.token(uid)));
      const title = `push, ${variant.label === 'default' ? `WRITE_BATCH_MAX=${server.config.writeBatchMax} (default)` : variant.label}`;
      const spec = load.spec(title, variant.tag, server.url, tokens, server.children, server.engine === 'PostgreSQL' ? server.databaseName : undefined);
      const measured = await warmAndMeasure(settings, { ...spec, metricsUrl: server.url });
      const stored = await persistence(server, measured, settings.connections);
      const meanBatch = measured.batches ? measured.batches.works / measured.batches.batches : NaN;
      outcomes.push({ label: variant.label, engine: server.engine, batchMax: server.config.writeBatchMax, measured, meanBatch, stored });
    } finally {
      await close();
    }
  }
  const [one, grouped] = outcomes as [(typeof outcomes)[0], (typeof outcomes)[0]];
  const gain = grouped.measured.result.rps / one.measured.result.rps;
  const errors = outcomes.reduce((sum, o) => sum + o.measured.result.errors + (o.measured.warm?.errors ?? 0), 0);
  const valid = errors === 0 && outcomes.every((o) => o.stored.valid);
  const lines = [
    `setup:    the push load of part 1 (${settings.connections} connections, multipart) against two servers, each over a fresh database:`,
    `          WRITE_BATCH_MAX=1 (every message its own transaction) and the default ${grouped.batchMax} (group commit)`,
    '',
    formatRuns(outcomes.map((o) => o.measured.result)),
    '',
    ...outcomes.flatMap((o) => [formatUsage(o.measured.usage, `load, ${o.measured.result.title}`), '']),
    ...outcomes.map((o) => `${o.label}: ${writePath(o.measured)}`),
    `group commit gain: ${fixed(gain, 2)} x (${count(one.measured.result.rps)} -> ${count(grouped.measured.result.rps)} req/s); p99 ${fixed(one.measured.result.p99, 1)} -> ${fixed(grouped.measured.result.p99, 1)} ms`,
    ...outcomes.map((o) => `${o.label}: ${o.stored.line}`),
  ];
  if (errors > 0) lines.push('', 'errors:', ...formatFailures(outcomes.map((o) => o.measured.result)));
  return {
    lines,
    valid,
    headlines: [
      {
        figure: `commit: push req/s, WRITE_BATCH_MAX=1 -> ${grouped.batchMax} (mean batch)`,
        measured: `${fixed(gain, 2)}x (${count(one.measured.result.rps)} -> ${count(grouped.measured.result.rps)}/s; ${fixed(one.meanBatch, 1)} -> ${fixed(grouped.meanBatch, 1)})`,
        target: `>= ${TARGET_COMMIT_GAIN}x`,
        verdict: verdictOf(valid, gain >= TARGET_COMMIT_GAIN),
        bound: [
          grouped.meanBatch < 1.5
            ? `group commit formed no batches (mean ${fixed(grouped.meanBatch, 1)} writes per transaction): no write was waiting when a transaction began${grouped.engine === 'SQLite' ? ' (better-sqlite3 runs each statement synchronously, so the event loop takes no new request while a transaction runs)' : ''}`
            : '',
          `batch 1: ${writePath(one.measured)}`,
          describeBound(one.measured.usage),
        ]
          .filter(Boolean)
          .join('; '),
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 3. Reads at a million messages
// ---------------------------------------------------------------------------------------------------------------

/** The envelope check, plus the records per page of every successful read. */
function pageCheck(stats: { pages: number; records: number; full: number; expected: number }): ResponseCheck {
  return (status, body) => {
    let envelope: { result?: unknown; data?: { record_count?: number } };
    try {
      envelope = JSON.parse(body) as typeof envelope;
    } catch {
      return envelopeCheck(status, body);
    }
    if (status !== 200 || envelope.result !== 0) return envelopeCheck(status, body);
    const records = envelope.data?.record_count ?? 0;
    stats.pages++;
    stats.records += records;
    if (records === stats.expected) stats.full++;
    return undefined;
  };
}

async function readsPart(settings: Settings): Promise<PartOutcome> {
  let dataset: Dataset | undefined;
  const spec = { messages: settings.messages, users: settings.users, groups: GROUPS, groupSize: GROUP_SIZE, groupShare: GROUP_SHARE, seed: 20261126 };
  progress(`reads: seeding ${count(spec.messages)} messages across ${count(spec.users)} users (${GROUPS} groups of ${GROUP_SIZE}, ${GROUP_SHARE * 100}% group messages) into a fresh database`);
  const { server, close } = await startServer(settings, 'reads', {
    prepare: async (database) => {
      dataset = await seedDataset(database, spec, progress);
    },
  });
  try {
    const data = dataset!;
    progress(`reads: seeded in ${data.seconds.toFixed(1)} s (${data.finish}); signing ${count(data.users.length)} tokens`);
    const tokens = new Map<string, string>();
    for (let i = 0; i < data.users.length; i += 1000) {
      const part = data.users.slice(i, i + 1000);
      const signed = await Promise.all(part.map((uid) => server.token(uid)));
      part.forEach((uid, j) => tokens.set(uid, signed[j]!));
    }
    const random = generator(7);
    const picks = 100_000;
    const databaseName = server.engine === 'PostgreSQL' ? server.databaseName : undefined;
    const early = Math.floor(data.lastId * EARLY_SHARE);
    const syncPicks = Array.from({ length: picks }, () => ({ uid: data.users[Math.floor(random() * data.users.length)]!, start: Math.floor(random() * early) }));
    const historyPicks = Array.from({ length: picks }, () => {
      const pair = data.conversations[Math.floor(random() * data.conversations.length)]!;
      return random() < 0.5 ? pair : ([pair[1], pair[0]] as [string, string]);
    });
    const syncStats = { pages: 0, records: 0, full: 0, expected: SYNC_COUNT };
    const historyStats = { pages: 0, records: 0, full: 0, expected: HISTORY_COUNT };
    const common = { url: server.url, headers: { 'content-type': 'application/json' }, connections: settings.readConnections, children: server.children, databaseName };
    const sync = await warmAndMeasure(settings, {
      ...common,
      title: `sync-record ${SYNC_COUNT}`,
      path: '/app/record/sync-record',
      headersFor: (n) => ({ authorization: `Bearer ${tokens.get(syncPicks[n % picks]!.uid)}` }),
      body: (n) => JSON.stringify({ count: SYNC_COUNT, start: syncPicks[n % picks]!.start }),
      check: pageCheck(syncStats),
    });
    const syncMeanRecords = syncStats.records / syncStats.pages;
    const syncFull = syncStats.full / syncStats.pages;
    const history = await warmAndMeasure(settings, {
      ...common,
      title: `pri-chat-record ${HISTORY_COUNT}`,
      path: '/app/record/pri-chat-record',
      headersFor: (n) => ({ authorization: `Bearer ${tokens.get(historyPicks[n % picks]![0])}` }),
      body: (n) => JSON.stringify({ targetId: historyPicks[n % picks]![1], count: HISTORY_COUNT }),
      check: pageCheck(historyStats),
    });
    progress('reads: timing the same store calls from the bench process, the server idle');
    const store = await timeStore(server.config.database, syncPicks.slice(0, 100), historyPicks.slice(0, 200), { stream: SYNC_COUNT, history: HISTORY_COUNT });
    const errors = [sync, history].reduce((sum, m) => sum + m.result.errors + (m.warm?.errors ?? 0), 0);
    const valid = errors === 0;
    const split = (label: string, m: Measured, storeMs: LatencySummary) =>
      `${label}: HTTP p50 ${fixed(m.result.p50, 2)} ms = store call p50 ${fixed(storeMs.p50, 2)} ms (database + driver + row mapping, from the bench process) + ${fixed(m.result.p50 - storeMs.p50, 2)} ms in HTTP, auth, validation, encoding`;
    const lines = [
      `data:     ${count(data.rows.messages)} messages (${count(data.privateMessages)} private, ${count(data.groupMessages)} group) across ${count(data.users.length)} users; ${count(data.rows.groups)} groups of ${GROUP_SIZE};`,
      `          ${count(data.conversations.length)} private conversations (random pairs), mean ${fixed(data.meanConversation, 0)} messages each; mean stream ${fixed(data.meanStream, 0)} events per user;`,
      `          rows: ${count(data.rows.events)} events, ${count(data.rows.inbox)} inbox, ${count(data.rows.memberships)} memberships; written in bulk in ${data.seconds.toFixed(1)} s (${count(data.rows.messages / data.seconds)} messages/s), then ${data.finish}`,
      `load:     ${settings.readConnections} connection(s) (one request at a time per connection), ${settings.warmup} s warm-up + ${settings.seconds} s measured per run;`,
      `          sync-record {count: ${SYNC_COUNT}, start: random in [0, ${count(early)})} of random users; pri-chat-record {targetId, count: ${HISTORY_COUNT}} of random conversations`,
      '',
      formatRuns([sync.result, history.result]),
      '',
      formatUsage(sync.usage, 'load during sync-record'),
      '',
      formatUsage(history.usage, 'load during pri-chat-record'),
      '',
      `records per page: sync ${fixed(syncMeanRecords, 0)} (${fixed(syncFull * 100, 0)}% of pages full), history ${fixed(historyStats.records / historyStats.pages, 0)} (${fixed((historyStats.full / historyStats.pages) * 100, 0)}% full)`,
      split('sync-record', sync, store.stream),
      split('pri-chat-record', history, store.history),
      ...(store.plan
        ? [
            `one stream query in PostgreSQL (EXPLAIN ANALYZE, median of 5): ${fixed(store.plan.executionMs, 1)} ms execution + ${fixed(store.plan.planningMs, 1)} ms planning, ${store.plan.rows} rows, ${store.plan.workers} parallel workers` +
              (store.plan.workers > 0 ? ' (their CPU is in "unaccounted": they end before /proc is read)' : ''),
          ]
        : []),
    ];
    if (errors > 0) lines.push('', 'errors:', ...formatFailures([sync.result, history.result]));
    const bound = (m: Measured, storeMs: LatencySummary) =>
      [
        `store call p50 ${fixed(storeMs.p50, 1)} ms of it${m === sync && store.plan ? ` (PostgreSQL executes in ${fixed(store.plan.executionMs, 1)} ms with ${store.plan.workers} parallel workers)` : ''}`,
        settings.readConnections === 1 ? describeLatencyBound(m.usage, m.result.rps) : describeBound(m.usage),
        topFunctions('reads'),
      ]
        .filter(Boolean)
        .join('; ');
    return {
      lines,
      valid,
      headlines: [
        {
          figure: `reads: sync-record ${SYNC_COUNT} at ${count(data.rows.messages)} messages, p50 (p99; records/page)`,
          measured: `${fixed(sync.result.p50, 1)} ms (${fixed(sync.result.p99, 1)}; ${fixed(syncMeanRecords, 0)})`,
          target: `p50 <= ${TARGET_SYNC_P50_MS} ms`,
          verdict: verdictOf(valid, sync.result.p50 <= TARGET_SYNC_P50_MS),
          bound: bound(sync, store.stream),
        },
        {
          figure: `reads: pri-chat-record ${HISTORY_COUNT}, p50 (p99; records/page)`,
          measured: `${fixed(history.result.p50, 2)} ms (${fixed(history.result.p99, 1)}; ${fixed(historyStats.records / historyStats.pages, 0)})`,
          target: `p50 <= ${TARGET_HISTORY_P50_MS} ms`,
          verdict: verdictOf(valid, history.result.p50 <= TARGET_HISTORY_P50_MS),
          bound: bound(history, store.history),
        },
      ],
    };
  } finally {
    await close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 4 and 5. Group push and realtime, from their own benches
// ---------------------------------------------------------------------------------------------------------------

async function groupPart(): Promise<PartOutcome> {
  const outcome = await runGroupPush(readGroupPushSettings());
  return { lines: [`server:   one instance in the bench process (as bench:group), ${outcome.engine} ${outcome.location}`, ...outcome.lines], headlines: outcome.headlines, valid: outcome.errors === 0 };
}

async function realtimePart(): Promise<PartOutcome> {
  const outcome = await runRealtime(readRealtimeSettings('BENCH_REALTIME_USERS'));
  return { lines: outcome.lines, headlines: outcome.headlines, valid: outcome.valid };
}

// ---------------------------------------------------------------------------------------------------------------

const TITLES: Record<Part, string> = {
  push: '1. push throughput, multipart, against the bare Koa + busboy ceiling',
  commit: '2. push with one message per transaction beside group commit',
  reads: '3. read latency at a million messages',
  group: '4. push to a 10,000-member group beside a private push (bench:group)',
  realtime: '5. realtime: end-to-end latency across instances, memory per idle socket (bench:realtime)',
};

function engineLine(): { engine: string; location: string } {
  const database = process.env.DATABASE_URL?.trim() ?? '';
  const redis = process.env.REDIS_URL?.trim() ?? '';
  const bus = redis === '' ? 'in-process bus' : `Redis ${redactUrl(redis)} (a key prefix of each run's own)`;
  if (/^postgres(ql)?:\/\//.test(database)) {
    const url = new URL(database);
    return { engine: `PostgreSQL + ${redis === '' ? 'in-process bus' : 'Redis'}`, location: `fresh databases chatlog_bench_* created beside ${url.pathname.slice(1)} on ${url.host} and dropped at the end; ${bus}` };
  }
  return { engine: 'SQLite, the embedded default', location: `fresh temp files, removed at the end; ${bus}` };
}

async function main(): Promise<number> {
  const settings = readSettings();
  const run = randomBytes(4).toString('hex');
  const { engine, location } = engineLine();
  const started = Date.now();
  const sections: string[] = [];
  const headlines: Headline[] = [];
  let valid = true;
  for (const part of PARTS) {
    if (!settings.only.has(part)) continue;
    progress(`== ${TITLES[part]}`);
    let outcome: PartOutcome;
    try {
      switch (part) {
        case 'push':
          outcome = await pushPart(settings, run);
          break;
        case 'commit':
          outcome = await commitPart(settings, run);
          break;
        case 'reads':
          outcome = await readsPart(settings);
          break;
        case 'group':
          outcome = await groupPart();
          break;
        case 'realtime':
          outcome = await realtimePart();
          break;
      }
    } catch (err) {
      // Interrupted: the cleanup cut the part short and exits shortly; its failure is no news.
      if (interrupted()) return 130;
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      progress(`${part} failed: ${message}`);
      outcome = { lines: [`FAILED: ${message}`], headlines: [{ figure: `${part}: could not run`, measured: '-', target: '-', verdict: 'INVALID', bound: message.split('\n')[0] }], valid: false };
    }
    valid &&= outcome.valid;
    headlines.push(...outcome.headlines);
    sections.push('', `== ${TITLES[part]}`, '', ...outcome.lines);
  }
  const lines = [
    '',
    `chatlog bench: ${[...settings.only].join(', ')}`,
    ...environmentLines(engine, location),
    `duration: ${((Date.now() - started) / 1000).toFixed(0)} s`,
    ...sections,
  ];
  if (profiles.length > 0) {
    lines.push('', '== CPU profiles of the servers (whole life: start, warm-up, runs, shutdown)');
    for (const { label, summary } of profiles) lines.push('', `-- ${label}`, ...formatProfile(summary, 15));
  }
  lines.push('', '== summary', '', formatHeadlines(headlines));
  if (!valid) lines.push('', 'INVALID rows: a request failed, a message was lost, or a part could not run; see its section.');
  process.stdout.write(`${lines.join('\n')}\n`);
  return valid ? 0 : 1;
}

runMain(main);
