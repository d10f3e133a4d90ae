import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { signToken } from '../../src/auth/jwt.js';
import { SocketClient } from '../helpers/ws-client.js';
import { temporaryDir } from '../helpers/temp-dirs.js';

/** These run the server and the token command as a user would, as separate processes. */

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The servers' media files, away from the repository's ./data. */
const mediaDir = temporaryDir('startup-media');

/** Runs a TypeScript script through tsx, or a compiled `.js` one with plain node, as production does. */
function run(script: string, args: string[], env: Record<string, string>): { child: ChildProcess; finished: Promise<Finished> } {
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...loader, script, ...args], {
    env: { PATH: process.env.PATH, MEDIA_DIR: mediaDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const finished = once(child, 'exit').then(([code]) => ({ code: code as number | null, stdout, stderr }));
  return { child, finished };
}

/** The URL the server logs once it listens. */
function listeningUrl(child: ChildProcess): Promise<string> {
  let output = '';
  return new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', () => reject(new Error(`server exited early: ${output}`)));
  });
}

describe('starting the server', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'chatlog-startup-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to start with PORT=eighty, naming the setting', async () => {
    const { code, stderr } = await run('src/main.ts', [], { PORT: 'eighty', DATABASE_URL: `sqlite:${dir}/a.db` }).finished;
    assert.equal(code, 1);
    assert.match(stderr, /PORT must be an integer/);
  });

  it('names every invalid setting at once', async () => {
    const settings = {
      REVOKE_WINDOW: 'soon',
      MAX_MESSAGE_BYTES: '-1',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://x',
      RATE_LIMIT_SENDS: 'lots',
      REDIS_PREFIX: 'has space',
      MAX_UPLOAD_PARTS: '0',
      MEDIA_S3_ENDPOINT: 'ftp://store',
      PUBLIC_URL: 'chat.example.com',
    };
    const { code, stderr } = await run('src/main.ts', [], settings).finished;
    assert.equal(code, 1);
    for (const name of Object.keys(settings)) assert.match(stderr, new RegExp(name));
  });

  it('refuses to start in production without JWT_SECRET', async () => {
    const { code, stderr } = await run('src/main.ts', [], { NODE_ENV: 'production', DATABASE_URL: `sqlite:${dir}/b.db` }).finished;
    assert.equal(code, 1);
    assert.match(stderr, /JWT_SECRET/);
  });

  it('starts on a new SQLite file with the development secret, warns, serves, and on SIGTERM closes sockets with 1001 and exits 0', async () => {
    const { child, finished } = run('src/main.ts', [], { PORT: '0', HOST: '127.0.0.1', DATABASE_URL: `sqlite:${dir}/new/chatlog.db` });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    const url = await listeningUrl(child);
    assert.match(output, /development secret/);

    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { result: 0, message: 'OK', data: { status: 'ok' } });

    const token = (await run('src/auth/token-cli.ts', ['alice'], {}).finished).stdout.trim();
    const sync = await fetch(`${url}/app/record/sync-record`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ count: 10 }),
    });
    assert.equal(((await sync.json()) as { result: number }).result, 0);

    const socket = await SocketClient.connect(url, token);
    await socket.untilReady();
    child.kill('SIGTERM');
    assert.equal((await socket.closed).code, 1001);
    assert.equal((await finished).code, 0);
  });

  it('finishes a request in flight on SIGTERM, refuses new connections, and exits 0', async () => {
    const { child, finished } = run('src/main.ts', [], { PORT: '0', HOST: '127.0.0.1', DATABASE_URL: `sqlite:${dir}/drain.db`, JWT_SECRET: 'drain-secret' });
    const url = await listeningUrl(child);
    const token = await signToken('drain-secret', 'alice');
    const body = JSON.stringify({ channelType: 0, msgId: 'in-flight', targetId: 'bob', msgType: 1, content: { content: 'made it' } });
    // Headers and half the body now, the rest after SIGTERM: the request is in flight when the signal lands.
    const request = httpRequest(`${url}/record/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    const response = once(request, 'response');
    request.write(body.slice(0, 20));
    await new Promise((resolve) => setTimeout(resolve, 200));
    child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await assert.rejects(fetch(`${url}/healthz`), 'a new connection is refused while draining');
    request.end(body.slice(20));
    const [res] = (await response) as [IncomingMessage];
    let text = '';
    for await (const chunk of res) text += chunk;
    assert.equal(res.statusCode, 200);
    assert.equal((JSON.parse(text) as { result: number }).result, 0);
    assert.equal((await finished).code, 0);
  });

  it('runs from the compiled build with plain node (no tsx, no bundler), serving the API and the demo page', async function () {
    this.timeout(120_000);
    const build = spawn('npm', ['run', '-s', 'build'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let buildErrors = '';
    build.stderr.on('data', (chunk) => (buildErrors += chunk));
    const [buildCode] = await once(build, 'exit');
    assert.equal(buildCode, 0, buildErrors);

    const { child, finished } = run('dist/src/main.js', [], {
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:${dir}/compiled.db`,
      JWT_SECRET: 'compiled',
    });
    const url = await listeningUrl(child);
    const token = await signToken('compiled', 'alice');
    const push = await fetch(`${url}/record/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channelType: 0, msgId: 'compiled-1', targetId: 'bob', msgType: 1, content: { content: 'from dist' } }),
    });
    assert.equal(((await push.json()) as { result: number }).result, 0);
    const script = await fetch(`${url}/demo/app.js`);
    assert.equal(script.status, 200);
    assert.match(await script.text(), /ChatlogClient = class/);
    child.kill('SIGTERM');
    assert.equal((await finished).code, 0);
  });

  it('prints a token with npm run token only for a valid uid', async () => {
    const { code, stderr } = await run('src/auth/token-cli.ts', ['has space'], {}).finished;
    assert.equal(code, 2);
    assert.match(stderr, /usage/);
  });

  it('answers npm run token -- --help with its usage, and an option in place of the uid with an error, signing nothing', async () => {
    const help = await run('src/auth/token-cli.ts', ['--help'], {}).finished;
    assert.deepEqual([help.code, help.stdout.startsWith('usage:')], [0, true]);
    const option = await run('src/auth/token-cli.ts', ['--ttl', '1h'], {}).finished;
    assert.deepEqual([option.code, option.stdout], [2, '']);
    const dashed = await run('src/auth/token-cli.ts', ['--', '-ops'], {}).finished;
    assert.deepEqual([dashed.code, dashed.stdout.split('.').length], [0, 3], 'a uid that starts with - after --');
  });
});
