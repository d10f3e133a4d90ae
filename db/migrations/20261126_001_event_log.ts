import type { Knex } from 'knex';

/**
 * The event log (DESIGN.md "The event log"). Every event takes its id from the one counter, inside the
 * serialised write transaction, so ids become visible in id order. A message's logId is the id of its event.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('counters', (t) => {
    t.string('name', 32).primary();
    t.bigInteger('value').notNullable();
  });
  await knex('counters').insert({ name: 'event', value: 0 });

  await knex.schema.createTable('messages', (t) => {
    t.bigInteger('mid').primary();
    t.smallint('channel_type').notNullable();
    t.string('msg_id', 64).notNullable();
    t.string('sender_id', 64).notNullable();
    t.string('target_id', 64).notNullable();
    // Private: the two uids in sorted order; group: "g:" + group id. One index serves both histories.
    t.string('conversation', 140).notNullable();
    t.smallint('msg_type').notNullable();
    t.binary('msg');
    t.text('source');
    t.text('reference');
    t.bigInteger('created_at').notNullable();
    t.string('revoked_by', 64);
    t.bigInteger('revoked_at');
    // Idempotency is forever: a key in the database, not a cache entry with a lifetime.
    t.unique(['sender_id', 'msg_id']);
    t.index(['conversation', 'mid']);
  });

  await knex.schema.createTable('events', (t) => {
    t.bigInteger('id').primary();
    t.string('kind', 16).notNullable();
    t.bigInteger('mid');
    t.bigInteger('group_id');
    t.string('actor', 64).notNullable();
    t.text('data');
    t.bigInteger('created_at').notNullable();
    t.index(['group_id', 'id']);
  });

  // The private part of each user's stream: one row per (user, event) that concerns them.
  await knex.schema.createTable('inbox', (t) => {
    t.string('uid', 64).notNullable();
    t.bigInteger('id').notNullable();
    t.primary(['uid', 'id']);
  });

  await knex.schema.createTable('focus_marks', (t) => {
    t.bigInteger('mid').notNullable();
    t.string('uid', 64).notNullable();
    t.bigInteger('created_at').notNullable();
    t.primary(['mid', 'uid']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['focus_marks', 'inbox', 'events', 'messages', 'counters']) {
    await knex.schema.dropTableIfExists(table);
  }
}
