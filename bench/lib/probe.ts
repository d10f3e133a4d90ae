/**
 * Loaded into a chatlog process that a benchmark spawned (`node --expose-gc --import tsx --import <this> src/main.ts`),
 * beside the server and without touching it: answers the bench's questions over the IPC channel, so that figures of
 * the server process (memory, CPU, event loop) are read from inside it rather than mixed with the bench's own.
 * When the bench goes away without stopping it (killed, crashed), the channel closes: the server's output folder
 * (CHATLOG_BENCH_LOG_DIR) is deleted and the server is sent SIGTERM, so that nothing outlives the bench.
 */
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

/** What the bench asks. */
export interface ProbeRequest {
  type: 'sample';
  id: number;
  /** Run a full garbage collection first (the process has --expose-gc), so heap figures count live objects. */
  gc: boolean;
}

/** What the server process answers. */
export interface ProbeSample {
  type: 'sample';
  id: number;
  /** process.memoryUsage(), bytes. */
  memory: NodeJS.MemoryUsage;
  /** v8 heap: used and total size, bytes. */
  heapUsed: number;
  heapTotal: number;
  /** process.cpuUsage() since start, microseconds. */
  cpu: NodeJS.CpuUsage;
  /** performance.eventLoopUtilization() since start: idle and active milliseconds. */
  elu: { idle: number; active: number };
}

if (process.send !== undefined) {
  process.on('message', (message: ProbeRequest) => {
    if (message?.type !== 'sample') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    if (message.gc && gc !== undefined) gc();
    const heap = getHeapStatistics();
    const elu = performance.eventLoopUtilization();
    const sample: ProbeSample = {
      type: 'sample',
      id: message.id,
      memory: process.memoryUsage(),
      heapUsed: heap.used_heap_size,
      heapTotal: heap.total_heap_size,
      cpu: process.cpuUsage(),
      elu: { idle: elu.idle, active: elu.active },
    };
    process.send?.(sample);
  });
  process.on('disconnect', () => {
    // Nobody is left to read the output the bench had sent to this folder, nor to delete it.
    const logDir = process.env.CHATLOG_BENCH_LOG_DIR;
    if (logDir !== undefined) rmSync(logDir, { recursive: true, force: true });
    process.kill(process.pid, 'SIGTERM');
  });
  // The channel must not keep the server alive by itself; the server's own sockets do.
  process.channel?.unref();
}
