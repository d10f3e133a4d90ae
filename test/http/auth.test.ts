import assert from 'node:assert/strict';
import { SignJWT, exportSPKI, generateKeyPair } from 'jose';
import { signToken } from '../../src/auth/jwt.js';
import { TestClient } from '../helpers/client.js';
import { engines } from '../helpers/engines.js';
import { TEST_JWT_SECRET, useChatlog } from '../helpers/server.js';

const [sqlite] = engines;

async function syncResult(baseUrl: string, token: string): Promise<number> {
  return (await new TestClient(baseUrl, token).sync({ count: 1 })).result;
}

describe('authentication', () => {
  describe('of a token used again', () => {
    const chatlog = useChatlog(sqlite!);

    it('answers -1011 once the token has expired, though it was accepted before', async () => {
      const token = await signToken(TEST_JWT_SECRET, 'alice', { ttlSeconds: 2 });
      assert.equal(await syncResult(chatlog().urls[0]!, token), 0);
      await new Promise((resolve) => setTimeout(resolve, 2100));
      assert.equal(await syncResult(chatlog().urls[0]!, token), -1011);
    });
  });

  describe('with issuer and audience set', () => {
    const chatlog = useChatlog(sqlite!, { JWT_ISSUER: 'https://id.example', JWT_AUDIENCE: 'chatlog' });

    it('accepts a token with the configured issuer and audience', async () => {
      const token = await signToken(TEST_JWT_SECRET, 'alice', { issuer: 'https://id.example', audience: 'chatlog' });
      assert.equal(await syncResult(chatlog().urls[0]!, token), 0);
    });

    it('rejects a token without them, or with others', async () => {
      for (const claims of [{}, { issuer: 'https://other.example', audience: 'chatlog' }, { issuer: 'https://id.example', audience: 'other' }]) {
        assert.equal(await syncResult(chatlog().urls[0]!, await signToken(TEST_JWT_SECRET, 'alice', claims)), -1010);
      }
    });
  });

  for (const alg of ['RS256', 'ES256'] as const) {
    describe(`with an ${alg} public key`, () => {
      let keys: Awaited<ReturnType<typeof generateKeyPair>>;
      const settings: Record<string, string> = {};
      before(async () => {
        keys = await generateKeyPair(alg, { extractable: true });
        settings.JWT_PUBLIC_KEY = await exportSPKI(keys.publicKey);
      });
      // The settings object is filled in by the hook above before the server's own before hook reads it.
      const chatlog = useChatlog(sqlite!, settings);

      const sign = (alg: string, key: Parameters<SignJWT['sign']>[0], sub = 'alice') =>
        new SignJWT({}).setProtectedHeader({ alg }).setSubject(sub).setExpirationTime('1h').sign(key);

      it('accepts a token signed with the private key', async () => {
        assert.equal(await syncResult(chatlog().urls[0]!, await sign(alg, keys.privateKey)), 0);
      });

      it('rejects an HS256 token, whatever its secret', async () => {
        assert.equal(await syncResult(chatlog().urls[0]!, await sign('HS256', new TextEncoder().encode(TEST_JWT_SECRET))), -1010);
      });

      it('rejects a subject that is not a uid', async () => {
        assert.equal(await syncResult(chatlog().urls[0]!, await sign(alg, keys.privateKey, 'has space')), -1010);
      });
    });
  }
});
