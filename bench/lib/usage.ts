/**
 * Who used the CPUs during a measured window: each server process (CPU and event loop, from its probe), this
 * bench process, PostgreSQL and Redis (from /proc), and the machine; and from that, a sentence naming what bounded
 * a figure that missed its target.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ProbeSample } from './probe.js';
import { fixed } from './report.js';
import type { Child } from './child.js';

type CpuElu = Pick<ProbeSample, 'cpu' | 'elu'>;

/** A reading at one moment; the server processes answer asynchronously. */
export interface Mark {
  at: number;
  machine: { busy: number; total: number };
  /** CPU seconds so far of the PostgreSQL and Redis processes, by pid. */
  services: Map<number, { name: string; seconds: number }>;
  self: CpuElu;
  children: Promise<ProbeSample[]>;
}

/** A process or a group of them: the cores it kept busy, and the share of time its event loop was (NaN: unknown). */
export type Load = { label: string; role: 'server' | 'bench' | 'service' | 'other'; cores: number; eventLoop: number };
export type Usage = { loads: Load[]; machineBusy: number; machineCores: number };

/** /proc/stat: user nice system idle iowait irq softirq steal, in ticks. */
function machineTicks(): Mark['machine'] {
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

function services(): Mark['services'] {
  const found: Mark['services'] = new Map();
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const name = comm === 'postgres' ? 'PostgreSQL' : comm.startsWith('redis-server') ? 'Redis' : undefined;
      if (name === undefined) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime + stime, in USER_HZ ticks: 100 a second on Linux.
      found.set(Number(pid), { name, seconds: (Number(fields[11]) + Number(fields[12])) / 100 });
    } catch {
      // The process ended meanwhile.
    }
  }
  return found;
}

export function mark(children: Child[]): Mark {
  const { active, idle } = performance.eventLoopUtilization();
  return {
    at: performance.now(),
    machine: machineTicks(),
    services: services(),
    self: { cpu: process.cpuUsage(), elu: { active, idle } },
    children: Promise.all(children.map((child) => child.sample())),
  };
}

function loadOf(label: string, role: Load['role'], a: CpuElu, b: CpuElu, ms: number): Load {
  const active = b.elu.active - a.elu.active;
  const cpu = (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1000;
  return { label, role, cores: cpu / ms, eventLoop: active / (active + b.elu.idle - a.elu.idle) };
}

/** The loads between two marks; `selfIsServer` when the servers run in this process. */
export async function usageBetween(start: Mark, end: Mark, selfIsServer = false): Promise<Usage> {
  const ms = end.at - start.at;
  const [before, after] = await Promise.all([start.children, end.children]);
  const loads = after.map((sample, i) => loadOf(after.length > 1 ? `instance ${i + 1}` : 'server', 'server', before[i]!, sample, ms));
  loads.push(loadOf(selfIsServer ? 'server + load generator' : 'load generator', selfIsServer ? 'server' : 'bench', start.self, end.self, ms));
  const byService = new Map<string, number>();
  for (const [pid, { name, seconds }] of end.services) byService.set(name, (byService.get(name) ?? 0) + seconds - (start.services.get(pid)?.seconds ?? 0));
  for (const [name, seconds] of byService) loads.push({ label: name, role: 'service', cores: (seconds * 1000) / ms, eventLoop: NaN });
  const machineCores = cpus().length;
  const machineBusy = (end.machine.busy - start.machine.busy) / (end.machine.total - start.machine.total);
  const accounted = loads.reduce((sum, l) => sum + l.cores, 0);
  loads.push({ label: 'other', role: 'other', cores: Math.max(0, machineBusy * machineCores - accounted), eventLoop: NaN });
  return { loads, machineBusy, machineCores };
}

export async function measureUsage<T>(children: Child[], during: () => Promise<T>, selfIsServer = false): Promise<{ value: T; usage: Usage }> {
  const start = mark(children);
  const value = await during();
  return { value, usage: await usageBetween(start, mark(children), selfIsServer) };
}

const machine = (u: Usage) => `machine ${fixed(u.machineBusy * 100, 0)}% of ${u.machineCores} cpus`;

/** "cpu cores: server 0.95 (event loop 99%), load generator 0.12, PostgreSQL 0.40, other 0.05; machine 78% of 2 cpus" */
export function usageLine(u: Usage): string {
  const loads = u.loads.map((l) => `${l.label} ${fixed(l.cores, 2)}${Number.isNaN(l.eventLoop) ? '' : ` (event loop ${fixed(l.eventLoop * 100, 0)}%)`}`);
  return `cpu cores: ${loads.join(', ')}; ${machine(u)}`;
}

/**
 * What bounded a figure: a saturated server event loop (one JS thread does a server's work), else all CPUs busy,
 * else neither (waiting: round trips, commits), with the biggest CPU users.
 */
export function describeBound(u: Usage): string {
  const top = [...u.loads]
    .sort((a, b) => b.cores - a.cores)
    .filter((l) => l.cores >= 0.05)
    .slice(0, 4)
    .map((l) => `${l.label} ${fixed(l.cores, 2)}`)
    .join(', ');
  const busiest = u.loads.filter((l) => l.role === 'server').sort((a, b) => b.eventLoop - a.eventLoop)[0];
  const loop = busiest ? fixed(busiest.eventLoop * 100, 0) : '-';
  if (busiest && busiest.eventLoop >= 0.9) return `the server's one JS thread: event loop ${loop}% busy; ${machine(u)} (cores: ${top})`;
  if (u.machineBusy >= 0.9) return `all CPUs busy: ${machine(u)} (cores: ${top})`;
  return `not CPU: server event loop ${loop}%, ${machine(u)} (cores: ${top})`;
}

/** For requests made one at a time: each process's CPU per request, which adds up to about the latency. */
export function describeLatencyBound(u: Usage, rps: number): string {
  const parts = u.loads
    .filter((l) => l.cores >= 0.03)
    .sort((a, b) => b.cores - a.cores)
    .map((l) => `${l.label} ${fixed((l.cores / rps) * 1000, 1)} ms`);
  return `CPU per request: ${parts.join(', ')}; ${machine(u)}`;
}
