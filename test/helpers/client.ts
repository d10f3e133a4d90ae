import type { PushRequestFields } from '../../src/contract/index.js';
import { createCodec } from '../../src/proto/codec.js';
import { createTestWire } from './wire.js';

/** The server's codec, with what a client would encode and decode besides. */
export const codec = { ...createCodec(), ...createTestWire() };

export interface Reply<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  result: number;
  message: string;
  data: T;
}

/** A JSON push as tests send it: any field may be left out, and the loosely checked ones be anything, to see them refused. */
export type JsonPushFields = Partial<Omit<PushRequestFields, 'channelType' | 'source' | 'reference'>> & {
  channelType?: number;
  source?: Record<string, unknown>;
  reference?: Record<string, unknown>;
};

/** A client of one chatlog instance acting as one user, speaking HTTP exactly as the contract says. */
export class TestClient {
  /** `headers` go with every request: a dtalk client's FZM-SIGNATURE, say, instead of a bearer token. */
  constructor(
    readonly baseUrl: string,
    readonly token: string | undefined,
    readonly headers: Record<string, string> = {},
  ) {}

  /** The same server, another identity (or none). */
  as(token: string | undefined): TestClient {
    return new TestClient(this.baseUrl, token);
  }

  async request<T = Record<string, unknown>>(
    path: string,
    init: { body?: RequestInit['body']; contentType?: string; method?: string; headers?: Record<string, string> } = {},
  ): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...this.headers, ...init.headers };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    if (init.contentType !== undefined) headers['content-type'] = init.contentType;
    const response = await fetch(this.baseUrl + path, { method: init.method ?? 'POST', headers, body: init.body });
    const envelope = (await response.json()) as { result: number; message: string; data: T };
    return { status: response.status, headers: response.headers, ...envelope };
  }

  post<T = Record<string, unknown>>(path: string, body: unknown): Promise<Reply<T>> {
    return this.request<T>(path, { body: JSON.stringify(body), contentType: 'application/json' });
  }

  pushJson(fields: JsonPushFields, path = '/record/push'): Promise<Reply<{ logId: number; datetime: number }>> {
    return this.post(path, fields);
  }

  /** A text message to a user, as JSON. */
  sendText(targetId: string, content: string, msgId = `m-${Math.random().toString(36).slice(2)}`) {
    return this.pushJson({ channelType: 0, msgId, targetId, msgType: 1, content: { content } });
  }

  /** Uploads bytes as the multipart part `partName`, the way dtalk clients push. */
  upload(path: string, bytes: Uint8Array, partName = 'file'): Promise<Reply<{ logId: number; datetime: number }>> {
    const form = new FormData();
    form.append(partName, new Blob([bytes]), 'message.bin');
    return this.request(path, { body: form });
  }

  sync(body: Record<string, unknown>) {
    return this.post<{ record_count: number; records: string[]; next_start: number; has_more: boolean }>('/app/record/sync-record', body);
  }

  /** Every record of the caller's stream after `start`, decoded, paging with next_start. */
  async syncAll(start = 0, count = 1000) {
    const records = [];
    for (;;) {
      const reply = await this.sync({ start, count });
      if (reply.result !== 0) throw new Error(`sync failed: ${reply.message}`);
      records.push(...reply.data.records.map(decodeRecord));
      start = reply.data.next_start;
      if (!reply.data.has_more) return records;
    }
  }

  history(body: Record<string, unknown>) {
    return this.post<{ record_count: number; records: Array<Record<string, unknown>> }>('/app/record/pri-chat-record', body);
  }

  groupHistory(body: Record<string, unknown>) {
    return this.post<{ record_count: number; records: Array<Record<string, unknown>> }>('/app/record/group-chat-record', body);
  }

  /** A text message to a group, as JSON. */
  sendGroupText(groupId: number, content: string, msgId = `g-${Math.random().toString(36).slice(2)}`) {
    return this.pushJson({ channelType: 1, msgId, targetId: String(groupId), msgType: 1, content: { content } });
  }

  revoke(logId: number | string, type?: number) {
    return this.post('/app/record/revoke', { logId, ...(type !== undefined && { type }) });
  }

  focus(logId: number | string, type?: number) {
    return this.post<{ currentNum: number }>('/app/record/focus', { logId, ...(type !== undefined && { type }) });
  }
}

export function decodeRecord(base64: string) {
  return codec.decodeStreamRecord(Buffer.from(base64, 'base64'));
}

export function encodeText(content: string, mention?: string[]): Uint8Array {
  return codec.encodeContent(1, { content, ...(mention && { mention }) });
}
