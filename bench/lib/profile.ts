/**
 * Reading the .cpuprofile files that `node --cpu-prof` writes at exit: where the process spent its CPU, by
 * function (self time) and by origin (a package, chatlog's own code, node internals, GC), for the report.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatTable } from './report.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  file: string;
  /** Wall time the profile covers, ms. */
  wallMs: number;
  /** Sampled time not idle, ms. */
  busyMs: number;
  /** [label, self ms], most first. */
  functions: Array<[string, number]>;
  origins: Array<[string, number]>;
}

/** The origin of a function: node_modules/<package>, src/<dir>, node:internal, or a pseudo-node like (garbage collector). */
function originOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const own = /\/(src|bench|db)\/([^/]+)/.exec(url);
  if (own) return `chatlog ${own[1]}/${own[2]!.replace(/\.ts$/, '')}`;
  return url;
}

function shortUrl(url: string): string {
  const pkg = /node_modules\/(.*)$/.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/((?:src|bench|db)\/.*)$/.exec(url);
  return own ? own[1]! : url.replace(/^file:\/\//, '');
}

/** Sums the self time of a profile by function and by origin. */
export function summariseProfile(file: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // Each sample's time is the delta to the next one.
  for (let i = 0; i < samples.length; i++) {
    const ms = (deltas[i + 1] ?? 0) / 1000;
    self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + ms);
  }
  const functions = new Map<string, number>();
  const origins = new Map<string, number>();
  let busyMs = 0;
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    busyMs += ms;
    const label = url === '' ? functionName || '(anonymous)' : `${functionName || '(anonymous)'}  ${shortUrl(url)}:${lineNumber + 1}`;
    functions.set(label, (functions.get(label) ?? 0) + ms);
    const origin = originOf(url, functionName);
    origins.set(origin, (origins.get(origin) ?? 0) + ms);
  }
  const sorted = (map: Map<string, number>) => [...map.entries()].sort((a, b) => b[1] - a[1]);
  return { file, wallMs: (profile.endTime - profile.startTime) / 1000, busyMs, functions: sorted(functions), origins: sorted(origins) };
}

/** The .cpuprofile files in a directory, oldest first. */
export function profilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .sort()
    .map((name) => join(dir, name));
}

/** Printable lines: the top `top` functions by self time and the origins, with their share of busy time. */
export function formatProfile(summary: ProfileSummary, top = 20): string[] {
  const share = (ms: number) => `${((ms / summary.busyMs) * 100).toFixed(1)}%`;
  return [
    `${summary.file}: ${(summary.wallMs / 1000).toFixed(1)} s profiled, ${(summary.busyMs / 1000).toFixed(1)} s with the event loop busy (wall time: a sample taken in a system call counts whether the CPU ran or not)`,
    formatTable(
      ['self time by origin', 'ms', 'share'],
      summary.origins.slice(0, 12).map(([label, ms]) => [label, ms.toFixed(0), share(ms)]),
    ),
    formatTable(
      [`top ${top} functions by self time`, 'ms', 'share'],
      summary.functions.slice(0, top).map(([label, ms]) => [label, ms.toFixed(0), share(ms)]),
    ),
  ];
}
