import type { Knex } from 'knex';

/** The member's type has one name in the code, memberType, as on the wire; its column follows. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('memberships', (t) => {
    t.renameColumn('role', 'member_type');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('memberships', (t) => {
    t.renameColumn('member_type', 'role');
  });
}
