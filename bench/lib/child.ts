/**
 * A server in a process of its own, started as `npm start` starts it (`node --import tsx <script>`), so that its
 * memory and CPU are its own; the probe loaded beside it answers for its CPU, event loop and heap.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProbeSample } from './probe.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PROBE = new URL('./probe.ts', import.meta.url).href;
const START_TIMEOUT_MS = 60_000;

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

/**
 * A server process: its probe's samples, its VmRSS in bytes, a stop (SIGTERM, then SIGKILL after graceMs; the
 * first call decides) that says how it exited, and the end of its output to explain a failure.
 */
export interface Child {
  pid: number;
  url: string;
  sample(gc?: boolean): Promise<ProbeSample>;
  rss(): number;
  stop(graceMs?: number): Promise<Exit>;
  tail(): string;
}

const children = new Set<Child>();

/** An interrupted bench does not wait long for its servers: SIGKILL after 3 s. */
export async function stopChildren(): Promise<void> {
  await Promise.allSettled([...children].map((child) => child.stop(3000)));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `script` (relative to the repository) on a free port with --expose-gc and the probe beside it, and
 * resolves once GET /healthz answers. Its output goes to a file: should the bench die, a server writing to a pipe
 * nobody reads would hang at exit.
 */
export async function spawnChild(script: string, env: Record<string, string | undefined>, nodeArgs: string[] = []): Promise<Child> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'chatlog-bench-log-'));
  const log = join(dir, 'output.log');
  const fd = openSync(log, 'a');
  const proc = spawn(process.execPath, ['--expose-gc', ...nodeArgs, '--import', 'tsx', '--import', PROBE, script], {
    cwd: REPO_ROOT,
    env: { ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', fd, fd, 'ipc'],
  });
  closeSync(fd);
  let tail = '';
  const readTail = () => tail || readFileSync(log, 'utf8').trimEnd().split('\n').slice(-30).join('\n');
  const exited = new Promise<Exit>((resolve) =>
    proc.once('exit', (code, signal) => {
      tail = readTail();
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal });
    }),
  );
  const waiting = new Map<number, (sample: ProbeSample) => void>();
  proc.on('message', (sample: ProbeSample) => waiting.get(sample.id)?.(sample));
  let requests = 0;
  let stopping: Promise<Exit> | undefined;
  const child: Child = {
    pid: proc.pid!,
    url,
    sample: (gc = false) =>
      new Promise((resolve) => {
        const id = ++requests;
        waiting.set(id, (sample) => (waiting.delete(id), resolve(sample)));
        proc.send({ id, gc });
      }),
    rss: () => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))![1]) * 1024,
    stop(graceMs = 15_000) {
      stopping ??= (async () => {
        proc.kill('SIGTERM');
        const kill = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        const exit = await exited;
        clearTimeout(kill);
        children.delete(child);
        return exit;
      })();
      return stopping;
    },
    tail: readTail,
  };
  children.add(child);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const healthy = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (healthy) return child;
    if (proc.exitCode !== null || Date.now() > deadline) {
      await child.stop(0);
      throw new Error(`${script} on ${url} did not come up:\n${readTail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
