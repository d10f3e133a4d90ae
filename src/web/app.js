/* global document, location, sessionStorage, fetch, atob, console, TextDecoder, setInterval, clearInterval */
/**
 * The demo page: sign in, send text to a user or a group, watch the stream live, revoke and focus; a
 * conversation list with unread counts, read on opening, and read receipts under one's own messages.
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
const TITLE = 'chatlog demo';
const READ_STATUS_INTERVAL_MS = 3000;

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
  session = {
    uid,
    client,
    subscription: null,
    messages: new Map(),
    groups: new Map(),
    // Conversations (API.md §9), keyed by conversationKey.
    conversations: { list: [], totalUnread: 0 },
    /** The conversation shown in the feed, or null for all of them. */
    open: null,
    /** The newest logId the page holds per conversation, group notices included: what opening it marks read. */
    newest: new Map(),
    /** The read position last asked for per conversation, so that a position is asked for once. */
    readAsked: new Map(),
    /** Per private peer: how far they read, and how far my messages reached one of their devices. */
    peerRead: new Map(),
    delivered: new Map(),
    refreshing: null,
    refreshAgain: false,
    // Nobody is told when others read in a group, so an open group's read counts are asked for now and then.
    readStatusTimer: setInterval(() => refreshReadStatus(), READ_STATUS_INTERVAL_MS),
  };
  $('whoami').textContent = uid;
  show('chat');
  renderGroups(groups);
  subscribe();
  refreshConversations();
}

function signOut(reason) {
  session?.subscription?.close();
  clearInterval(session?.readStatusTimer);
  session = null;
  sessionStorage.removeItem(TOKEN_KEY);
  document.title = TITLE;
  $('messages').replaceChildren();
  $('groups').replaceChildren();
  $('conversations').replaceChildren();
  showAll();
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
  // since 0: the page rebuilds the conversation from the whole stream, then follows it live. A tab is a device, so
  // it acknowledges what it received: the senders of private messages see them delivered.
  current.subscription = current.client.subscribe({
    since: 0,
    ackDelivered: true,
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
    case 'message': {
      const { record } = event;
      const key = keyOfRecord(record);
      if (!session.newest.has(key) || later(record.logId, session.newest.get(key))) session.newest.set(key, record.logId);
      refreshConversations();
      // Group notices (msgType 7) are for dtalk clients; the demo words the group frame of the same change.
      if (record.msgType !== MsgType.Notice) addMessage(record);
      if (key === session.open) {
        markViewed();
        // Whoever sends has read the group up to there.
        if (record.channelType === 1) refreshReadStatus();
      }
      return undefined;
    }
    case 'revoke':
      refreshConversations();
      return markRevoked(event.logId, event.operator);
    case 'focus':
      return markFocused(event.logId, event.uid, event.currentNum);
    case 'read':
      // Mine (this tab or another device): the unread count changed. A private peer's: a read receipt.
      if (event.uid !== session.uid && event.channelType === 0) advance(session.peerRead, event.uid, event.logId);
      return refreshConversations();
    case 'delivered':
      advance(session.delivered, event.uid, event.logId);
      return refreshConversations();
    case 'conversation':
      return refreshConversations();
    case 'group': {
      // Shown now to keep stream order; worded again once the group list (and so the group's name) is fresh.
      const notice = addNotice(groupNotice(event), conversationKey(1, String(event.groupId)));
      refreshConversations();
      return refreshGroups().then(() => {
        if (session) notice.textContent = groupNotice(event);
      });
    }
  }
}

function addMessage(record) {
  const mine = record.fromId === session.uid;
  const key = keyOfRecord(record);
  const item = element('li', { className: `message ${mine ? 'mine' : 'theirs'}` });
  item.dataset.logId = record.logId;
  item.dataset.conversation = key;
  const to = record.channelType === 1 ? `#${groupName(record.targetId)}` : record.targetId;
  const meta = element('div', { className: 'meta' }, [
    element('span', { className: 'from', textContent: mine ? 'you' : record.fromId }),
    element('span', { textContent: `→ ${record.targetId === session.uid ? 'you' : to}` }),
    element('time', { textContent: new Date(record.createTime).toLocaleTimeString() }),
  ]);
  const body = element('div', { className: 'body', textContent: describe(record) });
  const count = element('span', { className: 'focus-count', hidden: true });
  // Under one's own messages: delivered / read (private), read by N (group).
  const receipt = element('span', { className: 'receipt', hidden: true });
  const actions = element('div', { className: 'actions' }, [receipt, count]);
  if (mine) {
    actions.append(actionButton('Revoke', 'revoke', () => session.client.revoke(record.logId, record.channelType)));
  } else {
    actions.append(actionButton('Focus', 'focus', () => session.client.focus(record.logId, record.channelType)));
  }
  item.append(meta, body, actions);
  const entry = { item, body, count, actions, receipt, key, mine, revoked: false, logId: record.logId, channelType: record.channelType, peer: peerOf(record) };
  session.messages.set(record.logId, entry);
  item.hidden = session.open !== null && session.open !== key;
  if (mine && record.channelType === 0) updateReceipt(entry);
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
  entry.revoked = true;
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

function addNotice(text, key) {
  const notice = element('li', { className: 'notice', textContent: text });
  notice.dataset.conversation = key;
  notice.hidden = session.open !== null && session.open !== key;
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
    case MsgType.Notice:
      return '[group notice]';
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
        openConversation(conversationKey(1, group.idStr));
        $('text').focus();
      });
      return element('li', {}, [button]);
    }),
  );
  // The conversation list shows groups by name.
  renderConversations();
}

