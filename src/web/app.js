/* global document, location, sessionStorage, fetch, atob, console, TextDecoder */
/**
 * The demo page: sign in, send text to a user or a group, watch the stream live, revoke and focus.
 *
 * Plain JavaScript on purpose (no framework, no build step of its own): the server bundles this file together
 * with the typed client (src/client) when it starts. Everything a user typed or received is put in the page with
 * textContent, never as markup.
 */
import { ChatlogClient, ChatlogError, MsgType } from '../client/index.js';

const $ = (id) => document.getElementById(id);

/** The signed-in session; null while signed out. */
let session = null;

const TOKEN_KEY = 'chatlog-demo-token';

// Sign-in

/** The uid a token is for. Only read for display: the server checks the token on every call. */
function uidOfToken(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const { sub } = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(payload), (c) => c.charCodeAt(0))));
    return typeof sub === 'string' ? sub : null;
  } catch {
    return null;
  }
}

async function devToken(uid) {
  const response = await fetch('/dev/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ uid }) });
  const envelope = await response.json();
  if (envelope.result !== 0) throw new ChatlogError(envelope.result, response.status, envelope.message);
  return envelope.data.token;
}

async function signIn(token) {
  const uid = uidOfToken(token);
  if (!uid) throw new Error('that is not a JWT with a subject (sub)');
  const client = new ChatlogClient({ baseUrl: location.origin, token });
  // One authenticated call first, so that a bad or expired token is said here and not by a socket that keeps failing.
  const groups = await client.groupList();
  sessionStorage.setItem(TOKEN_KEY, token);
  session = { uid, client, subscription: null, messages: new Map(), groups: new Map() };
  $('whoami').textContent = uid;
  show('chat');
  renderGroups(groups);
  subscribe();
}

function signOut(reason) {
  session?.subscription?.close();
  session = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $('messages').replaceChildren();
  $('groups').replaceChildren();
  show('sign-in');
  setStatus('signed-out', 'signed out');
  showError('sign-in-error', reason);
}

function show(panel) {
  $('sign-in').hidden = panel !== 'sign-in';
  $('chat').hidden = panel !== 'chat';
  $('whoami').hidden = $('sign-out').hidden = panel !== 'chat';
}

function setStatus(state, text) {
  $('status').dataset.state = state;
  $('status').textContent = text;
}

function showError(id, error) {
  const element = $(id);
  element.hidden = !error;
  element.textContent = error ? (error instanceof Error ? error.message : String(error)) : '';
}

// The stream

function subscribe() {
  setStatus('connecting', 'connecting');
  const current = session;
  // since 0: the page rebuilds the conversation from the whole stream, then follows it live.
  current.subscription = current.client.subscribe({
    since: 0,
    onEvent: (event) => onEvent(event),
    onReady: () => setStatus('live', 'live'),
    onDisconnect: ({ retryInMs }) => setStatus('reconnecting', `reconnecting in ${Math.ceil(retryInMs / 1000)} s`),
    onError: (error, fatal) => {
      if (fatal) signOut(error);
      else console.warn('chatlog:', error);
    },
  });
}

function onEvent(event) {
  switch (event.type) {
    case 'message':
      // Group notices (msgType 7) are for dtalk clients; the demo words the group frame of the same change.
      if (event.record.msgType === MsgType.Notice) return undefined;
      return addMessage(event.record);
    case 'revoke':
      return markRevoked(event.logId, event.operator);
    case 'focus':
      return markFocused(event.logId, event.uid, event.currentNum);
    case 'group': {
      // Shown now to keep stream order; worded again once the group list (and so the group's name) is fresh.
      const notice = addNotice(groupNotice(event));
      return refreshGroups().then(() => {
        if (session) notice.textContent = groupNotice(event);
      });
    }
  }
}

function addMessage(record) {
  const mine = record.fromId === session.uid;
  const item = element('li', { className: `message ${mine ? 'mine' : 'theirs'}` });
  item.dataset.logId = record.logId;
  const to = record.channelType === 1 ? `#${groupName(record.targetId)}` : record.targetId;
  const meta = element('div', { className: 'meta' }, [
    element('span', { className: 'from', textContent: mine ? 'you' : record.fromId }),
    element('span', { textContent: `→ ${record.targetId === session.uid ? 'you' : to}` }),
    element('time', { textContent: new Date(record.createTime).toLocaleTimeString() }),
  ]);
  const body = element('div', { className: 'body', textContent: describe(record) });
  const count = element('span', { className: 'focus-count', hidden: true });
  const actions = element('div', { className: 'actions' }, [count]);
  if (mine) {
    actions.append(actionButton('Revoke', 'revoke', () => session.client.revoke(record.logId, record.channelType)));
  } else {
    actions.append(actionButton('Focus', 'focus', () => session.client.focus(record.logId, record.channelType)));
  }
  item.append(meta, body, actions);
  session.messages.set(record.logId, { item, body, count, actions });
  append(item);
}

/** A button that calls the server; its answer arrives as an event, only a failure is shown here. */
function actionButton(label, name, act) {
  const button = element('button', { type: 'button', className: name, textContent: label });
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await act();
    } catch (error) {
      button.disabled = false;
      button.title = error.message;
      button.textContent = `${label} (failed: ${error.message})`;
    }
  });
  return button;
}

