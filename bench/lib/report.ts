/** Settings, progress lines and the printed report shared by the benchmarks. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { LoadResult } from './load.js';

/** An integer setting from the environment (BENCH_DURATION, BENCH_CONNECTIONS, ...); a bad value stops the bench. */
export function integerSetting(name: string, fallback: number, min: number, max: number): number {
  const text = process.env[name]?.trim();
  if (text === undefined || text === '') return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max} (got "${text}")`);
  }
  return value;
}

/** A progress line on stderr, so that stdout holds only the report. */
export function progress(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

/** A URL with its password hidden. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** The settings chatlog reads: every quoted NAME in src/config.ts, so the list follows the code. */
function chatlogSettingNames(): Set<string> {
  try {
    const source = readFileSync(fileURLToPath(new URL('../../src/config.ts', import.meta.url)), 'utf8');
    return new Set([...source.matchAll(/'([A-Z][A-Z0-9_]+)'/g)].map((match) => match[1]!));
  } catch {
    return new Set(['DATABASE_URL', 'MAX_GROUP_MEMBERS']);
  }
}

function shownValue(name: string, value: string): string {
  if (/SECRET|KEY|PASSWORD|TOKEN/.test(name)) return '***';
  return /^[a-z]+:\/\//.test(value) ? redactUrl(value) : value;
}

/**
 * How the bench was started, as one could type it again: the BENCH_* and chatlog settings set in the
 * environment (secrets hidden), node, its flags, the script and its arguments.
 */
export function commandLine(): string {
  const names = chatlogSettingNames();
  const settings = Object.entries(process.env)
    .filter(([name, value]) => value !== undefined && (name.startsWith('BENCH_') || names.has(name)))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${shownValue(name, value!)}`);
  const script = process.argv[1] === undefined ? [] : [relative(process.cwd(), process.argv[1])];
  const line = [...settings, 'node', ...process.execArgv, ...script, ...process.argv.slice(2)].join(' ');
  const npmScript = process.env.npm_lifecycle_event;
  return npmScript === undefined ? line : `${line}   (npm run ${npmScript})`;
}

/** The commit measured, and whether src/ or db/ differ from it (figures of uncommitted code are not reproducible). */
export function sourceVersion(): string {
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const commit = git('log', '-1', '--format=%h %s');
    const changed = git('status', '--porcelain', '--', 'src', 'db');
    const count = changed === '' ? 0 : changed.split('\n').length;
    return count === 0 ? commit : `${commit} + uncommitted changes to ${count} file(s) in src/ or db/`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** Engine, runtime and machine: the context without which a figure means little. */
export function environmentLines(engine: string, location: string): string[] {
  const cpuList = cpus();
  return [
    `engine:   ${engine} (${location})`,
    `node:     ${process.version} on ${process.platform}/${process.arch}`,
    `cpus:     ${cpuList.length} x ${cpuList[0]?.model.trim() ?? 'unknown'}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    `source:   ${sourceVersion()}`,
    `command:  ${commandLine()}`,
  ];
}

export type Align = 'left' | 'right';

/** A plain-text table with a header rule; columns are padded to their widest cell. */
export function formatTable(headers: string[], rows: string[][], align: Align[] = []): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => ((align[i] ?? (i === 0 ? 'left' : 'right')) === 'left' ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

/** The standard table of load runs: throughput, latency, errors, and how busy this process was. */
export function formatRuns(results: LoadResult[]): string {
  return formatTable(
    ['run', 'responses', 'req/s', 'mean ms', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'cpu cores', 'event loop'],
    results.map((r) => [
      r.title,
      String(r.responses),
      fixed(r.rps, 0),
      fixed(r.mean, 2),
      fixed(r.p50, 2),
      fixed(r.p99, 2),
      fixed(r.max, 1),
      String(r.errors),
      fixed(r.cpuCores, 2),
      `${fixed(r.eventLoop * 100, 0)}%`,
    ]),
  );
}

/**
 * What bounded the runs, when it was not the server's work as such: the server and autocannon share this
 * process's main thread, so a saturated event loop bounds both; event-loop time the CPU did not account for was
 * spent waiting in synchronous calls (better-sqlite3 runs each statement, and the fsync of each commit, on the
 * event loop).
 */
export function bottleneckNotes(results: LoadResult[]): string[] {
  const saturated = results.filter((r) => r.eventLoop >= 0.95);
  if (saturated.length === 0) return [];
  const notes = [
    `note: the main thread was >= 95% busy in ${saturated.map((r) => r.title).join(', ')}; it serves the requests and runs autocannon,`,
    '      so those figures are bounded by that one thread (server work + load generator), not by the database alone',
  ];
  const waiting = saturated.filter((r) => r.cpuCores < r.eventLoop - 0.15);
  if (waiting.length > 0) {
    notes.push(
      `note: in ${waiting.map((r) => `${r.title} (${((r.eventLoop - r.cpuCores) * 100).toFixed(0)}%)`).join(', ')} the busy main thread was off the CPU:`,
      '      blocked in synchronous calls (with SQLite: the driver\'s disk waits, e.g. the fsync of each commit)',
    );
  }
  return notes;
}

/** The one-line summary of a run, for progress output. */
export function summarise(r: LoadResult): string {
  return `${r.title}: ${r.responses} responses in ${r.seconds.toFixed(1)} s, ${r.rps.toFixed(0)} req/s, mean ${r.mean.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${r.errors} errors`;
}

/** Every kind of error of the runs that had any, so that none goes unseen. */
export function formatFailures(results: LoadResult[]): string[] {
  return results.flatMap((r) => r.failures.map(([label, count]) => `  ${r.title}: ${count} x ${label}`));
}

/** True when the module at `moduleUrl` (import.meta.url) is the script node was started with, not an import. */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  return script !== undefined && pathToFileURL(resolve(script)).href === moduleUrl;
}

/** PASS / MISS against a target; INVALID when the run's figures cannot be trusted (failed requests, lost events). */
export type Verdict = 'PASS' | 'MISS' | 'INVALID' | 'n/a';

/** One row of a final table: a headline figure, its target, and what bounded it when it missed. */
export interface Headline {
  figure: string;
  measured: string;
  target: string;
  verdict: Verdict;
  /** What bounds the figure: shown when the verdict is not PASS. */
  bound?: string;
}

export const verdictOf = (valid: boolean, pass: boolean): Verdict => (!valid ? 'INVALID' : pass ? 'PASS' : 'MISS');

/** The final table: figure, measured, target, verdict, and what bounds it where it missed. */
export function formatHeadlines(rows: Headline[]): string {
  return formatTable(
    ['figure', 'measured', 'target', 'verdict', 'what bounds it (where missed)'],
    rows.map((row) => [row.figure, row.measured, row.target, row.verdict, row.verdict === 'PASS' ? '' : (row.bound ?? '')]),
    ['left', 'right', 'right', 'left', 'left'],
  );
}

/** Runs a benchmark's main and sets the exit status: its return value, or 1 with the error on stderr. */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
