import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { EventBus } from '../bus/event-bus.js';
import type { RecordService } from '../services/record-service.js';
import { CometEndpoint, type CometEndpointOptions } from './comet-endpoint.js';
import { StreamFanout, type FanoutObserver, type StreamFanoutOptions } from './stream-fanout.js';
import { UserSockets } from './socket-policy.js';
import { refuseUpgrade } from './upgrade.js';
import { WsEndpoint, type WsEndpointOptions } from './ws-endpoint.js';

export interface GatewayOptions {
  records: RecordService;
  bus: EventBus;
  logger: Logger;
  /** Told of what the fan-out does, on either protocol, for metrics. */
  observer?: FanoutObserver;
  /** Events read from the database per query while a socket catches up. */
  readPage: number;
  /** How long delivery waits for a missing notification before sockets read from the database. */
  gapMs: number;
  /** False: every socket reads each event back from the database (REALTIME_DELIVERY=database). */
  live: boolean;
  /** Sees every notification before the fan-out does (tests lose and reorder them). */
  intercept?: StreamFanoutOptions['intercept'];
  /** Most sockets (of both protocols) one user may hold on this instance. */
  maxSocketsPerUid: number;
  ws: Omit<WsEndpointOptions, 'fanout' | 'logger' | 'userSockets'>;
  comet: Omit<CometEndpointOptions, 'fanout' | 'logger' | 'userSockets'>;
}

/**
 * The realtime side: one stream fan-out, fed by the bus, behind two socket protocols: JSON at GET /ws (API.md
 * §6) and the dtalk comet socket at GET /sub. This is the http server's `upgrade` handler.
 */
export class RealtimeGateway {
  private readonly ws: WsEndpoint;
  private readonly comet: CometEndpoint;
  private readonly fanout: StreamFanout;
  private closing = false;
  private readonly logger: Logger;

  constructor(options: GatewayOptions) {
    this.logger = options.logger;
    this.fanout = new StreamFanout(options.records, options.bus, options.logger, {
      readPage: options.readPage,
      gapMs: options.gapMs,
      live: options.live,
      observer: options.observer,
      intercept: options.intercept,
    });
    const { fanout } = this;
    const userSockets = new UserSockets(options.maxSocketsPerUid);
    this.ws = new WsEndpoint({ ...options.ws, fanout, userSockets, logger: options.logger });
    this.comet = new CometEndpoint({ ...options.comet, fanout, userSockets, logger: options.logger });
  }

  /** Learns where the event log ends, before any socket is taken. */
  start(): Promise<void> {
    return this.fanout.start();
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => this.logger.debug({ err: err.message }, 'upgrade socket error'));
    // Whatever a request holds, an error here must not leave the listener: it would end the process.
    try {
      this.route(req, socket, head);
    } catch (err) {
      this.logger.error({ err }, 'an upgrade could not be handled');
      if (socket.writable) refuseUpgrade(socket, 500, -1000, 'unexpected server error');
      else socket.destroy();
    }
  }

  private route(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closing) return refuseUpgrade(socket, 503, -1009, 'the server is shutting down');
    const url = URL.parse(req.url ?? '/', 'http://localhost');
    if (url === null) return refuseUpgrade(socket, 400, -1012, 'the request target is not a valid URL');
    // Both dtalk clients open /sub/ (dtalk's nginx mapped it to /sub); a trailing slash never matters here.
    const path = url.pathname.replace(/(.)\/$/, '$1');
    if (path === '/ws') return this.ws.handleUpgrade(req, socket, head, url);
    if (path === '/sub') return this.comet.handleUpgrade(req, socket, head);
    refuseUpgrade(socket, 404, -1007, `there is no WebSocket endpoint ${url.pathname}`);
  }

  /** Open sockets of both protocols. */
  get socketCount(): number {
    return this.ws.socketCount + this.comet.socketCount;
  }

  /** Closes every socket with 1001 (going away) and takes no new ones. */
  async close(): Promise<void> {
    this.closing = true;
    this.fanout.stop();
    await Promise.all([this.ws.close(), this.comet.close()]);
  }
}
