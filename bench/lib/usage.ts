/**
 * Who used the machine during a measured window: each server process (CPU and event loop, read inside it by the
 * probe), this bench process (the load generator), the database and Redis (from /proc), and the machine as a
 * whole; and, from that, a sentence naming what bounded the figure.
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ChildChatlog } from './child.js';
import type { ProbeSample } from './probe.js';
import { formatTable } from './report.js';
import { busyShare, cpuByGroup, machineCpu, processTable, type ProcessCpu } from './system.js';

/** Busy CPU (cores) and event loop (0..1, NaN when unknown) of one process or group of processes. */
export interface Load {
  label: string;
  cpuCores: number;
  eventLoop: number;
  /** What the load is, for the bound sentence. */
  role: 'server' | 'bench' | 'database' | 'redis' | 'other';
}

type CpuElu = Pick<ProbeSample, 'cpu' | 'elu'>;

/** A reading at one moment: the machine, every process, this process, and each server child. */
export interface UsageMark {
  at: number;
  cpu: ReturnType<typeof machineCpu>;
  procs: ProcessCpu[];
  self: CpuElu;
  children: Promise<ProbeSample[]>;
}

export interface Usage {
  ms: number;
  loads: Load[];
  /** Share of the machine's CPUs busy, 0..1. */
  machineBusy: number;
  machineCores: number;
}

export interface UsageContext {
  /** The server processes (read through their probe); empty when the servers run in this process. */
  children: ChildChatlog[];
  /** Labels of the children, default "server (pid N)" / "instance i (pid N)". */
  childLabels?: string[];
  /** What this process does, e.g. "bench process (autocannon)". */
  selfLabel: string;
  /** When this process also runs the servers (in-process), its load is the server's. */
  selfIsServer?: boolean;
  /** The PostgreSQL database the servers use, whose backends are counted apart from the rest of PostgreSQL. */
  databaseName?: string;
}

/** This process's CPU and event loop so far, in the shape of a probe sample. */
export function selfSample(): CpuElu {
  const elu = performance.eventLoopUtilization();
  return { cpu: process.cpuUsage(), elu: { idle: elu.idle, active: elu.active } };
}

/** Takes a reading now; the children answer asynchronously. */
export function markUsage(children: ChildChatlog[]): UsageMark {
  return {
    at: performance.timeOrigin + performance.now(),
    cpu: machineCpu(),
    procs: processTable(),
    self: selfSample(),
    children: Promise.all(children.map((child) => child.sample())),
  };
}

