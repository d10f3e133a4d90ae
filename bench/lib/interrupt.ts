/**
 * Ctrl-C (SIGINT) or SIGTERM in the middle of a bench: one handler for the whole process runs every cleanup
 * registered at that moment (stop the servers, drop the databases), all at once, and only then exits with 130, so
 * that no cleanup is cut short by another one's exit. While nothing is registered, the signals keep their default
 * action: there is nothing to clean up.
 */

export type Cleanup = (signal: NodeJS.Signals) => Promise<void>;

const cleanups = new Set<Cleanup>();
let interruptedBy: NodeJS.Signals | undefined;

function onSignal(signal: NodeJS.Signals): void {
  if (interruptedBy !== undefined) return;
  interruptedBy = signal;
  void Promise.allSettled([...cleanups].map((cleanup) => cleanup(signal))).then(() => process.exit(130));
}

function listen(on: boolean): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    if (on) process.on(signal, onSignal);
    else process.off(signal, onSignal);
  }
}

/** Registers a cleanup to run on SIGINT or SIGTERM; returns the function that unregisters it. */
export function onInterrupt(cleanup: Cleanup): () => void {
  if (cleanups.size === 0) listen(true);
  cleanups.add(cleanup);
  return () => {
    // Once interrupted, the handler owns the cleanups until the exit.
    if (interruptedBy !== undefined || !cleanups.delete(cleanup)) return;
    if (cleanups.size === 0) listen(false);
  };
}

/** The signal that interrupted the bench, if one did: failures after it are the cleanup's doing, not news. */
export function interrupted(): NodeJS.Signals | undefined {
  return interruptedBy;
}
