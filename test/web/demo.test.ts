import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config.js';
import { temporaryDir } from '../helpers/temp-dirs.js';
import { createServer, type ChatlogServer } from '../../src/server.js';
import { engines } from '../helpers/engines.js';

/** Debian's chromium; playwright-core never downloads a browser of its own. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOT_DIR = 'test-results';

describe('demo page in headless Chromium', function () {
  this.timeout(60_000);
  let server: ChatlogServer | undefined;
  let baseUrl: string;
  let browser: Browser | undefined;
  /** Page errors and console errors (a CSP violation shows up here), per page. */
  const problems: string[] = [];

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      const reason = `${CHROMIUM} is missing (install it with: apt-get update && apt-get install -y chromium)`;
      if (process.env.CHATLOG_REQUIRE_BROWSER === '1') throw new Error(`CHATLOG_REQUIRE_BROWSER=1 but ${reason}`);
      console.log(`  skipping the browser tests: ${reason}`);
      this.skip();
    }
    // No JWT_SECRET: the development secret, so the page can hand out tokens (POST /dev/token).
    const config = { ...loadConfig({ LOG_LEVEL: 'silent', MEDIA_DIR: temporaryDir('media') }), database: await engines[0]!.freshDatabase() };
    assert.equal(config.jwt.usingDevelopmentSecret, true);
    server = await createServer(config);
    baseUrl = (await server.listen(0, '127.0.0.1')).url;
    const page = await fetch(`${baseUrl}/`);
    assert.equal(page.status, 200, 'GET / must serve the demo page: demoRoutes is not wired into src/http/app.ts');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** A browser context of its own (its own sessionStorage) signed in as `uid` with a development token, live. */
  async function signIn(uid: string): Promise<Page> {
    const context = await browser!.newContext({ viewport: { width: 1180, height: 760 } });
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`${uid}: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`${uid}: console: ${message.text()}`);
    });
    await page.goto(`${baseUrl}/`);
    await page.fill('#uid', uid);
    await page.click('#dev-token-form button[type="submit"]');
    await page.locator('#status[data-state="live"]').waitFor();
    assert.equal(await page.textContent('#whoami'), uid);
    return page;
  }

  async function send(page: Page, channel: 'user' | 'group', target: string, text: string): Promise<void> {
    await page.check(`input[name="channel"][value="${channel === 'user' ? 0 : 1}"]`);
    await page.fill('#target', target);
    await page.fill('#text', text);
    await page.click('#send');
  }

  /** The logId of the message showing `text`, once it is on the page. */
  async function logIdOf(page: Page, text: string): Promise<string> {
    const message = page.locator('.message', { hasText: text });
    await message.waitFor();
    return (await message.getAttribute('data-log-id'))!;
  }

  it('lets two users chat live: send, revoke, focus, and a group message', async () => {
    const alice = await signIn('alice');
    const bob = await signIn('bob');

    await send(alice, 'user', 'bob', 'hello bob');
    const hello = await logIdOf(bob, 'hello bob');
    assert.equal(await logIdOf(alice, 'hello bob'), hello, 'the sender sees it too, from the stream');
    assert.equal(await bob.locator(`.message[data-log-id="${hello}"] button.revoke`).count(), 0, 'no revoke on a message of someone else');

    await alice.click(`.message[data-log-id="${hello}"] button.revoke`);
    await bob.locator(`.message.revoked[data-log-id="${hello}"]`).waitFor();
    assert.equal(await bob.textContent(`.message[data-log-id="${hello}"] .body`), 'Message revoked by alice');
    await alice.locator(`.message.revoked[data-log-id="${hello}"]`).waitFor();

    await send(alice, 'user', 'bob', 'please mark this one');
    const marked = await logIdOf(bob, 'please mark this one');
    await bob.click(`.message[data-log-id="${marked}"] button.focus`);
    await alice.locator(`.message[data-log-id="${marked}"] .focus-count`, { hasText: '★ 1' }).waitFor();
    await bob.locator(`.message[data-log-id="${marked}"] button.focus:disabled`, { hasText: 'Focused' }).waitFor();

    await send(bob, 'user', 'alice', 'sure, done');
    await logIdOf(alice, 'sure, done');

    await alice.fill('#group-name', 'team');
    await alice.fill('#group-members', 'bob');
    await alice.click('#group-form button[type="submit"]');
    await alice.click('#groups button >> text=team');
    assert.match(await alice.inputValue('#target'), /^[1-9]\d*$/, 'picking a group fills in its id');
    await alice.fill('#text', 'hi team');
    await alice.click('#send');
    await logIdOf(bob, 'hi team');
    await bob.locator('#groups button', { hasText: 'team' }).waitFor();

    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await alice.screenshot({ path: `${SCREENSHOT_DIR}/demo.png`, fullPage: true });
    await bob.screenshot({ path: `${SCREENSHOT_DIR}/demo-bob.png`, fullPage: true });
    assert.deepEqual(problems, []);
  });

  /** A conversation in the list of `page`: `0:<peer>` or `1:<group id>`. */
  const conversation = (page: Page, key: string) => page.locator(`.conversation[data-key="${key}"]`);
  /** The receipt under the message with that logId. */
  const receipt = (page: Page, logId: string, state: string) => page.locator(`.message[data-log-id="${logId}"] .receipt[data-state="${state}"]`);

  it('lists conversations with unread badges, reads one when it is opened, and shows its sender the receipts', async () => {
    const nina = await signIn('nina');
    const omar = await signIn('omar');

    await send(nina, 'user', 'omar', 'are you there?');
    const first = await logIdOf(nina, 'are you there?');
    const withNina = conversation(omar, '0:nina');
    await withNina.locator('.badge', { hasText: '1' }).waitFor();
    await omar.locator('#total-unread', { hasText: '1' }).waitFor();
    assert.equal(await withNina.locator('.preview').textContent(), 'nina: are you there?');
    await conversation(nina, '0:omar').locator('.preview', { hasText: 'you: are you there?' }).waitFor();
    assert.equal(await conversation(nina, '0:omar').locator('.badge').isHidden(), true, "one's own messages are never unread");
    // omar's tab acknowledges what it receives (ackDelivered): delivered, not read.
    await receipt(nina, first, 'delivered').waitFor();
    assert.equal(await nina.textContent(`.message[data-log-id="${first}"] .receipt`), 'delivered');

    await withNina.locator('button.open-conversation').click();
    assert.equal(await omar.inputValue('#target'), 'nina', 'opening a conversation points the send form at it');
    await withNina.locator('.badge').waitFor({ state: 'hidden' });
    await omar.locator('#total-unread').waitFor({ state: 'hidden' });
    await receipt(nina, first, 'read').waitFor();
    assert.equal(await nina.textContent(`.message[data-log-id="${first}"] .receipt`), 'read');

    // While it is open, what arrives in it is read as it comes.
    await send(nina, 'user', 'omar', 'still there?');
    const second = await logIdOf(omar, 'still there?');
    await receipt(nina, second, 'read').waitFor();
    assert.equal(await withNina.locator('.badge').isHidden(), true);

    // Another conversation keeps its badge, and is not shown in the open one.
    const pia = await signIn('pia');
    await send(pia, 'user', 'omar', 'hi from pia');
    await conversation(omar, '0:pia').locator('.badge', { hasText: '1' }).waitFor();
    assert.equal(await omar.locator('.message', { hasText: 'hi from pia' }).isHidden(), true, 'the feed shows the open conversation only');
    assert.deepEqual(
      await omar.locator('.conversation').evaluateAll((items) => items.map((item) => item.getAttribute('data-key'))),
      ['0:pia', '0:nina'],
      'newest activity first',
    );

    // Muted: the badge stays, the total leaves it out.
    await omar.click('#show-all');
    await omar.locator('.message', { hasText: 'hi from pia' }).waitFor();
    await conversation(omar, '0:pia').locator('button.mute').click();
    await omar.locator('.conversation.muted[data-key="0:pia"]').waitFor();
    await omar.locator('#total-unread').waitFor({ state: 'hidden' });
    assert.equal(await conversation(omar, '0:pia').locator('.badge').textContent(), '1');

    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await omar.screenshot({ path: `${SCREENSHOT_DIR}/demo-conversations.png`, fullPage: true });
    await nina.screenshot({ path: `${SCREENSHOT_DIR}/demo-receipts.png`, fullPage: true });
    await Promise.all([nina, omar, pia].map((page) => page.context().close()));
    assert.deepEqual(problems, []);
  });

  it('shows "read by N" under one\'s own group messages as members open the group', async () => {
    const rita = await signIn('rita');
    const sam = await signIn('sam');
    await rita.fill('#group-name', 'book club');
    await rita.fill('#group-members', 'sam, tom');
    await rita.click('#group-form button[type="submit"]');
    await rita.click('#groups button >> text=book club');
    const groupId = await rita.inputValue('#target');
    await rita.fill('#text', 'chapter one tonight?');
    await rita.click('#send');
    const asked = await logIdOf(rita, 'chapter one tonight?');

    const club = conversation(sam, `1:${groupId}`);
    await club.locator('.badge').waitFor();
    assert.equal(await club.locator('.title').textContent(), '#book club');
    assert.equal(await rita.locator(`.message[data-log-id="${asked}"] .receipt`).isHidden(), true, 'nobody read it yet');

    await club.locator('button.open-conversation').click();
    await club.locator('.badge').waitFor({ state: 'hidden' });
    // tom never opens it: one of the two.
    const readBy = rita.locator(`.message[data-log-id="${asked}"] .receipt`, { hasText: 'read by 1' });
    await readBy.waitFor();
    assert.match((await readBy.getAttribute('title'))!, /of the 2 other members/);

    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await rita.screenshot({ path: `${SCREENSHOT_DIR}/demo-read-by.png`, fullPage: true });
    await Promise.all([rita, sam].map((page) => page.context().close()));
    assert.deepEqual(problems, []);
  });

  it("signs in with a pasted token and refuses a bad one with the server's message", async () => {
    const context = await browser!.newContext();
    const page = await context.newPage();
    await page.goto(`${baseUrl}/`);
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: `${SCREENSHOT_DIR}/demo-sign-in.png` });
    await page.fill('#token', 'not-a-token');
    await page.click('#paste-token-form button[type="submit"]');
    await page.locator('#sign-in-error', { hasText: 'not a JWT' }).waitFor();

    const { data } = (await (
      await fetch(`${baseUrl}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"uid":"carol"}' })
    ).json()) as { data: { token: string } };
    await page.fill('#token', data.token);
    await page.click('#paste-token-form button[type="submit"]');
    await page.locator('#status[data-state="live"]').waitFor();
    assert.equal(await page.textContent('#whoami'), 'carol');
    await page.click('#sign-out');
    await page.locator('#sign-in').waitFor();
    await context.close();
  });
});
