/**
 * `npm run bench:fanout` (part 6 of `npm run bench`). Issue: "realtime fan-out from the notifications: a group of
 * 500 at 10 messages/s with p99 <= 100 ms and <= 0.01 database transactions per delivered event; private messages
 * at 1,000/s across two instances with p99 <= 50 ms", each beside the design before it in the same run.
 *
 * On PostgreSQL + Redis two instances over one fresh database, joined by Redis; otherwise one. Each is a process of
 * its own. Every scenario runs twice, on fresh servers and a fresh database each time: REALTIME_DELIVERY=database
 * (before: every notification wakes each socket it concerns, which reads its stream from the database) and live
 * (now: the events travel with their notification and go to the sockets from there).
 *
 * 1. Groups. For each size in BENCH_FANOUT_GROUPS, one group created through the API; every member online with one
 *    socket through ChatlogClient (no `since`, each waits for `ready`), members alternating between the instances;
 *    one member (the owner) pushes JSON text messages through instance 1, open loop at BENCH_FANOUT_RATE messages/s.
 * 2. Private. BENCH_USERS recipients with one socket each, on instance i % 2; senders push to them through the
 *    instance not holding the recipient's socket, open loop at BENCH_RATE messages/s.
 *
 * Each after a warm-up of BENCH_WARMUP s, for BENCH_DURATION s; the send time is in the content, the latency taken
 * when the `message` frame arrives. Every socket must get every message meant for it exactly once, in id order. On
 * PostgreSQL, the database's transactions (pg_stat_database) over the window, to the last frame and a settle, per
 * delivered event; the servers' CPU over the sending. Database mode may fall so far behind that senders give up
 * waiting for answers: those are reported as its figure, not as invalid.
 *
 *   npm run bench:fanout
 *   DATABASE_URL=postgres://root@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 BENCH_DURATION=5 npm run bench:fanout
 *
 * Settings: BENCH_DURATION (s, 10), BENCH_WARMUP (s, 5), BENCH_FANOUT_GROUPS (group sizes, 500,2000),
 * BENCH_FANOUT_RATE (group messages/s, 10), BENCH_RATE (private messages/s, 1000), BENCH_USERS (private recipients,
 * 100; in `npm run bench`, BENCH_REALTIME_USERS). Exit status 1 when the figures are invalid (a push failed, a
 * frame is missing, repeated, misdelivered or out of order, a socket dropped, a server did not exit cleanly); a
 * MISS of a target is reported, not an exit status.
 *
 * Longer than the other parts because both scenarios share one run loop: set-up, the per-socket check of every
 * delivery, the database's transaction count and the servers' metrics over one window.
 */
import 'dotenv/config';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChatlogClient, ChatlogEvent } from '../src/client/index.js';
import { summarise, type LatencySummary } from './lib/load.js';
import { sumMetrics, type MetricSeries } from './lib/measure.js';
import { Deliveries, timedText } from './lib/deliveries.js';
import { OpenLoop, untilDoneOrQuiet } from './lib/open-loop.js';
import { STATS_FLUSH_MS, transactionCounter, type TransactionCounter } from './lib/pg-stats.js';
import {
  count,
  environmentLines,
  fixed,
  formatTable,
  integerListSetting,
  integerSetting,
  isMain,
  printReport,
  progress,
  verdictOf,
  type Headline,
  type PartOutcome,
} from './lib/report.js';
import { engine, engineDescription, runMain, startServers, type Servers } from './lib/servers.js';
import { NO_ANSWER, httpFetch, subscribeAll } from './lib/subscribers.js';
import { describeBound, mark, usageBetween, usageLine, type Mark, type Usage } from './lib/usage.js';

const MODES = ['database', 'live'] as const;
type Mode = (typeof MODES)[number];
/** The group size the targets are for; larger groups are reported only. */
const TARGET_GROUP_SIZE = 500;
const TARGET_GROUP_P99_MS = 100;
const TARGET_XACTS_PER_DELIVERY = 0.01;
const TARGET_PRIVATE_P99_MS = 50;
/** Past this many pushes in flight the servers have fallen behind: further sends are dropped, not queued. */
const MAX_IN_FLIGHT = 1000;
/** After the sends, the last frames are waited for until none came for DRAIN_QUIET_MS, or DRAIN_MAX_MS in all. */
const [DRAIN_QUIET_MS, DRAIN_MAX_MS] = [3000, 60_000];
const SERIES: MetricSeries[] = [
  ['chatlog_events_delivered_total', 'source="live"'],
  ['chatlog_events_delivered_total', 'source="database"'],
  ['chatlog_stream_reads_total'],
];

