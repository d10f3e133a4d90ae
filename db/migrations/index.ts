import type { Knex } from 'knex';
import * as eventLog from './20261126_001_event_log.js';
import * as groups from './20261126_002_groups.js';
import * as devices from './20261202_003_devices.js';
import * as groupSettings from './20261202_004_group_settings.js';
import * as memberType from './20261202_005_member_type.js';
import * as media from './20261202_006_media.js';
import * as conversations from './20261203_007_conversations.js';
import * as messageOrdinals from './20261203_008_message_ordinals.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Migrations listed in code rather than found on disk: the names knex records stay the same whether the
 * server runs from TypeScript (tsx) or from compiled JavaScript. Append new migrations here, in order.
 */
const migrations: Record<string, Migration> = {
  '20261126_001_event_log': eventLog,
  '20261126_002_groups': groups,
  '20261202_003_devices': devices,
  '20261202_004_group_settings': groupSettings,
  '20261202_005_member_type': memberType,
  '20261202_006_media': media,
  '20261203_007_conversations': conversations,
  '20261203_008_message_ordinals': messageOrdinals,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name]!,
};
