// Relay's demo client: plain JavaScript, no build step, no dependencies.
//
// Streams: ONE EventSource per signed-in page, on /api/sse/inbox, carrying
// every conversation of the user: messages of the open one are shown, the
// others count towards their unread badge. The browser's own reconnect
// (which resends Last-Event-ID) covers every drop. A stream replaced by
// hand (token renewed, Reconnect button, a conversation the stream has not
// announced) passes its last cursor as ?lastEventId=, and the server
// replays exactly what was missed, new conversations included.
//
// Every piece of user data reaches the DOM through textContent or
// setAttribute, never as markup.
'use strict';

const $ = (id) => document.getElementById(id);

// el builds an element: attrs are set with setAttribute (className as
// class), children are nodes or strings (as text nodes).
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) node.setAttribute(k === 'className' ? 'class' : k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

const session = {
  me: sessionStorage.getItem('relay.me'),
  token: sessionStorage.getItem('relay.token'),
  dev: sessionStorage.getItem('relay.dev') === '1',
};

let conversations = [];
let open = null; // the open conversation: {conv, channel, msgs, pending, history, reading, readAgain}
// inbox is the page's one stream: {es, lastEventId, opens, ready, count,
// listed, covered}. covered holds the ids of the conversations the stream
// is known to carry; ready is how many it said it had when it started.
let inbox = null;

// ---- HTTP

class APIError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || 'HTTP ' + status);
    this.status = status;
    this.code = body && body.error && body.error.code;
  }
}

async function api(method, path, body) {
  return (await apiResponse(method, path, body)).data;
}

// apiResponse is api with the answer's headers: { data, headers }.
async function apiResponse(method, path, body) {
  const headers = {};
  if (session.token) headers.Authorization = 'Bearer ' + session.token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    if (res.status === 401 && session.token) signOut('Your token was refused: sign in again.');
    throw new APIError(res.status, data);
  }
  return { data, headers: res.headers };
}

// apiAll reads a paged list (GET /api/conversations) to its end: each
// answer is one page, and its Link header's rel="next" target (RFC 8288,
// relative to the page's URL) is the next one; the last page has none.
async function apiAll(path) {
  const items = [];
  let url = new URL(path, location.href);
  for (let pages = 0; url; pages++) {
    if (pages >= 1000) throw new Error('The list has too many pages.');
    const { data, headers } = await apiResponse('GET', url.href);
    items.push(...data);
    const next = /<([^>]*)>\s*;\s*rel="?next"?/.exec(headers.get('Link') || '');
    url = next ? new URL(next[1], url) : null;
  }
  return items;
}

// newClientId makes the idempotency key of a message. crypto.randomUUID
// exists in secure contexts only (https, localhost); getRandomValues
// everywhere.
function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// ---- Signing in

async function devToken(sub) {
  const res = await fetch('/dev/token', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sub }),
  });
  if (res.status === 404) return null; // not in development mode
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new APIError(res.status, data);
  return data.token;
}

// subOf reads the sub claim of a JWT (not verified: the server does that).
function subOf(token) {
  const part = token.split('.')[1] || '';
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
  return JSON.parse(json).sub;
}

async function signIn(event) {
  event.preventDefault();
  const error = $('login-error');
  error.textContent = '';
  const name = $('login-name').value.trim();
  const pasted = $('login-token').value.trim();
  try {
    let token = null;
    let dev = false;
    if (!$('token-field').hidden && pasted) {
      token = pasted;
    } else {
      if (!name) throw new Error('Pick a user id, for example u_alice.');
      token = await devToken(name);
      dev = token !== null;
      if (!dev) {
        $('token-field').hidden = false;
        $('login-token').focus();
        throw new Error('No development tokens here: paste a token.');
      }
    }
    let me;
    try { me = subOf(token); } catch (e) { throw new Error('That is not a JWT.'); }
    session.me = me; session.token = token; session.dev = dev;
    await api('GET', '/api/conversations?limit=1'); // proves the token
    sessionStorage.setItem('relay.me', me);
    sessionStorage.setItem('relay.token', token);
    sessionStorage.setItem('relay.dev', dev ? '1' : '0');
    enterApp();
  } catch (e) {
    if (!error.textContent) error.textContent = e.message;
  }
}

