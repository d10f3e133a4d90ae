import type { Knex } from 'knex';

/**
 * Devices and delivery. A comet client names its device (the Auth `ext` uuid); chatlog keeps how far each device
 * has acknowledged its user's stream, so that a client which never syncs is brought level when it reconnects.
 * `delivered_at` marks the first time a private message reached any device of its receiver (the "delivered"
 * tick), so that every later acknowledgement of it costs nothing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('devices', (t) => {
    t.string('uid', 64).notNullable();
    t.string('uuid', 128).notNullable();
    t.smallint('device_type').notNullable();
    t.string('device_name', 128).notNullable();
    // The stream position up to which this device acknowledged every event.
    t.bigInteger('acked_id').notNullable();
    t.bigInteger('seen_at').notNullable();
    t.primary(['uid', 'uuid']);
  });
  await knex.schema.alterTable('messages', (t) => {
    t.bigInteger('delivered_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.dropColumn('delivered_at');
  });
  await knex.schema.dropTableIfExists('devices');
}