const now = () => performance.timeOrigin + performance.now();

export type FanoutSettings = ReturnType<typeof readFanoutSettings>;

export function readFanoutSettings(usersVariable = 'BENCH_USERS') {
  return {
    seconds: integerSetting('BENCH_DURATION', 10, 1, 3600),
    warmup: integerSetting('BENCH_WARMUP', 5, 0, 600),
    groups: integerListSetting('BENCH_FANOUT_GROUPS', [500, 2000], 2, 100_000),
    groupRate: integerSetting('BENCH_FANOUT_RATE', 10, 1, 10_000),
    rate: integerSetting('BENCH_RATE', 1000, 1, 100_000),
    users: integerSetting(usersVariable, 100, 1, 10_000),
  };
}

/** What a scenario sets up on its fresh servers: the sockets, how message n is sent, and whom it is for. */
interface Plan {
  /** Socket i subscribes as subscribers[i]. */
  subscribers: Array<() => Promise<ChatlogClient>>;
  /** The deliveries each message is meant to make. */
  perMessage: number;
  /** Which of message n's deliveries a frame of it on `socket` is (0 to perMessage - 1), or -1: not meant for it. */
  slot(n: number, socket: number, targetId: string): number;
  send(n: number, content: string): Promise<unknown>;
}

type Scenario = { title: string; group?: number; rate: number; settings?: Record<string, string>; setUp(servers: Servers): Promise<Plan> };

function groupScenario(size: number, rate: number): Scenario {
  const uid = (i: number) => `m-${i}`;
  return {
    title: `group of ${count(size)} at ${count(rate)} msg/s`,
    group: size,
    rate,
    settings: { MAX_GROUP_MEMBERS: String(Math.max(size, Number(process.env.MAX_GROUP_MEMBERS) || 0)) },
    async setUp(servers) {
      progress(`creating a group of ${size} members through the API`);
      const owner = await servers.client(uid(0));
      const groupId = String((await owner.createGroup({ name: 'fanout', memberIds: Array.from({ length: size - 1 }, (_, i) => uid(i + 1)) })).id);
      const { memberNum } = await owner.groupInfo(groupId);
      if (memberNum !== size) throw new Error(`group ${groupId} has ${memberNum} members, not ${size}`);
      const sender = await servers.client(uid(0), 0, httpFetch());
      return {
        subscribers: Array.from({ length: size }, (_, i) => () => servers.client(uid(i), i % servers.urls.length)),
        perMessage: size,
        slot: (_n, socket, targetId) => (targetId === groupId ? socket : -1),
        send: (n, content) => sender.push({ channelType: 1, msgId: `g-${n}`, targetId: groupId, msgType: 1, content: { content } }),
      };
    },
  };
}

function privateScenario(users: number, rate: number): Scenario {
  return {
    title: `private at ${count(rate)} msg/s, ${count(users)} recipients`,
    rate,
    async setUp(servers) {
      const instances = servers.urls.length;
      const transport = httpFetch();
      const senders = await Promise.all(Array.from({ length: users }, (_, i) => servers.client(`s-${i}`, (i + 1) % instances, transport)));
      return {
        subscribers: Array.from({ length: users }, (_, i) => () => servers.client(`r-${i}`, i % instances)),
        perMessage: 1,
        slot: (n, socket, targetId) => (n % users === socket && targetId === `r-${socket}` ? 0 : -1),
        send: (n, content) => senders[n % users]!.push({ channelType: 0, msgId: `p-${n}`, targetId: `r-${n % users}`, msgType: 1, content: { content } }),
      };
    },
  };
}