function signOut(reason) {
  closeConversation();
  closeInbox();
  session.me = session.token = null;
  sessionStorage.removeItem('relay.me');
  sessionStorage.removeItem('relay.token');
  sessionStorage.removeItem('relay.dev');
  $('app').hidden = true;
  $('me').hidden = $('sign-out').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = typeof reason === 'string' ? reason : '';
}

function enterApp() {
  $('login').hidden = true;
  $('app').hidden = false;
  $('me').textContent = session.me;
  $('me').hidden = $('sign-out').hidden = false;
  // The list is read once the stream's subscription exists (on ready), so
  // nothing falls between the two.
  connectInbox();
}

// ---- Conversations

function titleOf(conv) {
  if (conv.kind === 'group') return conv.name || conv.id;
  return conv.memberIds.find((m) => m !== session.me) || session.me;
}

function channelOf(conv) { return (conv.kind === 'group' ? 'group:' : 'dm:') + conv.id; }

const byId = (id) => conversations.find((c) => c.id === id);
const byChannel = (channel) => conversations.find((c) => channelOf(c) === channel);

let refreshing = null; // the refresh under way
let refreshAgain = false;
// listNews is what the stream said of membership while a list load was in
// flight: conversation id → the conversation joined, or null once left.
// The answer may have been read before those events: their word wins.
let listNews = null;
let listLoads = 0; // list answers applied, shown as data-loads for tests

// refreshConversations reads the whole list again; calls while one runs
// are folded into one more run after it.
function refreshConversations() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      refreshAgain = false;
      await loadConversations();
    } while (refreshAgain);
  })().finally(() => { refreshing = null; });
  return refreshing;
}

async function loadConversations() {
  const o = inbox;
  const news = new Map();
  listNews = news;
  let answer;
  try {
    // Every page: a member of hundreds of conversations sees them all.
    answer = await apiAll('/api/conversations');
  } catch (e) {
    $('sidebar-error').textContent = e.message;
    return;
  } finally {
    if (listNews === news) listNews = null;
  }
  if (!inbox || inbox !== o) return; // signed out or restarted meanwhile
  const list = answer.filter((conv) => !news.has(conv.id));
  for (const conv of news.values()) if (conv) list.unshift(byId(conv.id) || conv);
  // The stream may have gone further than the answer: keep what it told.
  for (const conv of list) {
    const had = byId(conv.id);
    if (had && had !== conv && had.lastSeq > conv.lastSeq) {
      conv.lastSeq = had.lastSeq;
      conv.unreadCount = had.unreadCount;
    }
    if (had) conv.readSeq = Math.max(conv.readSeq || 0, had.readSeq || 0);
    if (open && open.conv.id === conv.id) conv.unreadCount = 0;
  }
  conversations = list;
  listLoads++;
  $('conversations').dataset.loads = String(listLoads);
  renderConversations();
  coverConversations(answer, list, news);
}

// noteMembership records a join (conv) or a leave (null) told by the
// stream for the list load in flight, if any.
function noteMembership(id, conv) {
  if (listNews) listNews.set(id, conv);
}

// coverConversations makes sure the stream carries every conversation of
// list, the answer merged with news. The first answer after the stream's
// start is what it carries if the counts agree; any other conversation
// (joined since the stream started, and not yet announced on it) makes the
// page resume the stream from its cursor, which replays that
// conversation_added and the messages after it.
function coverConversations(answer, list, news) {
  const first = !inbox.listed;
  inbox.listed = true;
  if (first && answer.length === inbox.count) {
    for (const conv of answer) inbox.covered.add(conv.id);
  }
  for (const [id, conv] of news) {
    if (conv) inbox.covered.add(id);
    else inbox.covered.delete(id);
  }
  const missing = list.filter((conv) => !inbox.covered.has(conv.id));
  if (missing.length === 0) return;
  for (const conv of missing) inbox.covered.add(conv.id);
  connectInbox(inbox.lastEventId);
}

function renderConversations() {
  const list = $('conversations');
  list.replaceChildren(...conversations.map((conv) => {
    const kind = conv.kind === 'group' ? 'group · ' + conv.memberIds.length + ' members' : 'direct message';
    const button = el('button', { type: 'button', className: 'conversation', 'data-testid': 'conversation', 'data-id': conv.id },
      el('span', { className: 'head' }, el('span', { className: 'title' }, titleOf(conv)),
        el('span', { className: 'badge', 'data-testid': 'unread' })),
      el('span', { className: 'kind' }, kind));
    if (open && open.conv.id === conv.id) button.setAttribute('aria-current', 'true');
    button.addEventListener('click', () => openConversation(byId(conv.id) || conv));
    renderBadge(conv, button);
    return el('li', {}, button);
  }));
  $('no-conversations').hidden = conversations.length > 0;
}

