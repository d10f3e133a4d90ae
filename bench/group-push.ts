/**
 * Issue: "a group send costs no more than 1.5 times a private send on the write path".
 *
 * One chatlog instance in this process, over a fresh database of the configured engine (SQLite temp file by
 * default, PostgreSQL when DATABASE_URL=postgres://...). A group of 10,000 members is created through the API,
 * then one sender (the group's owner) pushes JSON text messages, each with a new msgId, with autocannon:
 * private (to a fixed uid), group (to the 10,000-member group), private again, so that drift on a shared,
 * noisy machine shows. Each kind gets a warm-up first. Every response is checked.
 *
 *   npm run bench:group
 *   BENCH_DURATION=5 BENCH_CONNECTIONS=16 DATABASE_URL=postgres://root@127.0.0.1:5432/test npm run bench:group
 *
 * Exit status 1 when any request failed (the figures would be meaningless) or the bench could not run; a MISS
 * of the target is reported, not an exit status, since one run on a noisy machine is no verdict.
 *
 * `npm run bench` (bench/run.ts) imports runGroupPush and puts its headline figure in its final table.
 */
import 'dotenv/config';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { batchesBetween, Channel, createGroup, describeWritePath, freshPushCheck, textPushBody, writeBatches } from './lib/chatlog.js';
import { runLoad, type LoadResult } from './lib/load.js';
import { bottleneckNotes, environmentLines, formatFailures, formatRuns, integerSetting, isMain, progress, runMain, summarise, verdictOf, type Headline } from './lib/report.js';
import { startBenchServer } from './lib/server.js';
import { describeBound, measureUsage, type Usage } from './lib/usage.js';

const GROUP_SIZE = 10_000;
const TARGET_RATIO = 1.5;
const WARMUP_SECONDS = 2;
/** Lets the requests autocannon abandoned at the end of a run finish before the next run starts. */
const PAUSE_MS = 500;

interface Phase {
  /** Short, goes into the msgIds. */
  key: string;
  title: string;
  channel: number;
  seconds: number;
}

export interface GroupPushSettings {
  /** Seconds of each measured run. */
  seconds: number;
  connections: number;
}

export function readGroupPushSettings(): GroupPushSettings {
  return {
    seconds: integerSetting('BENCH_DURATION', 10, 1, 3600),
    connections: integerSetting('BENCH_CONNECTIONS', 32, 1, 10_000),
  };
}

export interface GroupPushOutcome {
  engine: string;
  location: string;
  /** The detailed report: set-up, the runs, the ratios and the verdict. */
  lines: string[];
  headlines: Headline[];
  /** Failed requests; the figures mean nothing unless 0. */
  errors: number;
}

