/**
 * How many sockets a user may hold on this instance, and how long one may live: what keeps one user (or one
 * token) from holding the server's memory, and a socket from outliving its credentials.
 */

/** What the policy needs of a socket of either protocol. */
export interface ClosableSocket {
  close(code: number, reason: string): void;
}

const CLOSE_TOO_MANY = 4029;
/** setTimeout holds at most 2^31 - 1 ms (about 24.8 days); a later expiry is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class UserSockets {
  private readonly byUid = new Map<string, Set<ClosableSocket>>();

  constructor(private readonly maxPerUid: number) {}

  /**
   * Counts a socket of `uid`. Past the cap the user's oldest socket is closed (4029): a device that reconnects
   * leaves dead sockets behind more often than a user opens dozens of live ones, so the newest wins.
   */
  add(uid: string, socket: ClosableSocket): void {
    let sockets = this.byUid.get(uid);
    if (!sockets) this.byUid.set(uid, (sockets = new Set()));
    sockets.add(socket);
    if (sockets.size <= this.maxPerUid) return;
    const oldest = sockets.values().next().value!;
    sockets.delete(oldest);
    oldest.close(CLOSE_TOO_MANY, `too many connections for this user (at most ${this.maxPerUid})`);
  }

  remove(uid: string, socket: ClosableSocket): void {
    const sockets = this.byUid.get(uid);
    sockets?.delete(socket);
    if (sockets?.size === 0) this.byUid.delete(uid);
  }
}

/** Calls `expire` at `expiresAt` (unless cancelled with the function returned); nothing for no expiry. */
export function expireAt(expiresAt: number | undefined, expire: () => void): () => void {
  if (expiresAt === undefined) return () => undefined;
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = expiresAt - Date.now();
    if (left <= 0) return expire();
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}