// renderBadge shows conv's unread count on its button; data-read-seq is
// the read position the server has confirmed, for tests and the curious.
function renderBadge(conv, button) {
  button = button || document.querySelector('[data-testid=conversation][data-id="' + CSS.escape(conv.id) + '"]');
  if (!button) return;
  const badge = button.querySelector('[data-testid=unread]');
  const n = conv.unreadCount || 0;
  badge.textContent = n > 99 ? '99+' : String(n);
  badge.hidden = n === 0;
  badge.setAttribute('aria-label', n + ' unread');
  button.dataset.readSeq = String(conv.readSeq || 0);
}

// startConversation runs a create call (POST /api/dms or /api/groups) and
// opens what it returns: a new conversation (201) or, for a DM, the
// existing one (200).
async function startConversation(event, call) {
  event.preventDefault();
  $('sidebar-error').textContent = '';
  try {
    const conv = await call();
    conv.kind = conv.id.startsWith('grp_') ? 'group' : 'dm';
    event.target.reset();
    await refreshConversations();
    openConversation(conversations.find((c) => c.id === conv.id) || conv);
  } catch (e) {
    $('sidebar-error').textContent = e.message;
  }
}

function openDM(event) {
  const other = $('dm-user').value.trim();
  startConversation(event, () => api('POST', '/api/dms', { memberIds: [session.me, other] }));
}

function createGroup(event) {
  const memberIds = $('group-members').value.split(/[\s,]+/).filter(Boolean);
  startConversation(event, () => api('POST', '/api/groups', { name: $('group-name').value.trim(), memberIds }));
}

// ---- The open conversation

function openConversation(conv) {
  closeConversation();
  open = { conv, channel: channelOf(conv), msgs: new Map(), pending: new Map(), history: false, reading: false, readAgain: false };
  conv.unreadCount = 0;
  $('chat-title').textContent = titleOf(conv);
  $('messages').replaceChildren();
  $('pending').replaceChildren();
  $('load-older').hidden = true;
  $('message-input').disabled = $('send').disabled = false;
  document.body.classList.add('chat-open');
  renderConversations();
  // History is read once the stream's subscription exists, so nothing
  // falls between the two; the overlap is deduplicated by seq.
  if (inbox && inbox.ready) startHistory(open);
  $('message-input').focus();
}

function startHistory(o) {
  if (o.history) return;
  o.history = true;
  loadHistory(o, '');
}

function closeConversation() {
  open = null;
  $('chat-title').textContent = 'Pick a conversation';
  $('messages').replaceChildren();
  $('pending').replaceChildren();
  $('load-older').hidden = true;
  $('message-input').disabled = $('send').disabled = true;
  document.body.classList.remove('chat-open');
}

// markRead tells the server the last seq the open conversation shows; a
// call while one is under way is folded into one more after it.
async function markRead(o) {
  if (o.reading) {
    o.readAgain = true;
    return;
  }
  o.reading = true;
  try {
    for (;;) {
      o.readAgain = false;
      const seq = o.msgs.size ? Math.max(...o.msgs.keys()) : 0;
      const conv = byId(o.conv.id) || o.conv;
      if (seq > (conv.readSeq || 0)) {
        await api('POST', '/api/conversations/' + encodeURIComponent(o.conv.id) + '/read', { seq });
        const now = byId(o.conv.id) || o.conv;
        now.readSeq = Math.max(now.readSeq || 0, seq);
        if (open === o) now.unreadCount = 0;
        renderBadge(now);
      }
      if (!o.readAgain || open !== o) break;
    }
  } catch (e) {
    if (open === o) $('sidebar-error').textContent = e.message;
  } finally {
    o.reading = false;
  }
}

// ---- The inbox stream

const connectionText = {
  idle: 'No stream', connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', closed: 'Offline',
};

// setConnection shows the stream's state; data-opens counts the stream's
// successful (re)connections, for tests and the curious.
function setConnection(state) {
  const pill = $('conn-state');
  pill.dataset.state = state;
  pill.dataset.opens = inbox ? String(inbox.opens) : '0';
  pill.textContent = connectionText[state];
  $('reconnect').hidden = state !== 'closed';
}

