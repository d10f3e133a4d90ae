import assert from 'node:assert/strict';
import { uidOfPublicKey, verifyDtalkSignature } from '../../src/auth/dtalk-signature.js';
import { TestClient } from '../helpers/client.js';
import { DtalkIdentity } from '../helpers/dtalk.js';
import { describeOnEngines } from '../helpers/engines.js';
import { uniqueUid, useChatlog } from '../helpers/server.js';

const VECTOR_PUB = '022db0e08669b30c5dab8c564b428db4944912144088943ec9b690a9046bc8f78b';
const VECTOR_TOKEN = `zrrLQ9FLnpON9s3erkMJ+sug5oviPYcOR04/w4ucC5dVbkjqvuZIFUuGgaKi+5XmDzj2FvxrDIom9dt2Ons6fAE=#1655716335340*dtalk#${VECTOR_PUB}`;

/** A client that authenticates with the FZM-SIGNATURE header instead of a bearer token. */
const signed = (baseUrl: string, token: string) => new TestClient(baseUrl, undefined, { 'FZM-SIGNATURE': token });

describe('dtalk signature verification', () => {
  it("derives the contract's test vector uid from its public key", () => {
    assert.equal(uidOfPublicKey(Buffer.from(VECTOR_PUB, 'hex')), '1AqutxNoVTtcWiVYpBtvficAgea1dYTddR');
  });

  it('accepts the test vector token as validly signed when its time is now, and calls it expired today', () => {
    assert.equal(verifyDtalkSignature(VECTOR_TOKEN, { now: 1655716335340 + 1000 }), '1AqutxNoVTtcWiVYpBtvficAgea1dYTddR');
    assert.throws(() => verifyDtalkSignature(VECTOR_TOKEN), { code: -1011 });
  });

  it('accepts a fresh token signed with a random key, giving its address as uid', () => {
    const identity = new DtalkIdentity();
    assert.equal(verifyDtalkSignature(identity.token()), identity.uid);
    assert.match(identity.uid, /^1[1-9A-HJ-NP-Za-km-z]{25,34}$/);
  });

  it('refuses tokens older than 120 s with -1011', () => {
    const identity = new DtalkIdentity();
    const now = Date.now();
    assert.equal(verifyDtalkSignature(identity.token({ ts: now - 119_000 }), { now }), identity.uid);
    assert.throws(() => verifyDtalkSignature(identity.token({ ts: now - 121_000 }), { now }), { code: -1011 });
  });

  it('accepts a token from a clock running hours fast, and refuses one dated past the allowed skew with -1010', () => {
    const identity = new DtalkIdentity();
    const now = Date.now();
    assert.equal(verifyDtalkSignature(identity.token({ ts: now + 3 * 3_600_000 }), { now }), identity.uid);
    assert.throws(() => verifyDtalkSignature(identity.token({ ts: now + 25 * 3_600_000 }), { now }), { code: -1010, message: /ahead/ });
    assert.throws(() => verifyDtalkSignature(identity.token({ ts: now + 61_000 }), { now, maxSkewMs: 60_000 }), { code: -1010, message: /ahead/ });
  });

  it('accepts an empty appId, as the desktop client signs "<ts>*", and any appId, as the Android client signs random ones', () => {
    const identity = new DtalkIdentity();
    assert.equal(verifyDtalkSignature(identity.token({ appId: '' })), identity.uid);
    assert.equal(verifyDtalkSignature(identity.token({ appId: 'Xq3bZ9aP' })), identity.uid);
  });

  it('ignores parts after the third #, as dtalk did', () => {
    const identity = new DtalkIdentity();
    assert.equal(verifyDtalkSignature(`${identity.token()}#anything#else`), identity.uid);
  });

  const identity = new DtalkIdentity();
  const other = new DtalkIdentity();
  const malformed: Array<[string, string]> = [
    ['a tampered signature', identity.token({ mangle: (s) => Buffer.from(s.map((byte, i) => (i === 5 ? byte ^ 1 : byte))) })],
    ['the wrong public key', identity.token({ publicKeyHex: other.publicKeyHex })],
    ['a recovery id of 4', identity.token({ mangle: (s) => Buffer.from([...s.subarray(0, 64), 4]) })],
    ['malformed base64', `!!not-base64!!#${Date.now()}*dtalk#${identity.publicKeyHex}`],
    ['a 64-byte signature', identity.token({ mangle: (s) => s.subarray(0, 64) })],
    ['a missing public key', identity.token().split('#').slice(0, 2).join('#')],
    ['a missing appId', identity.token().replace('*dtalk', '')],
    ['a missing signature', `#${Date.now()}*dtalk#${identity.publicKeyHex}`],
    ['an uncompressed key', identity.token({ publicKeyHex: `04${'ab'.repeat(64)}` })],
    ['a MOCK token', 'MOCK'],
    ['an empty token', ''],
  ];
  for (const [name, token] of malformed) {
    it(`refuses ${name} with -1010`, () => {
      assert.throws(() => verifyDtalkSignature(token), { code: -1010 });
    });
  }

  it('refuses a high-s signature, valid ECDSA though it is, with -1010', () => {
    // Flipping s to n - s (and the recovery bit) keeps the signature valid but sets the high bit of s.
    const n = BigInt('0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141');
    let token: string | undefined;
    for (let tries = 0; token === undefined; tries++) {
      const candidate = new DtalkIdentity();
      const ts = Date.now();
      const signature = candidate.signature(ts);
      const s = BigInt(`0x${signature.subarray(32, 64).toString('hex')}`);
      const high = Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex');
      if ((high[0]! & 0x80) === 0) continue;
      const flipped = Buffer.concat([signature.subarray(0, 32), high, Buffer.from([signature[64]! ^ 1])]);
      token = `${flipped.toString('base64')}#${ts}*dtalk#${candidate.publicKeyHex}`;
      assert.ok(tries < 20);
    }
    assert.throws(() => verifyDtalkSignature(token!), { code: -1010, message: /high bit of s/ });
  });
});

