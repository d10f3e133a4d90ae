import type { Logger } from 'pino';
import type { KnownDevice, Store } from '../store/store.js';
import type { MessageService } from './message-service.js';

export interface DeviceServiceOptions {
  /** Acknowledgements are written together this long after the first of a burst. */
  flushDelayMs: number;
  logger: Logger;
  now?: () => number;
}

interface PendingDevice {
  uid: string;
  /** Absent for a connection that named no device: it has receipts but no position. */
  uuid?: string;
  position: number;
  /** Private messages to this user acknowledged since the last flush, for delivery receipts. */
  delivered: Set<number>;
}

/**
 * What each device has received. A device (a comet client naming itself in its Auth) acknowledges stream events;
 * its position is where it resumes on its next connection, on any instance. Acknowledgements come in bursts, one
 * per event, so they are gathered and written together: one write per device and burst for the position, and one
 * delivery receipt per sender. A crash between two writes only moves a position back, and a device then receives
 * a few events again; it never skips one.
 */
export class DeviceService {
  private readonly pending = new Map<string, PendingDevice>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    private readonly messages: MessageService,
    private readonly options: DeviceServiceOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Registers the device and returns the position it has acknowledged (0 for a new device). */
  async open(uid: string, device: KnownDevice): Promise<number> {
    // What its last socket here acknowledged may still be waiting to be written, or being written: a socket that
    // closed has just started that write.
    await (this.pending.has(`${uid} ${device.uuid}`) ? this.flush() : this.flushing);
    return this.store.openDevice(uid, device, this.now());
  }

  /**
   * A connection of `uid` received events: `device` has every event up to its position; `deliveredMids` are
   * private messages to `uid` it acknowledged.
   */
  acknowledge(uid: string, device: { uuid: string; position: number } | undefined, deliveredMids: number[]): void {
    const key = `${uid} ${device?.uuid ?? ''}`;
    let pending = this.pending.get(key);
    if (!pending) this.pending.set(key, (pending = { uid, uuid: device?.uuid, position: 0, delivered: new Set() }));
    pending.position = Math.max(pending.position, device?.position ?? 0);
    for (const mid of deliveredMids) pending.delivered.add(mid);
    this.timer ??= setTimeout(() => void this.flush(), this.options.flushDelayMs);
  }

  /** Writes everything acknowledged so far (a socket closed: its next connection may be on another instance). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const devices = [...this.pending.values()];
    this.pending.clear();
    if (devices.length === 0) return this.flushing;
    // One flush at a time, in order, so that positions are written in the order they were reached.
    this.flushing = this.flushing.then(() => this.write(devices));
    return this.flushing;
  }

  async close(): Promise<void> {
    await this.flush();
  }

  private async write(devices: PendingDevice[]): Promise<void> {
    try {
      const positions = devices.flatMap(({ uid, uuid, position }) => (uuid === undefined ? [] : [{ uid, uuid, position }]));
      if (positions.length > 0) await this.store.saveDevicePositions(positions);
    } catch (err) {
      this.options.logger.warn({ err }, 'could not save device positions; those devices will receive some events again');
    }
    const byReceiver = new Map<string, number[]>();
    for (const { uid, delivered } of devices) byReceiver.set(uid, [...(byReceiver.get(uid) ?? []), ...delivered]);
    for (const [uid, mids] of byReceiver) {
      try {
        await this.messages.markDelivered(uid, mids);
      } catch (err) {
        this.options.logger.warn({ err, uid }, 'could not record delivery receipts');
      }
    }
  }
}