function closeInbox() {
  if (inbox && inbox.es) inbox.es.close();
  inbox = null;
  setConnection('idle');
}

// connectInbox opens the page's stream, replacing the one it has (resumed
// from lastEventId when given).
function connectInbox(lastEventId) {
  if (!inbox) inbox = { es: null, lastEventId: '', opens: 0, ready: false, count: 0, listed: false, covered: new Set() };
  const o = inbox;
  if (o.es) o.es.close();
  let url = '/api/sse/inbox?access_token=' + encodeURIComponent(session.token);
  if (lastEventId) url += '&lastEventId=' + encodeURIComponent(lastEventId);
  const es = new EventSource(url);
  o.es = es;
  const current = () => inbox === o && o.es === es;
  const on = (type, handle) => es.addEventListener(type, (ev) => {
    if (!current()) return;
    if (ev.lastEventId) o.lastEventId = ev.lastEventId;
    handle(ev.data ? JSON.parse(ev.data) : null);
  });
  setConnection('connecting');
  es.onopen = () => {
    if (!current()) return;
    o.opens++;
    setConnection('live');
  };
  // The browser retries by itself while readyState is CONNECTING; CLOSED
  // means it gave up (a 4xx: a bad token).
  es.onerror = () => {
    if (current()) setConnection(es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  };
  on('ready', (data) => {
    if (o.ready) return; // a resumed stream: it replays what was missed
    o.ready = true;
    o.count = data.conversations;
    refreshConversations();
    if (open) startHistory(open);
  });
  on('message', (m) => onMessage(m));
  on('conversation_added', (conv) => {
    o.covered.add(conv.id);
    noteMembership(conv.id, conv);
    if (byId(conv.id)) return;
    if (open && open.conv.id === conv.id) conv.unreadCount = 0;
    conversations.unshift(conv);
    renderConversations();
  });
  on('channel_removed', (data) => onRemoved(data.channel));
  on('read', (data) => onRead(data.channel, data.readSeq));
  es.addEventListener('token_expired', () => {
    if (current()) renewStream(o);
  });
}

// onMessage shows m if its conversation is open, else counts it on the
// conversation's badge: once, as the stream may repeat what the list
// already counted.
function onMessage(m) {
  const conv = byChannel(m.channel);
  const isOpen = open && open.channel === m.channel;
  if (conv && m.seq > (conv.lastSeq || 0)) {
    conv.lastSeq = m.seq;
    if (!isOpen && m.senderId !== session.me && m.seq > (conv.readSeq || 0)) {
      conv.unreadCount = (conv.unreadCount || 0) + 1;
      renderBadge(conv);
    }
  }
  if (isOpen) {
    addMessage(open, m);
    if (open.history) markRead(open);
  }
}

function onRemoved(channel) {
  const conv = byChannel(channel);
  if (inbox && conv) inbox.covered.delete(conv.id);
  noteMembership(channel.slice(channel.indexOf(':') + 1), null);
  conversations = conversations.filter((c) => channelOf(c) !== channel);
  renderConversations();
  if (open && open.channel === channel) {
    $('chat-title').textContent = titleOf(open.conv) + ' (you were removed)';
    $('message-input').disabled = $('send').disabled = true;
  }
}

// onRead moves a badge for a read position set elsewhere (another tab or
// device). Read to the end means no unread; otherwise only the server
// knows which of the rest are others' messages, so the list is read again.
function onRead(channel, readSeq) {
  const conv = byChannel(channel);
  if (!conv || readSeq <= (conv.readSeq || 0)) return;
  conv.readSeq = readSeq;
  if (readSeq >= (conv.lastSeq || 0) || (open && open.conv.id === conv.id)) {
    conv.unreadCount = 0;
    renderBadge(conv);
  } else {
    refreshConversations();
  }
}

// renewStream replaces an ended stream: in development mode with a fresh
// token, otherwise it asks the user to sign in again.
async function renewStream(o) {
  o.es.close();
  if (!session.dev) {
    signOut('Your token expired: sign in again.');
    return;
  }
  try {
    session.token = await devToken(session.me);
    sessionStorage.setItem('relay.token', session.token);
    if (inbox === o) connectInbox(o.lastEventId);
  } catch (e) {
    if (inbox === o) setConnection('closed');
  }
}

const pageSize = 50;

async function loadHistory(o, before) {
  const q = (o.conv.kind === 'group' ? 'groupId=' : 'directMessageId=') + encodeURIComponent(o.conv.id) +
    '&limit=' + pageSize + (before ? '&before=' + before : '');
  try {
    const page = await api('GET', '/api/messages?' + q);
    if (open !== o) return;
    for (const m of page) addMessage(o, m);
    $('load-older').hidden = page.length < pageSize;
    if (!before) markRead(o);
  } catch (e) {
    $('sidebar-error').textContent = e.message;
  }
}

function loadOlder() {
  if (!open || open.msgs.size === 0) return;
  loadHistory(open, Math.min(...open.msgs.keys()));
}

// addMessage shows m once (a channel's seq identifies its message) at its
// place in seq order, whether it came from the stream, the history or the
// answer to our own POST.
function addMessage(o, m) {
  if (open !== o || m.channel !== o.channel || o.msgs.has(m.seq)) return;
  o.msgs.set(m.seq, m);
  const sent = m.clientMessageId && o.pending.get(m.clientMessageId);
  if (sent && m.senderId === session.me) {
    sent.remove();
    o.pending.delete(m.clientMessageId);
  }
  const list = $('messages');
  const stick = nearBottom();
  let after = list.lastElementChild;
  while (after && Number(after.dataset.seq) > m.seq) after = after.previousElementSibling;
  const item = messageItem(m);
  if (after) after.after(item); else list.prepend(item);
  if (stick) scrollToBottom();
}

function messageItem(m) {
  const mine = m.senderId === session.me;
  const time = new Date(m.createdAt);
  return el('li', { className: mine ? 'message mine' : 'message', 'data-testid': 'message', 'data-seq': m.seq, 'data-sender': m.senderId },
    el('div', { className: 'meta' }, el('span', { className: 'sender' }, mine ? 'you' : m.senderId),
      el('time', { datetime: m.createdAt }, time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }))),
    el('div', { className: 'content' }, m.content));
}

