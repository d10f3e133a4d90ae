import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

/**
 * The group as dtalk has it (API.md §5): public name, avatar, introduction, the short number people share
 * (mark_id), join, mute and friend rules, and the symmetric key members' clients encrypt group messages with.
 * Members get a name in the group and a mute deadline (0: not muted). Names become text: clients encrypt the
 * group name with the group key and send it as base64, which can be long.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('groups', (t) => {
    t.text('name').notNullable().alter();
    t.text('public_name').notNullable().defaultTo('');
    t.text('avatar').notNullable().defaultTo('');
    t.text('introduce').notNullable().defaultTo('');
    t.string('mark_id', 16);
    t.smallint('join_type').notNullable().defaultTo(0);
    t.smallint('mute_type').notNullable().defaultTo(0);
    t.smallint('friend_type').notNullable().defaultTo(0);
    t.smallint('group_type').notNullable().defaultTo(0);
    t.string('aes_key', 64);
  });
  await knex.schema.alterTable('memberships', (t) => {
    t.text('member_name').notNullable().defaultTo('');
    t.bigInteger('muted_until').notNullable().defaultTo(0);
  });
  // Groups made before this migration get what creation gives now.
  for (const { id } of await knex('groups').select('id')) {
    await knex('groups')
      .where({ id })
      .update({ aes_key: randomBytes(16).toString('hex'), mark_id: String(id) });
  }
  await knex.schema.alterTable('groups', (t) => {
    t.unique(['mark_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('memberships', (t) => {
    t.dropColumn('member_name');
    t.dropColumn('muted_until');
  });
  await knex.schema.alterTable('groups', (t) => {
    t.dropUnique(['mark_id']);
    for (const column of ['public_name', 'avatar', 'introduce', 'mark_id', 'join_type', 'mute_type', 'friend_type', 'group_type', 'aes_key'])
      t.dropColumn(column);
  });
}