function markRevoked(logId, operator) {
  const entry = session?.messages.get(logId);
  if (!entry) return; // revoked before this page saw it: the stream no longer holds the message
  entry.item.classList.add('revoked');
  entry.body.textContent = operator === session.uid ? 'You revoked this message' : `Message revoked by ${operator}`;
  entry.actions.replaceChildren();
}

function markFocused(logId, uid, currentNum) {
  const entry = session?.messages.get(logId);
  if (!entry) return;
  entry.count.hidden = false;
  entry.count.textContent = `★ ${currentNum}`;
  entry.count.title = `marked by ${currentNum} user${currentNum === 1 ? '' : 's'}`;
  if (uid === session.uid) {
    const button = entry.actions.querySelector('button.focus');
    if (button) {
      button.disabled = true;
      button.textContent = 'Focused';
    }
  }
}

function addNotice(text) {
  const notice = element('li', { className: 'notice', textContent: text });
  append(notice);
  return notice;
}

function append(item) {
  const list = $('messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(item);
  $('empty').hidden = true;
  if (atBottom) list.scrollTop = list.scrollHeight;
}

/** A line of text for any message type; the demo sends text only, but the stream may hold anything. */
function describe(record) {
  const c = record.content;
  // A body the server cannot read (dtalk clients encrypt end to end) comes as content null and msg.
  if (c === null) return '[encrypted message]';
  switch (record.msgType) {
    case MsgType.Text:
      return c.content ?? '';
    case MsgType.Audio:
      return `[audio, ${c.time ?? 0} s]`;
    case MsgType.Image:
      return `[image] ${c.mediaUrl ?? ''}`;
    case MsgType.Video:
      return `[video] ${c.mediaUrl ?? ''}`;
    case MsgType.File:
      return `[file] ${c.name ?? c.mediaUrl ?? ''}`;
    case MsgType.Card:
      return `[bank card] ${c.bank ?? ''} ${c.name ?? ''}`;
    case MsgType.Forward:
      return `[${(c.items ?? []).length} forwarded messages]`;
    case MsgType.Transfer:
      return `[transfer] ${c.coinName ?? ''}`;
    case MsgType.RedPacket:
      return `[red packet] ${c.remark ?? ''}`;
    case MsgType.ContactCard:
      return `[contact] ${c.name ?? c.id ?? ''}`;
    default:
      return `[message of type ${record.msgType}]`;
  }
}

function groupNotice({ event, groupId, uids, memberType, memberMuteTime }) {
  const who = uids.map((uid) => (uid === session.uid ? 'you' : uid)).join(', ');
  const name = groupName(String(groupId));
  switch (event) {
    case 'join':
      return `${who} joined #${name}`;
    case 'leave':
      return `${who} left #${name}`;
    case 'disband':
      return `#${name} was disbanded`;
    case 'muteTime':
      return `${who} ${memberMuteTime === 0 ? 'may post again' : 'muted'} in #${name}`;
    case 'name':
    case 'avatar':
    case 'joinType':
    case 'friendType':
    case 'muteType':
      return `#${name}: ${event} changed`;
    default:
      return `${who} became ${memberType === 1 ? 'an admin' : memberType === 2 ? 'the owner' : 'a member'} of #${name}`;
  }
}

// Groups

function groupName(id) {
  const group = session.groups.get(String(id));
  return group?.name || String(id);
}

async function refreshGroups() {
  const current = session;
  try {
    const groups = await current.client.groupList();
    if (session === current) renderGroups(groups);
  } catch (error) {
    console.warn('chatlog: group list', error);
  }
}

function renderGroups(groups) {
  session.groups = new Map(groups.map((group) => [group.idStr, group]));
  $('no-groups').hidden = groups.length > 0;
  $('groups').replaceChildren(
    ...groups.map((group) => {
      const button = element('button', { type: 'button' }, [
        element('span', { textContent: group.name || `group ${group.id}` }),
        element('small', { textContent: `#${group.id} · ${group.memberNum} member${group.memberNum === 1 ? '' : 's'}` }),
      ]);
      button.addEventListener('click', () => {
        setChannel(1);
        $('target').value = group.idStr;
        $('text').focus();
      });
      return element('li', {}, [button]);
    }),
  );
}

function setChannel(channel) {
  document.querySelector(`input[name="channel"][value="${channel}"]`).checked = true;
  $('target-label').textContent = channel === 1 ? 'Group id' : 'User id';
  $('target').placeholder = channel === 1 ? 'pick a group below, or its id' : 'bob';
}

// Forms

/** Runs `act` for a submitted form, with its submit button disabled meanwhile and any failure shown in `errorId`. */
function onSubmit(formId, errorId, act) {
  const form = $(formId);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    showError(errorId, null);
    try {
      await act();
    } catch (error) {
      showError(errorId, error);
    } finally {
      button.disabled = false;
    }
  });
}