function nearBottom() {
  const s = $('scroller');
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

function scrollToBottom() { const s = $('scroller'); s.scrollTop = s.scrollHeight; }

// ---- Sending

function sendMessage(event) {
  event.preventDefault();
  const input = $('message-input');
  const content = input.value.trim();
  if (!open || !content) return;
  input.value = '';
  const body = { content, clientMessageId: newClientId() };
  body[open.conv.kind === 'group' ? 'groupId' : 'directMessageId'] = open.conv.id;
  const item = el('li', { className: 'message mine pending', 'data-testid': 'pending' },
    el('div', { className: 'meta' }, el('span', { className: 'sender' }, 'you'), el('span', { className: 'status' }, 'sending…')),
    el('div', { className: 'content' }, content));
  open.pending.set(body.clientMessageId, item);
  $('pending').append(item);
  scrollToBottom();
  post(open, body, item);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// post sends body, retrying failures that may be transient with the same
// clientMessageId: the server stores the message at most once and answers
// every retry with it.
async function post(o, body, item) {
  const status = item.querySelector('.status');
  for (let attempt = 0; ; attempt++) {
    try {
      addMessage(o, await api('POST', '/api/messages', body));
      return;
    } catch (e) {
      const transient = !(e instanceof APIError) || e.status >= 500;
      if (!transient || attempt >= 3) {
        status.textContent = 'not sent: ' + e.message + ' · ';
        const retry = el('button', { type: 'button', className: 'link' }, 'retry');
        retry.addEventListener('click', () => { status.textContent = 'sending…'; post(o, body, item); });
        status.append(retry);
        return;
      }
      await sleep(500 * 2 ** attempt);
    }
  }
}

// ---- Wiring

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', () => signOut());
  $('refresh').addEventListener('click', refreshConversations);
  $('dm-form').addEventListener('submit', openDM);
  $('group-form').addEventListener('submit', createGroup);
  $('composer').addEventListener('submit', sendMessage);
  $('load-older').addEventListener('click', loadOlder);
  $('back').addEventListener('click', closeConversation);
  $('reconnect').addEventListener('click', () => { if (inbox) connectInbox(inbox.lastEventId); });
  window.addEventListener('focus', () => { if (session.token) refreshConversations(); });
  if (session.token && session.me) enterApp(); else $('login-name').focus();
});
