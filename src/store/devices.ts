/** Devices: how far each acknowledged its user's stream (see DeviceService). */
import type { Knex } from 'knex';
import type { DevicePosition, KnownDevice } from './store.js';

/** Registers the device (or notes it again) and returns its acknowledged position; 0 for a new device. */
export async function openDevice(db: Knex, uid: string, device: KnownDevice, at: number): Promise<number> {
  const rows: Array<{ acked_id: number | string }> = await db('devices')
    .insert({ uid, uuid: device.uuid, device_type: device.type, device_name: device.name, acked_id: 0, seen_at: at })
    .onConflict(['uid', 'uuid'])
    .merge(['device_type', 'device_name', 'seen_at'])
    .returning('acked_id');
  return Number(rows[0]!.acked_id);
}

/** Moves positions forward, never back: a late write from a socket that closed must not undo a newer one's. */
export async function saveDevicePositions(db: Knex, positions: DevicePosition[]): Promise<void> {
  await db.transaction(async (trx) => {
    for (const { uid, uuid, position } of positions) {
      await trx('devices').where({ uid, uuid }).andWhere('acked_id', '<', position).update({ acked_id: position });
    }
  });
}
