/**
 * For the knex CLI, e.g. `node --import tsx node_modules/knex/bin/cli.js migrate:status --knexfile knexfile.ts`.
 * The server itself runs migrations at start; both read DATABASE_URL the same way.
 */
import 'dotenv/config';
import { loadConfig } from './src/config.js';
import { knexConfig } from './src/store/database.js';

export default knexConfig(loadConfig(process.env).database);
