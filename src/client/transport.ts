/**
 * The HTTP side of the client: one POST, one envelope, one error type. The platform's types are described
 * structurally (FetchLike, ResponseLike) instead of being taken from lib.dom or undici, so the same code
 * type-checks for Node and browsers and any fetch-compatible function can be injected.
 */
import { ChatlogError, ResultCode, parseRetryAfter } from './errors.js';
import type { Envelope } from '../contract/index.js';

export interface ResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export interface RequestInitLike {
  method: string;
  headers: Record<string, string>;
  /** A JSON string, or FormData for the multipart pushes (fetch then sets the boundary itself). */
  body?: string | FormData;
}

export type FetchLike = (url: string, init: RequestInitLike) => Promise<ResponseLike>;

/** A fixed token, or a function asked before every request and every (re)connection, so tokens can be refreshed. */
export type TokenSource = string | (() => string | Promise<string>);

export async function resolveToken(token: TokenSource): Promise<string> {
  return typeof token === 'string' ? token : await token();
}

/** `baseUrl` + `path`, tolerating a trailing slash and a path prefix on the base (a proxy mounting chatlog at /chat). */
export function joinUrl(baseUrl: string, path: string): string {
  return baseUrl.replace(/\/+$/, '') + path;
}

/**
 * Sends one request and unwraps the envelope: `data` on result 0, else a ChatlogError with the result, the HTTP
 * status and Retry-After.
 */
export async function postEnvelope<T>(fetchImpl: FetchLike, url: string, token: string, body: string | FormData): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (typeof body === 'string') headers['content-type'] = 'application/json';
  const response = await fetchImpl(url, { method: 'POST', headers, body });
  const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
  const text = await response.text();
  const envelope = parseEnvelope<T>(text);
  if (envelope === undefined) {
    throw new ChatlogError(ResultCode.ServerError, response.status, `unexpected HTTP ${response.status} response: not a chatlog envelope`, retryAfter);
  }
  if (envelope.result !== 0) throw new ChatlogError(envelope.result, response.status, envelope.message, retryAfter);
  // Every successful answer has an object as data ({} when it has no fields), so null only comes from a broken server.
  return (envelope.data ?? {}) as T;
}

function parseEnvelope<T>(text: string): Envelope<T> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { result, message } = value as Partial<Envelope<T>>;
  if (typeof result !== 'number' || typeof message !== 'string') return undefined;
  return value as Envelope<T>;
}
