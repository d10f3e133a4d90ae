import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Read at scrape time from the parts that keep their own counts. */
export interface MetricSources {
  openSockets(): number;
  busReconnects(): number;
  writeBatches(): { batches: number; works: number };
}

/**
 * The Prometheus metrics of one instance, in a registry of its own (several instances may share a process in
 * tests). Names are listed in the README's operations section.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'chatlog_http_requests_total',
    help: 'HTTP requests answered, by route and envelope result code',
    labelNames: ['method', 'route', 'result'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'chatlog_http_request_duration_seconds',
    help: 'HTTP request latency, by route and envelope result code',
    labelNames: ['method', 'route', 'result'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly messagesSent = new Counter({
    name: 'chatlog_messages_sent_total',
    help: 'Messages stored (repeats of a msgId not counted), by channel type',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });
  readonly databaseStatements = new Counter({
    name: 'chatlog_database_statements_total',
    help: 'Statements sent to the database through knex, transaction control included: on PostgreSQL, each is a round trip',
    registers: [this.registry],
  });
  readonly mediaUploads = new Counter({
    name: 'chatlog_media_uploads_total',
    help: 'Media stored: whole uploads, parts, and multipart uploads completed',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly mediaBytes = new Counter({
    name: 'chatlog_media_uploaded_bytes_total',
    help: 'Bytes of media received (whole uploads and parts)',
    registers: [this.registry],
  });
  readonly eventsDelivered = new Counter({
    name: 'chatlog_events_delivered_total',
    help: 'Stream events written to sockets (/ws and /sub), by where the socket got them: live from a notification, or read from the database',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly streamReads = new Counter({
    name: 'chatlog_stream_reads_total',
    help: 'Stream pages read from the database for sockets catching up (starting, resuming, after a gap, or for events too large to carry)',
    registers: [this.registry],
  });
  readonly notificationGaps = new Counter({
    name: 'chatlog_notification_gaps_total',
    help: 'Times committed events were not announced in time (lost or late notifications) and were read back from the database',
    registers: [this.registry],
  });

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    new Gauge({
      name: 'chatlog_open_sockets',
      help: 'Open WebSocket connections',
      registers,
      collect() {
        this.set(sources.openSockets());
      },
    });
    /** A counter kept elsewhere, copied in at scrape time. */
    const mirrored = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    mirrored('chatlog_bus_reconnects_total', 'Times the Redis subscription came back after a loss', sources.busReconnects);
    mirrored('chatlog_write_batches_total', 'Write transactions formed by group commit', () => sources.writeBatches().batches);
    mirrored(
      'chatlog_write_batch_works_total',
      'Writes carried by those transactions (divide by batches: mean batch size)',
      () => sources.writeBatches().works,
    );
    collectDefaultMetrics({ register: this.registry, prefix: 'chatlog_' });
  }
}
