/**
 * A chatlog instance in a process of its own, started exactly as `npm start` does (`node --import tsx src/main.ts`)
 * with the settings in its environment, so that its memory and CPU are its own and not the bench's. The probe
 * (probe.ts) is loaded beside it to answer the bench's questions about the process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProbeRequest, ProbeSample } from './probe.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PROBE = new URL('./probe.ts', import.meta.url).href;
/** How long a start (migrations included) may take before the bench gives up. */
const START_TIMEOUT_MS = 60_000;
/** How long a SIGTERM'd server may take to close its sockets and database before it is killed. */
const STOP_TIMEOUT_MS = 15_000;
/** Lines of the child's output kept to explain a failure. */
const TAIL_LINES = 40;

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildChatlog {
  pid: number;
  /** Base URL, http://127.0.0.1:<port>. */
  url: string;
  /** Memory, CPU and event-loop figures of the process, read inside it; `gc` collects garbage first. */
  sample(gc?: boolean): Promise<ProbeSample>;
  /** Resident set size from /proc/<pid>/status (VmRSS), bytes. */
  rss(): number;
  /** The last lines of the child's stdout and stderr, for error messages. */
  tail(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ChildExit>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 15 s); resolves with how it exited. Idempotent: the first call decides. */
  stop(graceMs?: number): Promise<ChildExit>;
}

export interface ChildOptions {
  /** The child's whole environment. */
  env: Record<string, string | undefined>;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/prof']. */
  nodeArgs?: string[];
  /**
   * The script to run, relative to the repository (default `src/main.ts`). It must serve GET /healthz on PORT and
   * HOST, and exit 0 on SIGTERM, as chatlog does.
   */
  script?: string;
}

/** The last TAIL_LINES lines of a file (from its last 64 KB), or '' when it is gone. */
function lastLines(file: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const buffer = Buffer.alloc(Math.min(size, 64 * 1024));
    readSync(fd, buffer, 0, buffer.length, size - buffer.length);
    return buffer.toString('utf8').trimEnd().split('\n').slice(-TAIL_LINES).join('\n');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Reads VmRSS of a process from /proc, in bytes. */
export function processRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** A port free on 127.0.0.1 right now (the kernel picks it); the child binds it a moment later. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True once GET /healthz answers 200. */
async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/**
 * Starts `src/main.ts` (or options.script) in a new process on a free port of 127.0.0.1 (PORT and HOST are set
 * here, whatever `env` says) and resolves once GET /healthz answers, so that any LOG_LEVEL will do; rejects (and
 * kills it) if it does not come up.
 */
export async function spawnChatlog(options: ChildOptions): Promise<ChildChatlog> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // The server's output goes to a file, not a pipe: should the bench die, a server writing to a pipe nobody reads
  // any more would hang at exit (pino's final synchronous flush retries a failed write for ever).
  const logDir = mkdtempSync(join(tmpdir(), 'chatlog-bench-log-'));
  const logFile = join(logDir, 'output.log');
  const logFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['--expose-gc', ...(options.nodeArgs ?? []), '--import', 'tsx', '--import', PROBE, options.script ?? 'src/main.ts'], {
      cwd: REPO_ROOT,
      env: { ...options.env, HOST: '127.0.0.1', PORT: String(port), CHATLOG_BENCH_LOG_DIR: logDir },
      stdio: ['ignore', logFd, logFd, 'ipc'],
    });
  } finally {
    closeSync(logFd);
  }
  /** The last lines the server wrote; read from the file until the process has ended, then kept. */
  let finalTail: string | undefined;
  const tail = () => finalTail ?? lastLines(logFile);
  let exit: ChildExit | undefined;
  const exited = new Promise<ChildExit>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      finalTail = lastLines(logFile);
      rmSync(logDir, { recursive: true, force: true });
      resolve(exit);
    }),
  );
  let requests = 0;
  const waiting = new Map<number, (sample: ProbeSample) => void>();
  child.on('message', (message: ProbeSample) => {
    if (message?.type === 'sample') waiting.get(message.id)?.(message);
  });
  // Errors after the exit (a message to a dead child) are answered by `exited`.
  let spawnError = '';
  child.on('error', (err) => (spawnError = `spawn error: ${err.message}\n`));

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await healthy(url))) {
    const why = exit !== undefined ? `exited before serving (code ${exit.code}, signal ${exit.signal})` : Date.now() > deadline ? `did not serve within ${START_TIMEOUT_MS / 1000} s` : undefined;
    if (why !== undefined) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`chatlog (pid ${child.pid}) on ${url} ${why}:\n${spawnError}${tail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  let stopping: Promise<ChildExit> | undefined;
  return {
    pid: child.pid!,
    url,
    exited,
    tail,
    rss: () => processRss(child.pid!),
    sample(gc = false) {
      const id = ++requests;
      return new Promise<ProbeSample>((done, failed) => {
        const give = setTimeout(() => failed(new Error(`chatlog (pid ${child.pid}) did not answer the probe`)), 30_000);
        waiting.set(id, (sample) => {
          clearTimeout(give);
          waiting.delete(id);
          done(sample);
        });
        const request: ProbeRequest = { type: 'sample', id, gc };
        child.send(request);
      });
    },
    stop(graceMs = STOP_TIMEOUT_MS) {
      stopping ??= (async () => {
        if (exit === undefined) child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const result = await exited;
        clearTimeout(kill);
        return result;
      })();
      return stopping;
    },
  };
}
