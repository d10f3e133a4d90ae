import type { Knex } from 'knex';

/**
 * Media (the dtalk /oss API). The bytes are in a media storage (local disk or S3); these tables say who owns
 * each key, and hold the multipart uploads still open and their parts, so that an upload survives a restart.
 * A key is claimed by its first uploader at the start of the upload (size null until it is complete), so that
 * nobody else can write it meanwhile.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('media_objects', (t) => {
    // At most 1024 bytes of UTF-8 (media-key.ts), within what a PostgreSQL btree entry holds.
    t.string('key', 1024).primary();
    t.string('owner_id', 64).notNullable();
    t.bigInteger('size');
    t.string('etag', 128);
    t.string('content_type', 255);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
  await knex.schema.createTable('media_uploads', (t) => {
    t.string('upload_id', 64).primary();
    t.string('key', 1024).notNullable();
    t.string('owner_id', 64).notNullable();
    // The storage's own id of the upload (S3's UploadId, a directory on local disk).
    t.string('handle', 1024).notNullable();
    t.string('content_type', 255).notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable().index();
  });
  await knex.schema.createTable('media_parts', (t) => {
    t.string('upload_id', 64).notNullable();
    t.integer('part_number').notNullable();
    t.string('etag', 128).notNullable();
    t.bigInteger('size').notNullable();
    t.primary(['upload_id', 'part_number']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('media_parts');
  await knex.schema.dropTableIfExists('media_uploads');
  await knex.schema.dropTableIfExists('media_objects');
}