// Conversations

/** A conversation's key: its type and target, as the server names them (a private peer's uid, a group's id). */
function conversationKey(type, targetId) {
  return `${type}:${targetId}`;
}

function splitKey(key) {
  const colon = key.indexOf(':');
  return { type: Number(key.slice(0, colon)), targetId: key.slice(colon + 1) };
}

/** The other side of a private message (whichever way it went); undefined for a group's. */
function peerOf(record) {
  if (record.channelType === 1) return undefined;
  return record.fromId === session.uid ? record.targetId : record.fromId;
}

function keyOfRecord(record) {
  return record.channelType === 1 ? conversationKey(1, record.targetId) : conversationKey(0, peerOf(record));
}

/** Whether logId `a` comes after `b`: logIds are decimal strings, possibly beyond a double's exact integers. */
function later(a, b) {
  return BigInt(a) > BigInt(b);
}

/** Moves a position in `map` forward to logId (never back), updating the receipts it concerns. */
function advance(map, peer, logId) {
  if (map.has(peer) && !later(logId, map.get(peer))) return;
  map.set(peer, logId);
  for (const entry of session.messages.values()) {
    if (entry.mine && entry.peer === peer) updateReceipt(entry);
  }
}

/** A private message of mine: read once the peer's read position is at or past it, else delivered, else nothing. */
function updateReceipt(entry) {
  if (entry.revoked) return;
  const reached = (map) => map.has(entry.peer) && !later(entry.logId, map.get(entry.peer));
  const state = reached(session.peerRead) ? 'read' : reached(session.delivered) ? 'delivered' : null;
  entry.receipt.hidden = state === null;
  entry.receipt.dataset.state = state ?? '';
  entry.receipt.textContent = state ?? '';
  entry.receipt.title = state === 'read' ? `${entry.peer} read this` : state === 'delivered' ? `on a device of ${entry.peer}` : '';
}

/**
 * Reloads the conversation list. Called for every event that may change it; while a load is running, calls only
 * ask for one more after it, so a burst (the replay at sign-in) costs two loads.
 */
function refreshConversations() {
  const current = session;
  if (current.refreshing) {
    current.refreshAgain = true;
    return current.refreshing;
  }
  current.refreshing = (async () => {
    do {
      current.refreshAgain = false;
      try {
        const list = await loadConversations(current.client);
        if (session !== current) return;
        current.conversations = list;
        for (const conversation of list.list) {
          if (conversation.peerReadLogId !== undefined) advance(current.peerRead, conversation.targetId, conversation.peerReadLogId);
        }
        renderConversations();
      } catch (error) {
        console.warn('chatlog: conversations', error);
      }
    } while (current.refreshAgain && session === current);
    current.refreshing = null;
  })();
  return current.refreshing;
}

/** Every page of the listing, in the server's order (pinned first, then newest activity). */
async function loadConversations(client) {
  const list = [];
  let cursor;
  for (;;) {
    const page = await client.conversations({ count: 100, ...(cursor && { cursor }) });
    list.push(...page.conversations);
    if (page.next_cursor === null) return { list, totalUnread: page.totalUnread };
    cursor = page.next_cursor;
  }
}

function conversationTitle({ type, targetId }) {
  return type === 1 ? `#${groupName(targetId)}` : targetId;
}

