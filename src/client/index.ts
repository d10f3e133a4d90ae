/**
 * The chatlog client, for Node 20 and browsers. Import this module (or bundle it); it has no dependencies.
 *
 *   const client = new ChatlogClient({ baseUrl: 'http://localhost:8080', token, WebSocket }); // WebSocket: Node only
 *   await client.push({ channelType: 0, targetId: 'bob', msgType: 1, content: { content: 'hello' } });
 *   const live = client.subscribe({ since: 0, onEvent: (event) => console.log(event) });
 */
export { ChatlogClient, type ChatlogClientOptions, type PushProtoOptions } from './client.js';
export { ChatlogError, ResultCode, parseRetryAfter } from './errors.js';
export type { DisconnectInfo, SubscribeOptions, Subscription, WebSocketConstructor, WebSocketLike } from './subscription.js';
export type { FetchLike, RequestInitLike, ResponseLike, TokenSource } from './transport.js';
export * from '../contract/index.js';