interface Run {
  mode: Mode;
  /** Over the measured window: messages sent, deliveries of those answered OK expected and received. */
  sent: number;
  expected: number;
  received: number;
  answeredRate: number;
  dropped: number;
  /** Completeness violations over the whole run, warm-up included; none for valid figures. */
  problems: string[];
  /** Database mode only: sends its servers did not answer in time (they fell behind), which is its figure, not a fault. */
  unanswered: number;
  latency: LatencySummary;
  /** The database's transactions over the window (NaN on SQLite), and per delivery received. */
  xacts: number;
  xactsPerDelivery: number;
  /** Frames delivered live and from the database, and stream reads, summed over the instances (metrics). */
  sources: number[];
  usage: Usage;
  failures: Map<string, number>;
}

async function runOnce(scenario: Scenario, mode: Mode, settings: FanoutSettings): Promise<Run> {
  const { rate } = scenario;
  progress(`${scenario.title}, REALTIME_DELIVERY=${mode}: fresh servers`);
  const servers = await startServers({ instances: engine.instances, settings: { ...scenario.settings, REALTIME_DELIVERY: mode } });
  let counter: TransactionCounter | undefined;
  try {
    counter = await transactionCounter(servers.database);
    const plan = await scenario.setUp(servers);
    const per = plan.perMessage;
    const warmupCount = settings.warmup * rate;
    const loop = new OpenLoop(warmupCount + settings.seconds * rate, rate, MAX_IN_FLIGHT);
    const deliveries = new Deliveries(loop.total, per);
    const lastIds = new Float64Array(plan.subscribers.length);
    const latencies: number[] = [];
    const tally = { sentInWindow: 0, okInWindow: 0, outOfOrder: 0, misdelivered: 0, unexpected: 0, drops: 0 };
    const onEvent = (socket: number) => (event: ChatlogEvent) => {
      const at = now();
      const timed = deliveries.read(event);
      if (!timed || event.type !== 'message') return void tally.unexpected++;
      const { n, sentAt } = timed;
      if (event.id <= lastIds[socket]!) tally.outOfOrder++;
      lastIds[socket] = event.id;
      const slot = plan.slot(n, socket, event.record.targetId);
      if (slot < 0) return void tally.misdelivered++;
      deliveries.record(n, slot);
      if (n >= warmupCount) latencies.push(at - sentAt);
    };
    progress(`connecting ${plan.subscribers.length} sockets, each waiting for ready`);
    const sockets = await subscribeAll(plan.subscribers, onEvent);
    for (const socket of sockets) void socket.closed.then(() => tally.drops++);
    // The connecting made transactions that must be counted before the window starts (pg-stats.ts).
    if (counter) await sleep(Math.max(0, STATS_FLUSH_MS - settings.warmup * 1000));

    let start: { mark: Mark; xacts?: Promise<number>; sources: Promise<number[]> } | undefined;
    let inWindow = false;
    progress(`sending ${rate} messages/s open loop: ${settings.warmup} s warm-up, then ${settings.seconds} s measured`);
    const startedAt = now();
    const ticker = setInterval(() => progress(`  ${((now() - startedAt) / 1000).toFixed(0)} s: ${loop.status()}; ${deliveries.received} frames`), 1000);
    await loop.run(
      (n) => {
        if (inWindow) tally.sentInWindow++;
        return plan.send(n, timedText(n, now())).then(() => void (inWindow && tally.okInWindow++));
      },
      (n) => {
        if (n !== warmupCount) return;
        start = { mark: mark(servers.children), xacts: counter?.read(), sources: sumMetrics(servers.urls, SERIES) };
        inWindow = true;
      },
    );
    const end = mark(servers.children);
    inWindow = false;
    progress(`all sends issued; waiting for ${loop.inFlight} pushes in flight and the last frames`);
    await loop.settle();
    await untilDoneOrQuiet(
      () => deliveries.received >= loop.ok * per,
      () => deliveries.received,
      DRAIN_QUIET_MS,
      DRAIN_MAX_MS,
    );
    clearInterval(ticker);
    const drops = tally.drops;
    for (const socket of sockets) socket.subscription.close();
    const sourcesEnd = await sumMetrics(servers.urls, SERIES);
    if (counter) await sleep(STATS_FLUSH_MS);
    const xactsEnd = await counter?.read();
    const usage = await usageBetween(start?.mark ?? end, end);
    const [sourcesStart, xactsStart] = [await start?.sources, await start?.xacts];
    const xacts = xactsEnd !== undefined && xactsStart !== undefined ? xactsEnd - xactsStart : NaN;
    const { missing, ofFailed, expected, filled: received } = deliveries.check(loop.state, warmupCount);
    // The design compared against may fall so far behind that senders give up waiting for answers (their messages
    // may well be stored): that is its figure, not a fault of the run. Anything else is.
    const unanswered = mode === 'database' && loop.failures.get(NO_ANSWER) === loop.failed ? loop.failed : 0;
    const found = {
      'failed pushes': loop.failed - unanswered,
      missing,
      duplicate: deliveries.duplicates,
      'out of order': tally.outOfOrder,
      misdelivered: tally.misdelivered,
      'other frames': tally.unexpected,
      'of failed pushes': unanswered > 0 ? 0 : ofFailed,
      'sockets dropped': drops,
    };
    const problems = Object.entries(found)
      .filter(([, n]) => n > 0)
      .map(([what, n]) => `${n} ${what}`);
    return {
      mode,
      sent: tally.sentInWindow,
      expected,
      received,
      answeredRate: tally.okInWindow / ((end.at - (start?.mark ?? end).at) / 1000),
      dropped: loop.dropped,
      problems: latencies.length > 0 ? problems : [...problems, 'no frame in the measured window'],
      unanswered,
      latency: summarise(latencies),
      xacts,
      xactsPerDelivery: xacts / received,
      sources: sourcesStart ? sourcesEnd.map((value, i) => value - sourcesStart[i]!) : sourcesEnd,
      usage,
      failures: loop.failures,
    };
  } finally {
    await counter?.close();
    await servers.close();
  }
}

