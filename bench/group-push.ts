/**
 * `npm run bench:group` (part 4 of `npm run bench`). Issue: "a group send costs no more than 1.5 times a private
 * send on the write path".
 *
 * One chatlog instance in this process, over a fresh database. A group of 10,000 members is created through the
 * API, then its owner pushes JSON text messages, a msgId each, with autocannon: private (to one uid), group, private
 * again, so that drift on a shared machine shows; each kind gets a warm-up first, and every response is checked.
 *
 *   npm run bench:group
 *   BENCH_DURATION=5 BENCH_CONNECTIONS=16 DATABASE_URL=postgres://root@127.0.0.1:5432/test npm run bench:group
 *
 * Settings: BENCH_DURATION (s per measured run, 10), BENCH_CONNECTIONS (32). Exit status 1 when a request failed.
 */
import 'dotenv/config';
import { formatRuns, type LoadResult } from './lib/load.js';
import { describeWritePath, errorsOf, warmAndMeasure, type Measured } from './lib/measure.js';
import { environmentLines, fixed, integerSetting, isMain, printReport, progress, verdictOf, type PartOutcome } from './lib/report.js';
import { engineDescription, runMain, startServers } from './lib/servers.js';
import { describeBound } from './lib/usage.js';

const GROUP_SIZE = 10_000;
const TARGET_RATIO = 1.5;
const WARMUP_SECONDS = 2;

export type GroupPushSettings = ReturnType<typeof readGroupPushSettings>;

export function readGroupPushSettings() {
  return { seconds: integerSetting('BENCH_DURATION', 10, 1, 3600), connections: integerSetting('BENCH_CONNECTIONS', 32, 1, 10_000) };
}

export async function runGroupPush({ seconds, connections }: GroupPushSettings): Promise<PartOutcome> {
  const maxMembers = Math.max(GROUP_SIZE, Number(process.env.MAX_GROUP_MEMBERS) || 0);
  const servers = await startServers({ inProcess: true, settings: { MAX_GROUP_MEMBERS: String(maxMembers) } });
  const runs: Measured[] = [];
  try {
    const owner = await servers.client('owner');
    progress(`creating a group of ${GROUP_SIZE} members through the API`);
    const memberIds = Array.from({ length: GROUP_SIZE - 1 }, (_, i) => `member-${i}`);
    const groupId = (await owner.createGroup({ name: 'bench', memberIds })).id;
    const { memberNum } = await owner.groupInfo(groupId);
    if (memberNum !== GROUP_SIZE) throw new Error(`group ${groupId} has ${memberNum} members, not ${GROUP_SIZE}`);
    const token = await servers.token('owner');
    const phases = [
      { key: 'wp', title: 'warm-up private', channelType: 0, seconds: WARMUP_SECONDS },
      { key: 'wg', title: 'warm-up group', channelType: 1, seconds: WARMUP_SECONDS },
      { key: 'p1', title: 'private 1', channelType: 0, seconds },
      { key: 'g', title: `group (${GROUP_SIZE} members)`, channelType: 1, seconds },
      { key: 'p2', title: 'private 2', channelType: 0, seconds },
    ];
    for (const { key, title, channelType, seconds } of phases) {
      const targetId = channelType === 0 ? 'peer' : String(groupId);
      const body = (n: number) => JSON.stringify({ channelType, msgId: `${key}-${n}`, targetId, msgType: 1, content: { content: 'bench' } });
      const spec = {
        title,
        url: servers.urls[0]!,
        path: '/record/push',
        connections,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        request: (n: number) => ({ body: body(n) }),
      };
      runs.push(await warmAndMeasure(spec, { warmup: 0, seconds, children: [], selfIsServer: true, metricsUrl: servers.urls[0] }));
    }
  } finally {
    await servers.close();
  }
  const [, , private1, group, private2] = runs.map((m) => m.result) as LoadResult[];
  const errors = errorsOf(runs);
  const privateMean = (private1.mean + private2.mean) / 2;
  const ratio = group.mean / privateMean;
  const paths = runs.slice(2).map((m) => `${`${m.result.title}:`.padEnd(23)}${m.batches ? describeWritePath(m.batches, m.result.seconds) : ''}`);
  return {
    valid: errors === 0,
    lines: [
      `setup:    one instance in this process; a group of ${GROUP_SIZE} members created through the API; one sender (the owner);`,
      `          ${connections} connections, ${seconds} s per run after a ${WARMUP_SECONDS} s warm-up of each kind; order private, group, private`,
      '',
      ...formatRuns(runs.map((m) => m.result)),
      '',
      `group / private, mean latency: ${fixed(ratio, 2)} (vs private 1: ${fixed(group.mean / private1.mean, 2)}, vs private 2: ${fixed(group.mean / private2.mean, 2)})`,
      `group / private, throughput:   ${fixed(group.rps / ((private1.rps + private2.rps) / 2), 2)}; drift, private 2 / private 1: ${fixed(private2.rps / private1.rps, 2)}`,
      ...paths,
      `group: ${describeBound(runs[3]!.usage)} (this process serves and runs autocannon)`,
      'note: closed loop, so mean latency ~ connections / throughput; BENCH_CONNECTIONS=1 measures one send without queueing',
    ],
    headlines: [
      {
        figure: `group push: mean latency, ${GROUP_SIZE.toLocaleString('en-US')}-member group / private`,
        measured: `${fixed(ratio, 2)} (${fixed(group.mean, 1)} / ${fixed(privateMean, 1)} ms)`,
        target: `<= ${TARGET_RATIO}`,
        verdict: verdictOf(errors === 0, ratio <= TARGET_RATIO),
        bound: errors > 0 ? `${errors} failed requests` : `${paths[1]!.trim()}; ${describeBound(runs[3]!.usage)}`,
      },
    ],
  };
}

async function main(): Promise<number> {
  const outcome = await runGroupPush(readGroupPushSettings());
  return printReport(environmentLines(`push to a ${GROUP_SIZE}-member group beside a private push`, engineDescription()), ['', ...outcome.lines], [outcome]);
}

if (isMain(import.meta.url)) runMain(main);