function loadBetween(label: string, role: Load['role'], a: CpuElu, b: CpuElu, ms: number): Load {
  const cpu = (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1000;
  const active = b.elu.active - a.elu.active;
  const idle = b.elu.idle - a.elu.idle;
  return { label, role, cpuCores: cpu / ms, eventLoop: active / (active + idle) };
}

/** The loads between two readings. */
export async function usageBetween(start: UsageMark, end: UsageMark, context: UsageContext): Promise<Usage> {
  const ms = end.at - start.at;
  const [before, after] = await Promise.all([start.children, end.children]);
  const several = context.children.length > 1;
  const loads: Load[] = context.children.map((child, i) =>
    loadBetween(context.childLabels?.[i] ?? (several ? `instance ${i + 1} (pid ${child.pid})` : `server (pid ${child.pid})`), 'server', before[i]!, after[i]!, ms),
  );
  loads.push(loadBetween(context.selfLabel, context.selfIsServer ? 'server' : 'bench', start.self, end.self, ms));
  // The rest of the machine from /proc: the database and Redis, and whatever else ran (a shared machine).
  const ours = new Set([process.pid, ...context.children.map((child) => child.pid)]);
  const groups: Array<[string, (p: ProcessCpu) => boolean]> = [];
  const { databaseName } = context;
  if (databaseName !== undefined) groups.push([`PostgreSQL backends of ${databaseName}`, (p) => p.command.startsWith('postgres:') && p.command.includes(databaseName)]);
  groups.push(['PostgreSQL, the rest (wal writer, checkpointer, other databases)', (p) => /^postgres[: ]|\/postgres /.test(p.command)]);
  groups.push(['Redis', (p) => /redis-server/.test(p.command)]);
  for (const [label, cores] of cpuByGroup(start.procs, end.procs, ms, groups, (p) => ours.has(p.pid))) {
    const role: Load['role'] = label.startsWith('PostgreSQL') ? 'database' : label === 'Redis' ? 'redis' : 'other';
    loads.push({ label, role, cpuCores: cores, eventLoop: NaN });
  }
  const machineCores = cpus().length;
  const machineBusy = busyShare(start.cpu, end.cpu);
  const accounted = loads.reduce((sum, l) => sum + l.cpuCores, 0);
  const unaccounted = `unaccounted (kernel, processes that ended meanwhile${databaseName === undefined ? '' : ', e.g. PostgreSQL parallel workers'})`;
  loads.push({ label: unaccounted, role: 'other', cpuCores: Math.max(0, machineBusy * machineCores - accounted), eventLoop: NaN });
  return { ms, loads, machineBusy, machineCores };
}

/** Measures the loads over `during`. */
export async function measureUsage<T>(context: UsageContext, during: () => Promise<T>): Promise<{ value: T; usage: Usage }> {
  const start = markUsage(context.children);
  const value = await during();
  const end = markUsage(context.children);
  return { value, usage: await usageBetween(start, end, context) };
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

/** The loads as a table, with the machine's total last. */
export function formatUsage(usage: Usage, title = 'load in the measured window'): string {
  return formatTable(
    [title, 'cpu cores', 'event loop'],
    [
      ...usage.loads.map((l) => [l.label, fixed(l.cpuCores, 2), Number.isNaN(l.eventLoop) ? '' : `${fixed(l.eventLoop * 100, 0)}%`]),
      ['machine (all processes: the above and the kernel)', fixed(usage.machineBusy * usage.machineCores, 2), `${fixed(usage.machineBusy * 100, 0)}% of ${usage.machineCores} cpus`],
    ],
  );
}

/** Short names for the bound sentence. */
function shortLabel(load: Load): string {
  if (load.role === 'server') return load.label.replace(/ \(pid \d+\)/, '');
  if (load.role === 'bench') return 'load generator';
  if (load.label.startsWith('PostgreSQL backends')) return 'PostgreSQL';
  if (load.label.startsWith('PostgreSQL')) return 'PostgreSQL (other)';
  if (load.label.startsWith('unaccounted')) return 'unaccounted';
  return load.label;
}

/**
 * What bounded a throughput or latency figure, in one line: a saturated server event loop (one JS thread does the
 * server's work), else all CPUs busy (the machine, shared by server, load generator and database), else waiting
 * (round trips and commits), with the biggest CPU users.
 */
export function describeBound(usage: Usage): string {
  const top = usage.loads
    .filter((l) => l.cpuCores >= 0.05)
    .sort((a, b) => b.cpuCores - a.cpuCores)
    .slice(0, 4)
    .map((l) => `${shortLabel(l)} ${fixed(l.cpuCores, 2)}`)
    .join(', ');
  const servers = usage.loads.filter((l) => l.role === 'server' && Number.isFinite(l.eventLoop));
  const busiest = servers.sort((a, b) => b.eventLoop - a.eventLoop)[0];
  const machine = `${fixed(usage.machineBusy * 100, 0)}% of ${usage.machineCores} cpus`;
  if (busiest && busiest.eventLoop >= 0.9) {
    return `the server's one JS thread: event loop ${fixed(busiest.eventLoop * 100, 0)}% busy; machine ${machine} (cores: ${top})`;
  }
  if (usage.machineBusy >= 0.9) return `all CPUs busy: machine ${machine} (cores: ${top})`;
  return `not CPU: server event loop ${busiest ? fixed(busiest.eventLoop * 100, 0) : '-'}%, machine ${machine} (cores: ${top})`;
}

/**
 * For a latency measured one request at a time: the CPU each process spent per request (cores / requests per
 * second), which adds up to about the latency when nothing waits on anything else.
 */
export function describeLatencyBound(usage: Usage, rps: number): string {
  const parts = usage.loads
    .filter((l) => l.cpuCores >= 0.03)
    .sort((a, b) => b.cpuCores - a.cpuCores)
    .map((l) => `${shortLabel(l)} ${fixed((l.cpuCores / rps) * 1000, 1)} ms`);
  return `CPU per request: ${parts.join(', ')}; machine ${fixed(usage.machineBusy * 100, 0)}% of ${usage.machineCores} cpus`;
}
