import { postgresEngine, releaseDatabases } from './engines.js';
import { removeTemporaryDirs } from './temp-dirs.js';

/**
 * Root hooks. CI sets CHATLOG_REQUIRE_POSTGRES=1 so that a run which silently fell back to SQLite only
 * fails instead of passing.
 */
// The pinned AWS SDK runs on Node 20; its notice that later versions will not is for operators, not test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export const mochaHooks = {
  beforeAll(): void {
    if (postgresEngine) return;
    if (process.env.CHATLOG_REQUIRE_POSTGRES === '1') {
      throw new Error('CHATLOG_REQUIRE_POSTGRES=1 but DATABASE_URL (postgres://) and REDIS_URL are not both set');
    }
    console.log('  note: DATABASE_URL (postgres://) and REDIS_URL are not both set, so the PostgreSQL + Redis suites are skipped\n');
  },
  async afterAll(): Promise<void> {
    await releaseDatabases();
    removeTemporaryDirs();
  },
};
