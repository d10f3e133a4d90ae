/**
 * Part 3 of `npm run bench`: reads at a million messages. BENCH_MESSAGES messages across BENCH_USERS users (500
 * groups of 40, a quarter of the messages in groups), seeded before the server starts (lib/seed.ts); then
 * sync-record {count: 1000, start: a random early position} of random users and pri-chat-record {targetId,
 * count: 100} of random conversations, one request at a time. Targets: sync p50 <= 20 ms, history p50 <= 5 ms.
 */
import { cpuProfile } from './lib/profile.js';
import { formatRuns, recordPagesCheck } from './lib/load.js';
import { errorsOf, warmAndMeasure, type Measured } from './lib/measure.js';
import { count, fixed, progress, verdictOf, type PartOutcome } from './lib/report.js';
import { generator, seedDataset, type Dataset } from './lib/seed.js';
import { startServers } from './lib/servers.js';
import { describeLatencyBound, usageLine } from './lib/usage.js';

export type ReadSettings = { seconds: number; warmup: number; messages: number; users: number };

const TARGET_SYNC_P50_MS = 20;
const TARGET_HISTORY_P50_MS = 5;
const SYNC_COUNT = 1000;
const HISTORY_COUNT = 100;
/** A sync starts at a random position in this first share of the ids. */
const EARLY_SHARE = 0.1;
const PICKS = 100_000;

export async function readsPart(settings: ReadSettings): Promise<PartOutcome> {
  const spec = { messages: settings.messages, users: settings.users, groups: 500, groupSize: 40, groupShare: 0.25, seed: 20261126 };
  progress(`reads: seeding ${count(spec.messages)} messages across ${count(spec.users)} users into a fresh database`);
  let data: Dataset | undefined;
  const profile = cpuProfile('reads');
  const servers = await startServers({ nodeArgs: profile.nodeArgs, prepare: async (database) => void (data = await seedDataset(database, spec)) });
  const { users, conversations, lastId, description } = data!;
  const early = Math.floor(lastId * EARLY_SHARE);
  let sync: Measured, history: Measured;
  const syncPages = { pages: 0, records: 0 };
  const historyPages = { pages: 0, records: 0 };
  try {
    const tokens = new Map<string, string>();
    for (let i = 0; i < users.length; i += 1000) await Promise.all(users.slice(i, i + 1000).map(async (uid) => tokens.set(uid, await servers.token(uid))));
    // The seeded bytes must read back as the text a client encoded.
    const [a, b] = conversations[0]!;
    const page = await (await servers.client(a)).history({ targetId: b, count: 1 });
    if (page.records[0]?.content === null || !String((page.records[0]?.content as { content?: string }).content).startsWith('message '))
      throw new Error(`a seeded message reads back wrong: ${JSON.stringify(page.records[0])}`);

    const random = generator(7);
    const syncPicks = Array.from({ length: PICKS }, () => ({ uid: users[Math.floor(random() * users.length)]!, start: Math.floor(random() * early) }));
    const historyPicks = Array.from({ length: PICKS }, () => {
      const pair = conversations[Math.floor(random() * conversations.length)]!;
      return random() < 0.5 ? pair : ([pair[1], pair[0]] as const);
    });
    const common = { url: servers.urls[0]!, connections: 1, headers: { 'content-type': 'application/json' } };
    const options = { ...settings, children: servers.children };
    const auth = (uid: string) => ({ authorization: `Bearer ${tokens.get(uid)}` });
    sync = await warmAndMeasure(
      {
        ...common,
        title: `sync-record ${SYNC_COUNT}`,
        path: '/app/record/sync-record',
        request: (n) => ({ headers: auth(syncPicks[n % PICKS]!.uid), body: JSON.stringify({ count: SYNC_COUNT, start: syncPicks[n % PICKS]!.start }) }),
        check: recordPagesCheck(syncPages),
      },
      options,
    );
    history = await warmAndMeasure(
      {
        ...common,
        title: `pri-chat-record ${HISTORY_COUNT}`,
        path: '/app/record/pri-chat-record',
        request: (n) => ({ headers: auth(historyPicks[n % PICKS]![0]), body: JSON.stringify({ targetId: historyPicks[n % PICKS]![1], count: HISTORY_COUNT }) }),
        check: recordPagesCheck(historyPages),
      },
      options,
    );
  } finally {
    await servers.close();
  }
  const valid = errorsOf([sync, history]) === 0;
  const perPage = (p: typeof syncPages) => fixed(p.records / p.pages, 0);
  const headline = (label: string, m: Measured, pages: typeof syncPages, target: number, digits: number) => ({
    figure: `reads: ${label}, p50 (p99; records/page)`,
    measured: `${fixed(m.result.p50, digits)} ms (${fixed(m.result.p99, 1)}; ${perPage(pages)})`,
    target: `p50 <= ${target} ms`,
    verdict: verdictOf(valid, m.result.p50 <= target),
    bound: describeLatencyBound(m.usage, m.result.rps),
  });
  return {
    valid,
    lines: [
      `data:     ${description}`,
      `load:     one request at a time; sync-record {count: ${SYNC_COUNT}, start: random in [0, ${count(early)})} of random users;`,
      `          pri-chat-record {targetId, count: ${HISTORY_COUNT}} of random conversations`,
      '',
      ...formatRuns([sync.result, history.result]),
      '',
      `during sync-record:      ${usageLine(sync.usage)}`,
      `during pri-chat-record:  ${usageLine(history.usage)}`,
      `records per page: sync ${perPage(syncPages)}, history ${perPage(historyPages)}`,
      ...profile.lines(),
    ],
    headlines: [
      headline(`sync-record ${SYNC_COUNT} at ${count(settings.messages)} messages`, sync, syncPages, TARGET_SYNC_P50_MS, 1),
      headline(`pri-chat-record ${HISTORY_COUNT}`, history, historyPages, TARGET_HISTORY_P50_MS, 2),
    ],
  };
}