/** Creates the group, runs the phases and reports them. */
export async function runGroupPush(settings: GroupPushSettings): Promise<GroupPushOutcome> {
  const { seconds, connections } = settings;
  const maxMembers = Math.min(1_000_000, Math.max(GROUP_SIZE, Number(process.env.MAX_GROUP_MEMBERS) || 0));
  const run = randomBytes(4).toString('hex');

  progress('starting chatlog over a fresh database');
  const server = await startBenchServer({ settings: { MAX_GROUP_MEMBERS: String(maxMembers) } });
  try {
    progress(`${server.engine}: ${server.location}, serving on ${server.url}`);
    const owner = `owner-${run}`;
    const peer = `peer-${run}`;
    const ownerToken = await server.token(owner);

    const members = Array.from({ length: GROUP_SIZE - 1 }, (_, i) => `member-${run}-${i}`);
    progress(`creating a group of ${GROUP_SIZE} members through POST /app/create-group`);
    const createStarted = performance.now();
    const { id: groupId, note: groupNote } = await createGroup(server.url, ownerToken, members);
    const createSeconds = (performance.now() - createStarted) / 1000;
    if (groupNote !== undefined) progress(`WARNING: ${groupNote}`);
    progress(`group ${groupId} created in ${createSeconds.toFixed(2)} s`);

    const targets: Record<number, string> = { [Channel.private]: peer, [Channel.group]: String(groupId) };
    const check = freshPushCheck();
    const phases: Phase[] = [
      { key: 'wp', title: 'warm-up private', channel: Channel.private, seconds: WARMUP_SECONDS },
      { key: 'wg', title: 'warm-up group', channel: Channel.group, seconds: WARMUP_SECONDS },
      { key: 'p1', title: 'private 1', channel: Channel.private, seconds },
      { key: 'g', title: `group (${GROUP_SIZE} members)`, channel: Channel.group, seconds },
      { key: 'p2', title: 'private 2', channel: Channel.private, seconds },
    ];

    const results: LoadResult[] = [];
    /** The write path of each measured run: with one write transaction at a time, its length bounds throughput. */
    const writePaths = new Map<string, string>();
    let groupUsage: Usage | undefined;
    for (const phase of phases) {
      progress(`${phase.title}: ${phase.seconds} s, ${connections} connections, POST /record/push channelType ${phase.channel}`);
      const before = await writeBatches(server.url);
      const { value: result, usage } = await measureUsage(
        { children: [], selfLabel: 'this process (server and autocannon)', selfIsServer: true, databaseName: server.engine === 'PostgreSQL' ? server.databaseName : undefined },
        () =>
          runLoad({
            title: phase.title,
            url: server.url,
            path: '/record/push',
            headers: { authorization: `Bearer ${ownerToken}`, 'content-type': 'application/json' },
            body: (n) => textPushBody(phase.channel, `${run}-${phase.key}-${n}`, targets[phase.channel]!),
            connections,
            durationSeconds: phase.seconds,
            check,
          }),
      );
      if (phase.key === 'g') groupUsage = usage;
      writePaths.set(phase.key, describeWritePath(batchesBetween(before, await writeBatches(server.url)), result.seconds));
      progress(summarise(result));
      results.push(result);
      await sleep(PAUSE_MS);
    }

    const [, , private1, group, private2] = results as [LoadResult, LoadResult, LoadResult, LoadResult, LoadResult];
    const errors = results.reduce((sum, r) => sum + r.errors, 0);
    const privateMean = (private1.mean + private2.mean) / 2;
    const privateRps = (private1.rps + private2.rps) / 2;
    const latencyRatio = group.mean / privateMean;
    const ratio = (a: number, b: number) => (a / b).toFixed(2);

    const verdict = errors > 0 ? `INVALID: ${errors} failed requests, the figures measure errors` : latencyRatio <= TARGET_RATIO ? 'PASS' : 'MISS';
    const lines = [
      `setup:    group of ${GROUP_SIZE} members created through the API${groupNote === undefined ? '' : ' (see WARNING)'} in ${createSeconds.toFixed(2)} s; one sender (the owner);`,
      `          ${connections} connections, ${seconds} s per run after a ${WARMUP_SECONDS} s warm-up of each kind; order private, group, private`,
      ...(groupNote === undefined ? [] : [`WARNING:  ${groupNote}`]),
      '',
      formatRuns(results),
      '(latency over every response; cpu cores and event loop: this process, i.e. the server and autocannon together)',
      '',
      `private baseline (mean of private 1 and 2): mean latency ${privateMean.toFixed(2)} ms, ${privateRps.toFixed(0)} req/s`,
      `group / private, mean latency: ${latencyRatio.toFixed(2)}   (vs private 1: ${ratio(group.mean, private1.mean)}, vs private 2: ${ratio(group.mean, private2.mean)})`,
      `group / private, throughput:   ${ratio(group.rps, privateRps)}   (vs private 1: ${ratio(group.rps, private1.rps)}, vs private 2: ${ratio(group.rps, private2.rps)})`,
      `drift, private 2 / private 1:  mean latency ${ratio(private2.mean, private1.mean)}, throughput ${ratio(private2.rps, private1.rps)}`,
      `target: group mean latency <= ${TARGET_RATIO} x private  ->  ${verdict}${errors > 0 ? '' : ` (${latencyRatio.toFixed(2)})`}`,
      '',
      ...phases.filter((phase) => writePaths.has(phase.key) && !phase.key.startsWith('w')).map((phase) => `${`${phase.title}:`.padEnd(23)}${writePaths.get(phase.key)}`),
    ];
    lines.push(
      '',
      'note: closed loop, so mean latency ~ connections / throughput and the two ratios say one thing;',
      '      BENCH_CONNECTIONS=1 measures the cost of one send without queueing',
      ...bottleneckNotes(results.slice(2)),
    );
    if (errors > 0) lines.push('', 'errors:', ...formatFailures(results));
    const headline: Headline = {
      figure: `group push: mean latency, ${GROUP_SIZE.toLocaleString('en-US')}-member group / private`,
      measured: `${latencyRatio.toFixed(2)} (${group.mean.toFixed(1)} / ${privateMean.toFixed(1)} ms)`,
      target: `<= ${TARGET_RATIO}`,
      verdict: verdictOf(errors === 0, latencyRatio <= TARGET_RATIO),
      bound:
        errors > 0
          ? `${errors} failed requests`
          : `group: ${writePaths.get('g')} (private: ${writePaths.get('p1')?.replace(/^serial write transactions: /, '')})${groupUsage ? `; ${describeBound(groupUsage)}` : ''}`,
    };
    return { engine: server.engine, location: server.location, lines, headlines: [headline], errors };
  } finally {
    progress('closing the server and deleting the bench database');
    await server.close();
  }
}

async function main(): Promise<number> {
  const outcome = await runGroupPush(readGroupPushSettings());
  const lines = [
    '',
    `chatlog bench: push to a ${GROUP_SIZE}-member group beside a private push, same server, same run`,
    ...environmentLines(outcome.engine, outcome.location),
    ...outcome.lines,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return outcome.errors > 0 ? 1 : 0;
}

if (isMain(import.meta.url)) runMain(main);
