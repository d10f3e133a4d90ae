/**
 * BENCH_CPU_PROF=<dir>: the server processes run with `node --cpu-prof`, and once they have exited, their
 * profiles are summarised for the report: self time by function and by origin (a package, a folder of chatlog,
 * node internals, GC).
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples?: number[];
  timeDeltas?: number[];
}

function originOf(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  return /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? /\/((?:src|bench|db)\/[^/]+)/.exec(url)?.[1]?.replace(/\.ts$/, '') ?? url;
}

/** The top entries of self time by function and by origin, as shares of the busy (non-idle) time. */
function summarise(file: string, top: number): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const functions = new Map<string, number>();
  const origins = new Map<string, number>();
  let busy = 0;
  // A sample's time is the delta to the next one.
  (profile.samples ?? []).forEach((id, i) => {
    const { functionName, url, lineNumber } = frames.get(id)!;
    const ms = (profile.timeDeltas?.[i + 1] ?? 0) / 1000;
    if (functionName === '(idle)') return;
    busy += ms;
    const label = `${functionName || '(anonymous)'}${url ? `  ${url.replace(/^.*\/(node_modules|src|bench|db)\//, '$1/')}:${lineNumber + 1}` : ''}`;
    functions.set(label, (functions.get(label) ?? 0) + ms);
    origins.set(originOf(url, functionName), (origins.get(originOf(url, functionName)) ?? 0) + ms);
  });
  const list = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([label, ms]) => `  ${((ms / busy) * 100).toFixed(1).padStart(5)}%  ${label}`);
  return [`${file}: ${(busy / 1000).toFixed(1)} s busy; self time by origin:`, ...list(origins), 'by function:', ...list(functions)];
}

/** node flags for a server labelled `label`, and the summary of its profiles once it has exited ([] when off). */
export function cpuProfile(label: string): { nodeArgs: string[]; lines(): string[] } {
  const root = process.env.BENCH_CPU_PROF?.trim();
  if (!root) return { nodeArgs: [], lines: () => [] };
  const dir = join(resolve(root), `${label}-${Date.now().toString(36)}`);
  mkdirSync(dir, { recursive: true });
  return {
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
    // One profile per thread; thread 0 is the main thread, the others tsx's loader worker.
    lines: () =>
      readdirSync(dir)
        .filter((name) => /\.\d+\.0\.\d+\.cpuprofile$/.test(name))
        .flatMap((name) => ['', `CPU profile of ${label}:`, ...summarise(join(dir, name), 12)]),
  };
}
