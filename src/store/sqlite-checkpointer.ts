import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * SQLite's WAL is copied back into the database file by checkpoints, which by default the committing connection
 * runs itself, on the event loop, whenever the WAL passes 1,000 pages: under load dozens of times a second, each
 * writing the changed pages and syncing the file while every request waits. This moves them to a worker thread
 * with a connection of its own, which checkpoints passively (never blocking the writer or a reader) 20 times a
 * second. The WAL starts over only when a checkpoint has copied all of it before the next commit, which under
 * steady load is rare, so the writer keeps its own automatic checkpoint at BACKSTOP_CHECKPOINT_PAGES (64 MiB):
 * by then the worker has copied nearly every page, and the writer's checkpoint finds little left to do.
 */
export const BACKSTOP_CHECKPOINT_PAGES = 16_384;

/** The same in bytes, at SQLite's default page size of 4 KiB, which chatlog keeps. */
export const BACKSTOP_WAL_BYTES = BACKSTOP_CHECKPOINT_PAGES * 4096;

/** How often the worker checkpoints; one with nothing to copy costs a look at the WAL's index. */
const CHECKPOINT_INTERVAL_MS = 50;

// CommonJS, run with `eval`, so that it needs no loader for TypeScript and is the same when built. A run of
// failures is told once, when it starts.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
// Errors are posted as text: better-sqlite3's lose their message when cloned to the main thread.
const describe = (err) => (err && err.message) || String(err);
let db;
try {
  db = new Database(workerData.filename, { fileMustExist: true });
} catch (err) {
  parentPort.postMessage('cannot open ' + workerData.filename + ': ' + describe(err));
}
let failing = false;
const timer = db && setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    failing = false;
  } catch (err) {
    if (!failing) parentPort.postMessage(describe(err));
    failing = true;
  }
}, workerData.intervalMs);
parentPort.once('message', () => {
  clearInterval(timer);
  if (db) db.close();
  parentPort.close();
});
`;

export interface Checkpointer {
  close(): Promise<void>;
}

export function startCheckpointer(filename: string, onError: (message: string) => void): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { filename, driver, intervalMs: CHECKPOINT_INTERVAL_MS } });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('message', (message: string) => onError(message));
  worker.on('error', (err) => onError(String(err)));
  // A server with nothing else to do may exit; close() still waits for the worker's connection to close.
  worker.unref();
  return {
    close: async () => {
      // Held until it has closed its connection, even by a process with nothing else left to wait for.
      worker.ref();
      worker.postMessage('close');
      await exited;
    },
  };
}
