/**
 * Loaded beside chatlog in a server process the bench spawned (`node --expose-gc --import <this> src/main.ts`):
 * answers the bench's questions over the IPC channel, so that the server's CPU, event loop and heap are read from
 * inside it, not mixed with the bench's. When the bench goes away without stopping it (killed, crashed), the
 * channel closes and the server stops itself, so that nothing outlives the bench.
 */
import { performance } from 'node:perf_hooks';

export interface ProbeSample {
  id: number;
  /** Since start: CPU in microseconds, event-loop active and idle time in ms. */
  cpu: NodeJS.CpuUsage;
  elu: { active: number; idle: number };
  /** After a full GC when asked: V8 heap used and memory outside it (array buffers included), bytes. */
  heapUsed: number;
  external: number;
}

if (process.send !== undefined) {
  process.on('message', (message: { id: number; gc: boolean }) => {
    if (message.gc) (globalThis as { gc?: () => void }).gc?.();
    const { active, idle } = performance.eventLoopUtilization();
    const { heapUsed, external } = process.memoryUsage();
    const sample: ProbeSample = { id: message.id, cpu: process.cpuUsage(), elu: { active, idle }, heapUsed, external };
    process.send?.(sample);
  });
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  // The channel must not keep the server alive by itself.
  process.channel?.unref();
}
