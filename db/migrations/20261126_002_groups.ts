import type { Knex } from 'knex';

/**
 * Groups (DESIGN.md "Groups"). A group message is stored once, as an event carrying its group_id; a member's
 * stream reads the group's events inside each of their memberships' [joined_id, left_id] ranges.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('groups', (t) => {
    // The id of the group's first event (its creation SignInGroup), so groups need no second id sequence.
    t.bigInteger('id').primary();
    t.string('name', 128).notNullable();
    t.string('owner_id', 64).notNullable();
    t.integer('member_num').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('disbanded_id');
  });

  // One row per stay: a user who leaves and rejoins has two rows, and sees neither what happened in between.
  await knex.schema.createTable('memberships', (t) => {
    t.bigInteger('group_id').notNullable();
    t.string('uid', 64).notNullable();
    t.smallint('role').notNullable();
    t.bigInteger('joined_id').notNullable();
    t.bigInteger('left_id');
    t.primary(['group_id', 'uid', 'joined_id']);
    t.index(['uid', 'group_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('memberships');
  await knex.schema.dropTableIfExists('groups');
}