onSubmit('dev-token-form', 'sign-in-error', async () => signIn(await devToken($('uid').value.trim())));
onSubmit('paste-token-form', 'sign-in-error', () => signIn($('token').value.trim()));

onSubmit('send-form', 'send-error', async () => {
  const channelType = Number(document.querySelector('input[name="channel"]:checked').value);
  const text = $('text').value;
  await session.client.push({ channelType, targetId: $('target').value.trim(), msgType: MsgType.Text, content: { content: text } });
  $('text').value = '';
  $('text').focus();
});

onSubmit('group-form', 'group-error', async () => {
  const memberIds = $('group-members')
    .value.split(/[\s,]+/)
    .filter(Boolean);
  await session.client.createGroup({ name: $('group-name').value.trim(), memberIds });
  $('group-name').value = $('group-members').value = '';
  await refreshGroups();
});

for (const radio of document.querySelectorAll('input[name="channel"]')) {
  radio.addEventListener('change', () => setChannel(Number(radio.value)));
}

$('text').addEventListener('keydown', (event) => {
  // Enter sends, Shift+Enter makes a new line, as in most chat apps.
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    $('send-form').requestSubmit();
  }
});

$('sign-out').addEventListener('click', () => signOut(null));

/** document.createElement with properties and children. */
function element(tag, properties = {}, children = []) {
  const node = Object.assign(document.createElement(tag), properties);
  node.append(...children);
  return node;
}

// A reload keeps the tab signed in (sessionStorage: one user per tab, so two tabs can be two users).
const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) {
  signIn(saved).catch((error) => signOut(error));
}
