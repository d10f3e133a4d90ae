/** `npm start`: read the settings, start one instance, stop cleanly on SIGTERM / SIGINT. */
import 'dotenv/config';
import { pino } from 'pino';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createServer } from './server.js';

function readConfig(): Config {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`chatlog: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
}

const config = readConfig();
const logger = pino({ level: config.logLevel });
if (config.jwt.usingDevelopmentSecret) {
  logger.warn('JWT_SECRET is not set: using the public development secret; set JWT_SECRET before exposing this server');
}

const server = await createServer(config, { logger });
const { url } = await server.listen();
logger.info({ url, database: config.database.client }, `chatlog listening on ${url}`);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  await server.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