function renderConversations() {
  if (!session) return;
  const { list, totalUnread } = session.conversations;
  $('no-conversations').hidden = list.length > 0;
  $('total-unread').hidden = totalUnread === 0;
  $('total-unread').textContent = String(totalUnread);
  document.title = totalUnread > 0 ? `(${totalUnread}) ${TITLE}` : TITLE;
  $('conversations').replaceChildren(
    ...list.map((conversation) => {
      const key = conversationKey(conversation.type, conversation.targetId);
      const last = conversation.lastMessage;
      const preview = last === null ? 'no messages' : `${last.fromId === session.uid ? 'you' : last.fromId}: ${describe(last)}`;
      const badge = element('span', { className: 'badge', textContent: String(conversation.unread), hidden: conversation.unread === 0 });
      badge.title = `${conversation.unread} unread${conversation.mentions > 0 ? `, ${conversation.mentions} mentioning you` : ''}`;
      const mention = element('span', { className: 'mention', textContent: '@', hidden: conversation.mentions === 0, title: 'mentions you' });
      const button = element('button', { type: 'button', className: 'open-conversation' }, [
        element('span', { className: 'title', textContent: conversationTitle(conversation) }),
        element('span', { className: 'counts' }, [mention, badge]),
        element('small', { className: 'preview', textContent: preview }),
      ]);
      button.addEventListener('click', () => openConversation(key));
      const settings = (change) => () => session.client.conversationSettings({ type: conversation.type, targetId: conversation.targetId, ...change });
      const item = element('li', { className: 'conversation' }, [
        button,
        element('div', { className: 'settings' }, [
          actionButton(conversation.pinned ? 'Unpin' : 'Pin', 'pin', settings({ pinned: !conversation.pinned })),
          actionButton(conversation.muted ? 'Unmute' : 'Mute', 'mute', settings({ muted: !conversation.muted })),
        ]),
      ]);
      item.dataset.key = key;
      item.classList.toggle('open', key === session.open);
      item.classList.toggle('muted', conversation.muted);
      item.classList.toggle('pinned', conversation.pinned);
      item.classList.toggle('unread', conversation.unread > 0);
      return item;
    }),
  );
}

/** Shows only one conversation in the feed, points the send form at it and marks it read. */
function openConversation(key) {
  session.open = key;
  const { type, targetId } = splitKey(key);
  setChannel(type);
  $('target').value = targetId;
  $('feed-title').textContent = `Messages · ${conversationTitle({ type, targetId })}`;
  $('show-all').hidden = false;
  filterFeed();
  renderConversations();
  markViewed();
  refreshReadStatus();
}

function showAll() {
  if (session) session.open = null;
  $('feed-title').textContent = 'Messages';
  $('show-all').hidden = true;
  filterFeed();
  renderConversations();
}

function filterFeed() {
  const open = session?.open ?? null;
  for (const item of $('messages').children) item.hidden = open !== null && item.dataset.conversation !== open;
  const list = $('messages');
  list.scrollTop = list.scrollHeight;
}

/** The open conversation, seen: its read position moves to the newest message the page holds of it. */
function markViewed() {
  const current = session;
  const key = current?.open;
  if (!key || document.visibilityState !== 'visible') return;
  const newest = current.newest.get(key);
  if (newest === undefined) return;
  const known = current.conversations.list.find((conversation) => conversationKey(conversation.type, conversation.targetId) === key);
  const asked = current.readAsked.get(key);
  if ((known && !later(newest, known.readLogId)) || (asked !== undefined && !later(newest, asked))) return;
  current.readAsked.set(key, newest);
  const { type, targetId } = splitKey(key);
  // The read event that follows refreshes the list as well; refreshing on the answer does not wait for the socket.
  current.client
    .markRead({ type, targetId, logId: newest })
    .then(() => refreshConversations())
    .catch((error) => {
      if (current.readAsked.get(key) === newest) current.readAsked.delete(key);
      console.warn('chatlog: mark read', error);
    });
}

/** In an open group, "read by N" under my messages (the newest 100), asked for since nobody is told. */
function refreshReadStatus() {
  const current = session;
  const key = current?.open;
  if (!key || splitKey(key).type !== 1 || document.visibilityState !== 'visible') return;
  const entries = [...current.messages.values()].filter((entry) => entry.key === key && entry.mine && !entry.revoked).slice(-100);
  if (entries.length === 0) return;
  current.client
    .readStatus({ type: 1, groupId: splitKey(key).targetId, logIds: entries.map((entry) => entry.logId) })
    .then(({ items }) => {
      for (const { logId, readCount, memberCount } of items) {
        const entry = current.messages.get(logId);
        if (!entry || entry.revoked) continue;
        entry.receipt.hidden = readCount === 0;
        entry.receipt.dataset.state = readCount === memberCount ? 'read' : 'partly';
        entry.receipt.textContent = `read by ${readCount}`;
        entry.receipt.title = `read by ${readCount} of the ${memberCount} other member${memberCount === 1 ? '' : 's'} who were in the group when it was sent`;
      }
    })
    .catch((error) => console.warn('chatlog: read status', error));
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
$('show-all').addEventListener('click', () => showAll());

// A tab in the background reads nothing: what arrived meanwhile is marked read once it is looked at.
document.addEventListener('visibilitychange', () => {
  if (!session) return;
  markViewed();
  refreshReadStatus();
});

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
