/** Talking to chatlog from a benchmark: set-up calls through the HTTP API, push bodies and their check. */
import { envelopeCheck, type ResponseCheck } from './load.js';

/** A set-up call that did not answer `result: 0`. */
export class ApiError extends Error {
  constructor(readonly path: string, readonly status: number, readonly result: number | undefined, detail: string) {
    super(`${path} failed: HTTP ${status} result ${String(result)}: ${detail}`);
    this.name = 'ApiError';
  }
}

/** POSTs JSON as `token`'s user; throws an ApiError unless the answer is result 0, since set-up must not half-succeed. */
export async function postOk<T>(url: string, token: string, path: string, body: unknown): Promise<T> {
  const response = await fetch(url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let envelope: { result?: number; message?: string; data?: T };
  try {
    envelope = JSON.parse(text) as typeof envelope;
  } catch {
    throw new ApiError(path, response.status, undefined, `not JSON: ${text.slice(0, 200)}`);
  }
  if (response.status !== 200 || envelope.result !== 0) throw new ApiError(path, response.status, envelope.result, String(envelope.message));
  return envelope.data as T;
}

export interface CreatedGroup {
  id: number;
  /** Set when the group could not be created the way asked and was built another way; worth reporting. */
  note?: string;
}

/**
 * Creates a group owned by `ownerToken`'s user with the given other members in one POST /app/create-group, and
 * checks its size. Should that call fail with a server error (HTTP 5xx), the group is built with create-group
 * and invite-group-members calls of `fallbackBatch` members instead, and `note` says why, so that a bench still
 * runs and the failure is shown. Any other failure (a refused request) is thrown.
 */
export async function createGroup(url: string, ownerToken: string, memberIds: string[], options: { name?: string; fallbackBatch?: number } = {}): Promise<CreatedGroup> {
  const name = options.name ?? 'bench';
  const expected = memberIds.length + 1;
  let id: number;
  let note: string | undefined;
  try {
    ({ id } = await postOk<{ id: number }>(url, ownerToken, '/app/create-group', { name, memberIds }));
  } catch (err) {
    if (!(err instanceof ApiError) || err.status < 500) throw err;
    const batch = options.fallbackBatch ?? 400;
    ({ id } = await postOk<{ id: number }>(url, ownerToken, '/app/create-group', { name, memberIds: memberIds.slice(0, batch) }));
    for (let i = batch; i < memberIds.length; i += batch) {
      await postOk(url, ownerToken, '/app/invite-group-members', { id, newMemberIds: memberIds.slice(i, i + batch) });
    }
    const calls = Math.ceil(memberIds.length / batch);
    note = `one POST /app/create-group with ${memberIds.length} memberIds failed (${err.message}); built the group with ${calls} calls of up to ${batch} members instead`;
  }
  const info = await postOk<{ memberNum: number }>(url, ownerToken, '/app/group-info', { id });
  if (info.memberNum !== expected) throw new Error(`group ${id} has ${info.memberNum} members, expected ${expected}`);
  return { id, note };
}

export const Channel = { private: 0, group: 1 } as const;

/** A JSON push of a text message (API.md §4.1). */
export function textPushBody(channelType: number, msgId: string, targetId: string, content = 'bench'): string {
  return JSON.stringify({ channelType, msgId, targetId, msgType: 1, content: { content } });
}

/**
 * The envelope check of a push, plus: every success must carry a new logId. Each request has a unique msgId,
 * so a repeated logId would mean an idempotent replay was measured instead of a write.
 */
export function freshPushCheck(): ResponseCheck {
  const seen = new Set<number>();
  return (status, body) => {
    const failure = envelopeCheck(status, body);
    if (failure !== undefined) return failure;
    const logId = (JSON.parse(body) as { data?: { logId?: unknown } }).data?.logId;
    if (typeof logId !== 'number') return 'success without a numeric logId';
    if (seen.has(logId)) return 'a logId answered twice (a replay, not a new write)';
    seen.add(logId);
    return undefined;
  };
}

export interface WriteBatches {
  /** Write transactions formed by group commit. */
  batches: number;
  /** Writes they carried. */
  works: number;
}

/** chatlog_write_batches_total and chatlog_write_batch_works_total from the server's GET /metrics. */
export async function writeBatches(url: string): Promise<WriteBatches> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { batches: metric('chatlog_write_batches_total'), works: metric('chatlog_write_batch_works_total') };
}

/** The difference of two readings. */
export function batchesBetween(before: WriteBatches, after: WriteBatches): WriteBatches {
  return { batches: after.batches - before.batches, works: after.works - before.works };
}

/**
 * The write path over `seconds`: write transactions per second and writes per transaction. An instance runs one
 * write transaction at a time, so while writes queue the time between two is about a transaction's length.
 */
export function describeWritePath(batches: WriteBatches, seconds: number): string {
  const perSecond = batches.batches / seconds;
  return `serial write transactions: ${Math.round(perSecond).toLocaleString('en-US')}/s x ${(batches.works / batches.batches).toFixed(1)} writes, one every ${(1000 / perSecond).toFixed(1)} ms`;
}
