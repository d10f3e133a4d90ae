import type { Knex } from 'knex';

/**
 * Conversations (API.md §9). A conversation's row holds what the log cannot say at once: the user's read position
 * and settings, and for a private conversation its newest message and unread count, so that a list of thousands
 * is read in its order from an index and its total from the few rows with something unread. The count is written
 * in the same statement as the message that changes it (and recounted from the messages at every read), never
 * later or elsewhere, so it cannot drift from them; a randomized test recounts it. A group message writes no
 * member's row: a group's newest message and its members' unread counts come from its messages.
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
    // Private only: messages from the peer after read_mid, not revoked.
    t.integer('unread').notNullable().defaultTo(0);
    t.primary(['uid', 'channel_type', 'target_id']);
    // The list's order (pinned, then newest), read backwards; and its changes after a position.
    t.index(['uid', 'channel_type', 'pinned', 'last_mid', 'target_id'], 'conversation_states_order');
    t.index(['uid', 'changed_id'], 'conversation_states_changes');
  });
  // The total badge sums only the rows with something unread.
  await knex.raw('create index conversation_states_unread on conversation_states (uid, muted, unread) where unread > 0');
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
