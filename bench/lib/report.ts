/** Settings, progress lines and the printed report shared by the benchmarks. */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SETTINGS } from '../../src/config.js';

/** An integer setting from the environment (BENCH_DURATION, ...); a bad value stops the bench before it starts. */
export function integerSetting(name: string, fallback: number, min: number, max: number): number {
  const text = process.env[name]?.trim();
  if (!text) return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) throw new Error(`${name} must be an integer from ${min} to ${max} (got "${text}")`);
  return value;
}

/** A comma-separated list of integers from the environment (BENCH_FANOUT_GROUPS=500,2000). */
export function integerListSetting(name: string, fallback: number[], min: number, max: number): number[] {
  const text = process.env[name]?.trim();
  if (!text) return fallback;
  const values = text.split(',').map((part) => (/^\d+$/.test(part.trim()) ? Number(part.trim()) : NaN));
  if (!values.every((value) => value >= min && value <= max))
    throw new Error(`${name} must be a comma-separated list of integers from ${min} to ${max} (got "${text}")`);
  return values;
}

/** Progress goes to stderr, so that stdout holds only the report. */
export function progress(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

export const fixed = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');
export const count = (value: number): string => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-');

/** A plain-text table; the first column is left-aligned unless `align` says otherwise, the rest right-aligned. */
export function formatTable(headers: string[], rows: string[][], align: Array<'left' | 'right'> = []): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => ((align[i] ?? (i === 0 ? 'left' : 'right')) === 'left' ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();

/** The commit measured, flagged when src/ or db/ differ from it: such figures cannot be reproduced from it. */
function sourceVersion(): string {
  try {
    const changed = git('status', '--porcelain', '--', 'src', 'db');
    return `${git('log', '-1', '--format=%h %s')}${changed ? ` + uncommitted changes to ${changed.split('\n').length} file(s) in src/ or db/` : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** The settings as one could type them again; passwords in URLs hidden. */
function commandLine(): string {
  const settings = Object.entries(process.env)
    .filter(([name]) => name.startsWith('BENCH_') || (SETTINGS as readonly string[]).includes(name))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${/SECRET|KEY/.test(name) ? '***' : value!.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@')}`);
  return [...settings, `npm run ${process.env.npm_lifecycle_event ?? `(node ${process.argv[1] ?? ''})`}`].join(' ');
}

/** Engine, runtime, machine and source: the context without which a figure means little. */
export function environmentLines(title: string, engine: string): string[] {
  const cpu = cpus();
  return [
    '',
    `chatlog bench: ${title}`,
    `engine:   ${engine}`,
    `node:     ${process.version} on ${process.platform}/${process.arch}`,
    `cpus:     ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown'}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    `source:   ${sourceVersion()}`,
    `command:  ${commandLine()}`,
  ];
}

/** INVALID: the run's figures cannot be trusted (a failed request, a lost message), whatever they say. */
export type Verdict = 'PASS' | 'MISS' | 'INVALID';

/** One row of a final table: a headline figure with its baseline, its target, and what bounded it if it missed. */
export type Headline = { figure: string; measured: string; target: string; verdict: Verdict; bound?: string };

export const verdictOf = (valid: boolean, pass: boolean): Verdict => (!valid ? 'INVALID' : pass ? 'PASS' : 'MISS');

export function formatHeadlines(rows: Headline[]): string {
  return formatTable(
    ['figure', 'measured', 'target', 'verdict', 'what bounds it (where missed)'],
    rows.map((row) => [row.figure, row.measured, row.target, row.verdict, row.verdict === 'PASS' ? '' : (row.bound ?? '')]),
    ['left', 'right', 'right', 'left', 'left'],
  );
}

/** What a part of a bench hands back: its section of the report, its rows of the final table, its validity. */
export type PartOutcome = { lines: string[]; headlines: Headline[]; valid: boolean };

/** Prints a whole report; the exit status is 1 when a figure is invalid (a MISS is reported, not an exit status). */
export function printReport(header: string[], sections: string[], outcomes: PartOutcome[]): number {
  const valid = outcomes.every((o) => o.valid);
  const lines = [...header, ...sections, '', '== summary', '', formatHeadlines(outcomes.flatMap((o) => o.headlines))];
  if (!valid) lines.push('', 'INVALID rows: a request failed, a message was lost, or a part could not run; see its section.');
  process.stdout.write(`${lines.join('\n')}\n`);
  return valid ? 0 : 1;
}

/** True when the module at `moduleUrl` is the script node was started with, not an import. */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && pathToFileURL(resolve(process.argv[1])).href === moduleUrl;
}