describeOnEngines('FZM-SIGNATURE on the HTTP API', (engine) => {
  const chatlog = useChatlog(engine, { AUTH_DTALK_SIGNATURE: 'true' });

  it('accepts the FZM-SIGNATURE header beside bearer tokens, the uid being the key address', async () => {
    const identity = new DtalkIdentity();
    const bob = uniqueUid('bob');
    const client = signed(chatlog().urls[0]!, identity.token());
    assert.equal((await client.sendText(bob, 'signed')).result, 0);
    const [record] = await (await chatlog().client(bob)).syncAll();
    assert.equal(record!.common!.from, identity.uid);
    assert.equal((await (await chatlog().client(identity.uid)).sync({ count: 10 })).data.record_count, 1);
  });

  it("answers the contract's expired token with -1011 and a forged one with -1010, with HTTP 200 as dtalk did", async () => {
    const expired = await signed(chatlog().urls[0]!, VECTOR_TOKEN).sync({ count: 1 });
    assert.equal(expired.status, 200);
    assert.equal(expired.result, -1011);
    const forged = await signed(chatlog().urls[0]!, new DtalkIdentity().token({ publicKeyHex: new DtalkIdentity().publicKeyHex })).sync({ count: 1 });
    assert.equal(forged.status, 200);
    assert.equal(forged.result, -1010);
  });
});

describeOnEngines('FZM-SIGNATURE when AUTH_DTALK_SIGNATURE is off', (engine) => {
  const chatlog = useChatlog(engine);

  it('is not accepted', async () => {
    const reply = await signed(chatlog().urls[0]!, new DtalkIdentity().token()).sync({ count: 1 });
    assert.equal(reply.result, -1010);
  });
});
