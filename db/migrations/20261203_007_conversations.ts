import type { Knex } from 'knex';

/**
 * Conversations (API.md §9). Unread counts are counted from the messages themselves, never kept as a second number
 * that could drift: a conversation's row holds only what the log cannot say at once, the caller's read position,
 * settings, and for a private conversation its newest message (so that a list of thousands of them is ordered
 * and skips counting where nothing is new without probing each). A group message writes no member's row: a
 * group's newest message comes from its messages, a member's read position defaults to their join.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('conversation_states', (t) => {
    t.string('uid', 64).notNullable();
    t.smallint('channel_type').notNullable();
    // The peer's uid, or the group id in decimal.
    t.string('target_id', 64).notNullable();
    // The messages.conversation key, so that counting needs no recomputation of it in SQL.
    t.string('conversation', 140).notNullable();
    t.bigInteger('read_mid').notNullable().defaultTo(0);
    // Private only: the newest message of the conversation, revoked ones included (a recall does not reorder).
    t.bigInteger('last_mid').notNullable().defaultTo(0);
    // The stream id of the last change of what the list shows of it (private; a group adds its own events).
    t.bigInteger('changed_id').notNullable().defaultTo(0);
    t.boolean('muted').notNullable().defaultTo(false);
    t.boolean('pinned').notNullable().defaultTo(false);
    t.primary(['uid', 'channel_type', 'target_id']);
  });
  await knex.schema.alterTable('messages', (t) => {
    // The uids a text message mentions, as " a b " (uids have no whitespace), null for none.
    t.text('mentions');
  });
  // What was stored before counts as read: nobody could say they had read it, and a first list of every message
  // ever as unread would help nobody.
  await knex.raw(`insert into conversation_states (uid, channel_type, target_id, conversation, read_mid, last_mid, changed_id)
    select uid, 0, peer, min(conversation), max(mid), max(mid), max(mid) from (
      select sender_id as uid, target_id as peer, conversation, mid from messages where channel_type = 0
      union all
      select target_id, sender_id, conversation, mid from messages where channel_type = 0 and target_id <> sender_id
    ) x group by uid, peer`);
  await knex.raw(`insert into conversation_states (uid, channel_type, target_id, conversation, read_mid, last_mid, changed_id)
    select uid, 1, target_id, conversation, last, 0, 0 from (
      select ms.uid, cast(ms.group_id as text) as target_id, 'g:' || cast(ms.group_id as text) as conversation,
        (select max(m.mid) from messages m where m.conversation = 'g:' || cast(ms.group_id as text)) as last
      from memberships ms where ms.left_id is null
    ) x where last is not null`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.dropColumn('mentions');
  });
  await knex.schema.dropTableIfExists('conversation_states');
}
