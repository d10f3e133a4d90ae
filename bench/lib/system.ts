/** What the operating system says about the machine and processes: CPU time, open-file limits (Linux /proc). */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface CpuTimes {
  busy: number;
  total: number;
}

/** The machine's CPU time so far from /proc/stat, in clock ticks; undefined where there is no /proc. */
export function machineCpu(): CpuTimes | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already counted in user).
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    const busy = user + nice + system + irq + softirq + steal;
    return { busy, total: busy + idle + iowait };
  } catch {
    return undefined;
  }
}

/** The share of the machine's CPUs busy between two readings, 0..1. */
export function busyShare(before: CpuTimes | undefined, after: CpuTimes | undefined): number {
  if (!before || !after || after.total === before.total) return NaN;
  return (after.busy - before.busy) / (after.total - before.total);
}

/** The soft and hard limits of open files of a process, from /proc/<pid>/limits. */
export function openFileLimit(pid: number | 'self' = 'self'): { soft: number; hard: number } {
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const match = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(limits);
  const value = (text: string | undefined) => (text === undefined || text === 'unlimited' ? Infinity : Number(text));
  return { soft: value(match?.[1]), hard: value(match?.[2]) };
}

/**
 * Raises a process's open-file limit towards `wanted` with prlimit(1): both limits if allowed, else the soft
 * one up to the hard one. Returns the soft limit in force afterwards.
 */
export function raiseOpenFileLimit(pid: number, wanted: number): number {
  const prlimit = (value: string) => {
    try {
      execFileSync('prlimit', ['--pid', String(pid), `--nofile=${value}`], { stdio: 'ignore' });
    } catch {
      // Not permitted, or no prlimit: the limit stays as it is.
    }
  };
  let { soft, hard } = openFileLimit(pid);
  if (soft >= wanted) return soft;
  if (hard < wanted) prlimit(`${wanted}:${wanted}`);
  ({ soft, hard } = openFileLimit(pid));
  if (soft < wanted) prlimit(`${Math.min(wanted, hard)}:`);
  return openFileLimit(pid).soft;
}

export interface ProcessCpu {
  pid: number;
  /** The command line, arguments joined by spaces (a PostgreSQL backend's shows its database). */
  command: string;
  /** User + system CPU time so far, seconds. */
  cpuSeconds: number;
}

/** Clock ticks per second of /proc/<pid>/stat; 100 on every Linux in practice. */
let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Every process's CPU time so far, from /proc; empty where there is no /proc. */
export function processTable(): ProcessCpu[] {
  const table: ProcessCpu[] = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return table;
  }
  const hz = ticksPerSecond();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The fields after the command name, which is in parentheses and may hold spaces.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
      table.push({ pid: Number(pid), command, cpuSeconds: ticks / hz });
    } catch {
      // The process ended meanwhile.
    }
  }
  return table;
}

/**
 * CPU cores used by groups of processes between two tables, over `ms` of wall time: each process goes to the
 * first group whose test accepts it, or to "other processes". A process that started meanwhile counts whole;
 * one that ended meanwhile is lost (its time is not in /proc any more).
 */
export function cpuByGroup(before: ProcessCpu[], after: ProcessCpu[], ms: number, groups: Array<[string, (p: ProcessCpu) => boolean]>, exclude: (p: ProcessCpu) => boolean = () => false): Array<[string, number]> {
  const start = new Map(before.map((p) => [p.pid, p.cpuSeconds]));
  const sums = new Map<string, number>([...groups.map(([label]) => [label, 0] as [string, number]), ['other processes', 0]]);
  for (const p of after) {
    if (exclude(p)) continue;
    const seconds = p.cpuSeconds - (start.get(p.pid) ?? 0);
    const label = groups.find(([, test]) => test(p))?.[0] ?? 'other processes';
    sums.set(label, sums.get(label)! + seconds);
  }
  return [...sums.entries()].map(([label, seconds]) => [label, (seconds * 1000) / ms]);
}