export async function runFanout(settings: FanoutSettings): Promise<PartOutcome> {
  const scenarios = [...settings.groups.map((size) => groupScenario(size, settings.groupRate)), privateScenario(settings.users, settings.rate)];
  const results: Array<{ scenario: Scenario; runs: Record<Mode, Run> }> = [];
  for (const scenario of scenarios) {
    const runs = {} as Record<Mode, Run>;
    for (const mode of MODES) runs[mode] = await runOnce(scenario, mode, settings);
    results.push({ scenario, runs });
  }
  const instances = engine.instances;
  const isPostgres = engine.name === 'PostgreSQL';
  const valid = (r: Record<Mode, Run>) => r.database.problems.length === 0 && r.live.problems.length === 0;
  const reached = (scenario: Scenario, run: Run) => run.dropped === 0 && run.answeredRate >= scenario.rate * 0.95;
  const bound = (scenario: Scenario, runs: Record<Mode, Run>) =>
    !valid(runs)
      ? MODES.filter((m) => runs[m].problems.length > 0)
          .map((m) => `${m} mode: ${runs[m].problems.join(', ')}`)
          .join('; ')
      : [
          reached(scenario, runs.live) ? '' : `the servers answered ${fixed(runs.live.answeredRate, 0)} of ${scenario.rate} sends/s: the latency is queueing`,
          describeBound(runs.live.usage),
        ]
          .filter(Boolean)
          .join('; ');
  const ms = (value: number) => `${fixed(value, value < 10 ? 1 : 0)} ms`;
  const ratio = (value: number) => fixed(value, value < 0.1 ? 4 : 2);
  const headlines: Headline[] = [];
  for (const { scenario, runs } of results) {
    const { live, database } = runs;
    const targetP99 = scenario.group === undefined ? TARGET_PRIVATE_P99_MS : scenario.group <= TARGET_GROUP_SIZE ? TARGET_GROUP_P99_MS : undefined;
    const where = instances > 1 ? `${instances} instances` : '1 instance';
    headlines.push({
      figure: `fanout: ${scenario.title}, ${where}: end-to-end p99 (p50)`,
      measured: `${ms(live.latency.p99)} (${ms(live.latency.p50)}; database mode: ${ms(database.latency.p99)}${database.unanswered > 0 ? `, ${count(database.unanswered)} sends unanswered within 10 s` : ''})`,
      target: targetP99 === undefined ? 'report only' : `<= ${targetP99} ms`,
      verdict: verdictOf(valid(runs), targetP99 === undefined || (reached(scenario, live) && live.latency.p99 <= targetP99)),
      bound: bound(scenario, runs),
    });
    if (isPostgres && scenario.group !== undefined && scenario.group <= TARGET_GROUP_SIZE)
      headlines.push({
        figure: `fanout: ${scenario.title}: database transactions per delivered event`,
        measured: `${ratio(live.xactsPerDelivery)} (database mode: ${ratio(database.xactsPerDelivery)})`,
        target: `<= ${TARGET_XACTS_PER_DELIVERY}`,
        verdict: verdictOf(valid(runs), live.xactsPerDelivery <= TARGET_XACTS_PER_DELIVERY),
        bound: valid(runs)
          ? `${count(live.xacts)} transactions for ${count(live.sent)} messages (${fixed(live.xacts / live.sent, 1)} each), ${count(live.received)} deliveries`
          : bound(scenario, runs),
      });
  }
  const rows = results.flatMap(({ scenario, runs }) =>
    MODES.map((mode) => {
      const r = runs[mode];
      const [liveFrames, databaseFrames, reads] = r.sources.map(count);
      return [
        scenario.title,
        mode,
        count(r.sent),
        count(r.expected),
        count(r.received),
        r.problems.length === 0 ? 'yes' : 'NO',
        ...[r.latency.p50, r.latency.p99, r.latency.max].map((v) => fixed(v, 1)),
        isPostgres ? ratio(r.xactsPerDelivery) : '-',
        `${liveFrames} / ${databaseFrames}`,
        reads!,
      ];
    }),
  );
  const details = results.flatMap(({ scenario, runs }) =>
    MODES.flatMap((mode) => {
      const r = runs[mode];
      return [
        `${scenario.title}, ${mode}: ${fixed(r.answeredRate, 0)} sends answered OK/s (asked ${scenario.rate}), ${r.dropped} dropped at ${MAX_IN_FLIGHT} in flight; ${r.problems.join(', ') || 'complete'}${r.unanswered > 0 ? ` (${r.unanswered} sends unanswered within 10 s: the servers fell behind)` : ''}`,
        `  ${usageLine(r.usage)}`,
        ...[...r.failures].map(([why, n]) => `  push failure: ${n} x ${why}`),
      ];
    }),
  );
  const lines = [
    `fan-out:  ${instances > 1 ? `${instances} instances, each in a process of its own, joined by Redis,` : 'one instance in a process of its own'} over one fresh ${engine.name} database per run${instances > 1 ? '' : ' (two instances need PostgreSQL and REDIS_URL)'};`,
    '          every scenario twice: REALTIME_DELIVERY=database (before: each socket woken reads its stream) and live (now: from the notification)',
    `          groups: created through the API, every member with one socket (alternating instances), the owner sends through instance 1;`,
    `          private: ${settings.users} recipients with one socket each, senders through the instance not holding it; sockets through ChatlogClient;`,
    `          JSON text messages, open loop, ${settings.warmup} s warm-up + ${settings.seconds} s measured, the send time in the content`,
    '',
    formatTable(
      ['scenario', 'mode', 'sent', 'expected', 'received', 'complete', 'p50 ms', 'p99 ms', 'max ms', 'xacts/delivery', 'frames live / db', 'stream reads'],
      rows,
      ['left', 'left'],
    ),
    '',
    'sent, expected, received: messages and deliveries of the measured window; complete: every socket got every message meant for it exactly',
    "once and in id order, warm-up included; frames and stream reads: the servers' metrics from the window's start to the last frame;",
    ...(isPostgres
      ? [
          "xacts/delivery: xact_commit + xact_rollback of the run's database (pg_stat_database) over the window, per delivery received; read",
          `${STATS_FLUSH_MS / 1000} s after the sockets connected and ${STATS_FLUSH_MS / 1000} s after the last frame, as PostgreSQL counts an idle connection's transactions up to 10 s late`,
        ]
      : ['xacts/delivery: PostgreSQL only (pg_stat_database)']),
    ...details,
  ];
  return { lines, headlines, valid: results.every(({ runs }) => valid(runs)) };
}

async function main(): Promise<number> {
  const outcome = await runFanout(readFanoutSettings());
  return printReport(environmentLines('realtime fan-out, live delivery beside database mode', engineDescription()), ['', ...outcome.lines], [outcome]);
}

if (isMain(import.meta.url)) runMain(main);
