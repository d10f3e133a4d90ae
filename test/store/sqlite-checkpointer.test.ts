import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import knex, { type Knex } from 'knex';
import { startCheckpointer } from '../../src/store/sqlite-checkpointer.js';
import { temporaryDir } from '../helpers/temp-dirs.js';

describe('SQLite WAL checkpoints', () => {
  let dir: string;
  let filename: string;
  let writer: Knex;
  beforeEach(async () => {
    dir = temporaryDir('checkpoint');
    filename = join(dir, 'chatlog.db');
    writer = knex({ client: 'better-sqlite3', connection: { filename }, useNullAsDefault: true });
    await writer.raw('pragma journal_mode = WAL');
    // The writer never checkpoints: whatever reaches the database file was copied there by the worker.
    await writer.raw('pragma wal_autocheckpoint = 0');
    await writer.raw('create table t (n integer primary key, body text)');
  });
  afterEach(() => writer.destroy());

  /** The database file's size: what has been checkpointed into it, the WAL left out. */
  const databaseBytes = () => statSync(filename).size;

  it('copies committed pages from the WAL into the database file while the writer only writes', async () => {
    await writer.batchInsert(
      't',
      Array.from({ length: 2_000 }, () => ({ body: 'x'.repeat(200) })),
      500,
    );
    const before = databaseBytes();
    const checkpointer = startCheckpointer(filename, (message) => assert.fail(message));
    try {
      for (let tries = 0; tries < 100 && databaseBytes() <= before + 400_000; tries++) await sleep(20);
      assert.ok(databaseBytes() > before + 400_000, `the database file holds ${databaseBytes()} bytes, ${before} before`);
    } finally {
      await checkpointer.close();
    }
    assert.deepEqual(await writer('t').count({ n: '*' }), [{ n: 2_000 }]);
  });

  it('reports a database it cannot open, once, and still closes', async () => {
    const problems: string[] = [];
    const checkpointer = startCheckpointer(join(dir, 'missing.db'), (message) => problems.push(message));
    for (let tries = 0; tries < 100 && problems.length === 0; tries++) await sleep(20);
    await checkpointer.close();
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /missing\.db|unable to open/i);
  });
});
