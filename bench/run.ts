/**
 * `npm run bench`: every benchmark of chatlog in one run, each over fresh databases of the engine DATABASE_URL and
 * REDIS_URL select (PostgreSQL, with Redis when REDIS_URL is set; else SQLite), and one final table of the
 * headline figures against their targets.
 *
 * 1. push      push throughput beside the bare Koa + busboy ceiling (push.ts)
 * 2. commit    one message per transaction beside group commit (push.ts)
 * 3. reads     sync and history latency at a million messages (reads.ts)
 * 4. group     a send to a 10,000-member group beside a private send (group-push.ts)
 * 5. realtime  end-to-end latency across two instances, memory per idle socket (realtime.ts)
 * 6. fanout    realtime fan-out to a group of 500 and of 2,000 and private, live beside database mode (fanout.ts)
 * 7. conversations  the conversation list of a user with 10,000 conversations at a million messages, and mark-read
 *                (conversations.ts)
 *
 * The servers of parts 1, 2, 3, 5, 6 and 7 run each in a process of its own, so that the load generator does not share
 * their event loop; the CPU of each process is read over every measured window, and a miss names its bound.
 *
 *   npm run bench
 *   DATABASE_URL=postgres://root@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 npm run bench
 *   BENCH_ONLY=push,commit BENCH_CPU_PROF=prof npm run bench     # --cpu-prof of the servers, summarised
 *
 * Settings: BENCH_ONLY (push,commit,reads,group,realtime,fanout,conversations: all), BENCH_DURATION (s per measured
 * run, 10), BENCH_WARMUP (s before each measured run, 5), BENCH_CONNECTIONS (32, parts 1, 2 and 4), BENCH_MESSAGES
 * (1,000,000) and BENCH_USERS (10,000) for parts 3 and 7, BENCH_CONVERSATIONS (10,000) and BENCH_EXPLAIN for part 7,
 * BENCH_CPU_PROF (a directory for the servers' CPU profiles),
 * BENCH_LOG_LEVEL (the servers'; warn), and those of realtime.ts and fanout.ts, whose BENCH_USERS is
 * BENCH_REALTIME_USERS here.
 *
 * Exit status 1 when a part could not run or its figures are invalid (a failed request, a lost message); a MISS
 * of a target is reported, not an exit status.
 */
import 'dotenv/config';
import { conversationsPart, readConversationSettings } from './conversations.js';
import { readFanoutSettings, runFanout } from './fanout.js';
import { readGroupPushSettings, runGroupPush } from './group-push.js';
import { commitPart, pushPart } from './push.js';
import { readsPart } from './reads.js';
import { readRealtimeSettings, runRealtime } from './realtime.js';
import { environmentLines, integerSetting, printReport, progress, type PartOutcome } from './lib/report.js';
import { engineDescription, runMain } from './lib/servers.js';

const PARTS = {
  push: '1. push throughput, multipart, against the bare Koa + busboy ceiling',
  commit: '2. push with one message per transaction beside group commit',
  reads: '3. read latency at a million messages',
  group: '4. push to a 10,000-member group beside a private push (bench:group)',
  realtime: '5. realtime: end-to-end latency across instances, memory per idle socket (bench:realtime)',
  fanout: '6. realtime fan-out: groups and private, live delivery beside database mode (bench:fanout)',
  conversations: '7. conversation list at 10,000 conversations and a million messages, and mark-read (bench:conversations)',
};
type Part = keyof typeof PARTS;

async function main(): Promise<number> {
  const only = (process.env.BENCH_ONLY?.trim() || Object.keys(PARTS).join(',')).split(',').map((name) => name.trim());
  if (only.some((name) => !(name in PARTS))) throw new Error(`BENCH_ONLY must list some of ${Object.keys(PARTS).join(',')} (got "${only.join(',')}")`);
  const common = { seconds: integerSetting('BENCH_DURATION', 10, 1, 3600), warmup: integerSetting('BENCH_WARMUP', 5, 0, 600) };
  const run: Record<Part, () => Promise<PartOutcome>> = {
    push: () => pushPart({ ...common, connections: readGroupPushSettings().connections }),
    commit: () => commitPart({ ...common, connections: readGroupPushSettings().connections }),
    reads: () =>
      readsPart({
        ...common,
        messages: integerSetting('BENCH_MESSAGES', 1_000_000, 1000, 100_000_000),
        users: integerSetting('BENCH_USERS', 10_000, 100, 10_000_000),
      }),
    group: () => runGroupPush(readGroupPushSettings()),
    realtime: () => runRealtime(readRealtimeSettings('BENCH_REALTIME_USERS')),
    fanout: () => runFanout(readFanoutSettings('BENCH_REALTIME_USERS')),
    conversations: () => conversationsPart(readConversationSettings()),
  };
  const started = Date.now();
  const sections: string[] = [];
  const outcomes: PartOutcome[] = [];
  for (const part of Object.keys(PARTS) as Part[]) {
    if (!only.includes(part)) continue;
    progress(`== ${PARTS[part]}`);
    const outcome = await run[part]().catch((err: unknown): PartOutcome => {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      progress(`${part} failed: ${message}`);
      return {
        lines: [`FAILED: ${message}`],
        headlines: [{ figure: `${part}: could not run`, measured: '-', target: '-', verdict: 'INVALID', bound: message.split('\n')[0] }],
        valid: false,
      };
    });
    outcomes.push(outcome);
    sections.push('', `== ${PARTS[part]}`, '', ...outcome.lines);
  }
  const header = [...environmentLines(only.join(', '), engineDescription()), `duration: ${((Date.now() - started) / 1000).toFixed(0)} s`];
  return printReport(header, sections, outcomes);
}

runMain(main);
