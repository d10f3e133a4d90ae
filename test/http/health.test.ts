import assert from 'node:assert/strict';
import { describeOnEngines } from '../helpers/engines.js';
import { useChatlog } from '../helpers/server.js';

describeOnEngines('health', (engine) => {
  const chatlog = useChatlog(engine);

  it('answers GET /healthz with 200 and no credentials', async () => {
    const response = await fetch(`${chatlog().urls[0]}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { result: 0, message: 'OK', data: { status: 'ok' } });
  });

  it('returns an X-Request-Id, honouring the one the client sent', async () => {
    const mine = await fetch(`${chatlog().urls[0]}/healthz`, { headers: { 'x-request-id': 'req-123' } });
    assert.equal(mine.headers.get('x-request-id'), 'req-123');
    const fresh = await fetch(`${chatlog().urls[0]}/healthz`);
    assert.match(fresh.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });
});
