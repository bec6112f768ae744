// trio-chat's page: one WebSocket to /ws speaking the JSON protocol (see the README).
// Everything a peer sent is inserted with textContent, never as HTML.
"use strict";

const MAX_LINES = 2000; // per room or conversation, in memory (older lines load as you scroll up)
const HISTORY_PAGE = 50; // entries asked for at once: older ones, or what a reconnection missed
const NEAR_TOP = 40; // pixels from the top of the messages at which older ones are asked for
// IRCv3's typing spec: "active" at most every 3 s while typing; shown for 6 s after the last.
const TYPING_EVERY = 3000;
const TYPING_PAUSED_AFTER = 6000; // no key pressed for this long: "paused"
const TYPING_SHOWN = 6000;
const READ_EVERY = 2000; // ms between two mark_read: a busy room must not use up our flood allowance
const BACKOFF_FIRST = 1000;
const BACKOFF_MAX = 30000;
const RETRIES_WHEN_TAKEN = 5; // after a reconnect, our old connection may still hold our name

const $ = (id) => document.getElementById(id);
const state = {
  socket: null,
  nick: "",
  account: "", // the account we are logged in to ("": none); the password is never kept
  registered: false,
  leaving: false, // we asked to quit: do not reconnect
  backoff: BACKOFF_FIRST,
  retries: 0,
  views: new Map(), // name -> view; rooms start with '#', conversations are nicknames
  current: null,
  serverOperator: false, // we logged in as a server operator: we run every room
  selected: null, // the member whose actions are shown (an operator's panel), or null
  acting: null, // "member" or "settings": where a refusal of what we just asked is shown
  quietModes: new Set(), // rooms whose modes we asked for ourselves, not to show as a line
  typing: { view: null, state: "done", sentAt: 0, pause: null }, // what we said of our typing
  readAt: 0, // when we last said how far we read (Date.now())
  reading: null, // the timer that will say it, if one is set
};

function newView(name, kind) {
  // members: nick -> away message ("": here); roles: nick -> its roles there, if it has any.
  // modes: the room's flags that are on ("tn"), as its operators see them.
  // History: lines carry their entry's id (the room's order): ids are those shown, newest the
  // latest shown (what a reconnection asks to follow); one history request at a time (asking),
  // the next ones queued; reached: the oldest id an answer held (shown or not); exhausted:
  // nothing older exists. Read markers (ms since the epoch):
  // marker is the account's, dividerAt where "new" starts on screen (undefined: not known yet),
  // readUpTo what this page has shown at the bottom of a visible tab, sentMark what it said.
  // typing: nick -> the timer that stops showing it.
  return {
    name, kind, lines: [], unread: 0, members: new Map(), roles: new Map(), topic: "", modes: "",
    ids: new Set(), newest: 0, reached: Infinity, asking: null, queue: [], exhausted: false, rejoining: false,
    marker: null, dividerAt: undefined, readUpTo: 0, sentMark: 0, typing: new Map(),
  };
}

// Whether we run the room shown: its operator, or a server operator.
function runs(target) {
  if (!target || target.kind !== "room") return false;
  return state.serverOperator || (target.roles.get(state.nick) || []).includes("operator");
}

const MARKS = { operator: "@", voice: "+" }; // the server lists roles highest first

function marked(nick, roles) {
  const highest = roles && roles.length ? MARKS[roles[0]] || "" : "";
  return highest + nick;
}

function view(name, kind = "room") {
  let found = state.views.get(name);
  if (!found) {
    found = newView(name, kind);
    state.views.set(name, found);
    renderViews();
    // A conversation's read marker is the account's: ask where it is (a room's comes on entry).
    if (kind === "private" && state.account) post({ type: "mark_read", nick: name });
  }
  return found;
}

// --- the connection ------------------------------------------------------------------------

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/ws`);
  state.socket = socket;
  setStatus("connecting", "connecting…");
  socket.addEventListener("open", () => {
    const hello = { type: "hello", v: 1, nick: state.nick };
    const rooms = [...state.views.values()].filter((v) => v.kind === "room").map((v) => v.name);
    if (rooms.length) hello.rooms = rooms; // a reconnection: the rooms we were in
    socket.send(JSON.stringify(hello));
  });
  socket.addEventListener("message", (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    handle(event);
  });
  socket.addEventListener("close", (close) => closed(socket, close));
}

function closed(socket, close) {
  if (state.socket !== socket) return;
  state.socket = null;
  const wasRegistered = state.registered;
  state.registered = false;
  for (const each of state.views.values()) {
    each.asking = null; // its answer will not come: the next connection asks again
    each.queue = [];
  }
  if (state.leaving || (!wasRegistered && !state.views.size && state.retries === 0)) {
    setStatus("offline", close.reason ? `disconnected: ${close.reason}` : "disconnected");
    if (!wasRegistered) showLogin();
    return;
  }
  const delay = Math.min(state.backoff, BACKOFF_MAX) * (0.8 + Math.random() * 0.4);
  state.backoff = Math.min(state.backoff * 2, BACKOFF_MAX);
  const why = close.reason ? ` (${close.reason})` : "";
  setStatus("connecting", `connection lost${why}: reconnecting in ${Math.round(delay / 1000)} s`);
  setTimeout(connect, delay);
}

function send(message) {
  if (post(message)) return true;
  system(currentView(), "not connected: try again in a moment", "error");
  return false;
}

// Send what the page says by itself (history, typing, read markers): nothing to say if offline.
function post(message) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN && state.registered) {
    state.socket.send(JSON.stringify(message));
    return true;
  }
  return false;
}

function setStatus(kind, text) {
  const status = $("status");
  status.dataset.state = kind;
  status.textContent = text;
}

// --- events from the server ----------------------------------------------------------------

const SERVICE_TEXTS = {
  unavailable: "chat is unavailable, retrying",
  available: "chat is available again",
  missed: "some messages were missed",
};

// Refusals of what we said: shown by the message field too, where the person is looking.
const SPEAKING_REFUSALS = new Set(["moderated", "muted", "banned_cannot_speak", "account_needed_to_speak", "cannot_send"]);

const LISTS = { b: "bans", e: "ban exceptions", I: "invitations" };

function handle(event) {
  const time = event.time;
  const id = event.id || 0; // a room event's place in the room's order (its history entry)
  switch (event.type) {
    case "registered":
      state.registered = true;
      state.nick = event.nick;
      state.backoff = BACKOFF_FIRST;
      state.retries = 0;
      setStatus("online", `connected as ${event.nick}`);
      showChat();
      // A reconnection: each view asks for exactly what it missed (rooms once re-entered).
      for (const each of state.views.values()) {
        each.rejoining = true;
        if (each.kind === "private" && state.account) catchUp(each);
      }
      break;
    case "room_entered": {
      const room = view(event.room);
      room.members = new Map(event.roster.map((nick) => [nick, ""]));
      room.roles = new Map(Object.entries(event.roles || {}));
      room.topic = event.topic;
      system(room, `you joined ${event.room}`, "system", time);
      markedAt(room, event.read_marker ?? null, false);
      if (room.rejoining) catchUp(room);
      room.rejoining = false;
      if (runs(room)) askModes(room);
      if (!state.current || state.current.kind !== "room" || state.switchTo === event.room) {
        show(room);
      }
      state.switchTo = null;
      renderMembers();
      break;
    }
    case "room_exited":
      forget(event.room);
      break;
    case "joined": {
      const room = view(event.room);
      room.members.set(event.nick, event.away);
      system(room, describe(event), "system", time, id);
      renderMembers();
      break;
    }
    case "parted": {
      const room = view(event.room);
      room.members.delete(event.nick);
      room.roles.delete(event.nick);
      heard(room, event.nick, "done");
      system(room, describe(event), "system", time, id);
      renderMembers();
      break;
    }
    case "said": {
      const own = event.nick === state.nick;
      heard(view(event.room), event.nick, "done"); // a message ends its typing
      line(view(event.room), time, event.nick, event.text, event.notice ? "notice" : "", { id, own });
      if (own) $("say-error").textContent = ""; // we were heard
      break;
    }
    case "emoted":
      heard(view(event.room), event.nick, "done");
      line(view(event.room), time, null, describe(event), "action", { id, own: event.nick === state.nick });
      break;
    case "signalled":
      if (event.nick !== state.nick) heard(view(event.room), event.nick, typingIn(event.tags));
      break;
    case "read_marker": {
      const target = state.views.get(event.target);
      if (target) markedAt(target, event.marker, !event.asked);
      break;
    }
    case "topic_changed": {
      const room = view(event.room);
      room.topic = event.topic;
      system(room, describe(event), "system", time, id);
      renderHead();
      break;
    }
    case "recalled":
      recalled(view(event.room), event.entries, null);
      break;
    case "history_read": {
      // An answer to one of our history requests: in the view it is about, one at a time.
      const target = state.views.get(event.room) || view(event.room, event.room.startsWith("#") ? "room" : "private");
      const asked = target.asking;
      target.asking = null;
      recalled(target, event.entries, asked || { kind: "latest" });
      nextRequest(target);
      break;
    }
    case "modes_changed": {
      const room = view(event.room);
      const ran = runs(room);
      for (const change of event.changes) applyChange(room, change);
      if (!ran && runs(room)) askModes(room); // made an operator: the settings need the modes
      system(room, describe(event), "system", time, id);
      if (event.nick === state.nick) clearActionErrors();
      renderHead();
      renderMembers();
      break;
    }
    case "kicked": {
      if (event.target === state.nick) {
        forget(event.room);
        system(currentView(), describe(event), "error", time);
        break;
      }
      const room = view(event.room);
      room.members.delete(event.target);
      room.roles.delete(event.target);
      if (state.selected === event.target) state.selected = null;
      if (event.nick === state.nick) clearActionErrors();
      heard(room, event.target, "done");
      system(room, describe(event), "system", time, id);
      renderMembers();
      break;
    }
    case "invited": {
      const text = event.target === state.nick
        ? `${event.nick} invites you to ${event.room} (/join ${event.room})`
        : event.nick === state.nick ? `you invited ${event.target} to ${event.room}` : `${event.nick} invited ${event.target} to ${event.room}`;
      system(state.views.get(event.room) || currentView(), text, "system", time);
      break;
    }
    case "modes_are": {
      const room = view(event.room);
      room.modes = event.letters;
      if (state.quietModes.delete(event.room)) {
        renderHead();
        break;
      }
      const settings = [event.key, event.limit ? String(event.limit) : ""].filter(Boolean).join(" ");
      system(room, `modes: ${event.letters ? `+${event.letters}${settings ? ` ${settings}` : ""}` : "none"}`, "system", time);
      renderHead();
      break;
    }
    case "list_is": {
      const masks = event.entries.map((entry) => `${entry.mask} (by ${entry.setter})`);
      const where = state.views.get(event.room) || currentView();
      system(where, masks.length ? `${LISTS[event.mode]} in ${event.room}: ${masks.join(", ")}` : `no ${LISTS[event.mode]} in ${event.room}`, "system", time);
      break;
    }
    case "operator_now":
      state.serverOperator = true;
      system(currentView(), `you are a server operator now (${event.name})`, "system", time);
      renderHead();
      renderMembers();
      break;
    case "wallops":
      system(currentView(), `wallops from ${event.nick}: ${event.text}`, "system", time);
      break;
    case "put_out":
      state.leaving = true; // the server closes: do not come back by ourselves
      system(currentView(), event.reason === "killed"
        ? `${event.by} put you off the server${event.message ? ` (${event.message})` : ""}`
        : `you are banned from this server by ${event.by}${event.message ? ` (${event.message})` : ""}`, "error", time);
      break;
    case "server_ban_changed":
      system(currentView(), event.entry
        ? `banned from the server: ${event.entry.mask} (${event.entry.reason})${event.removed ? `, ${event.removed} put out` : ""}`
        : `the server ban on ${event.lifted} is lifted`, "system", time);
      break;
    case "server_bans":
      system(currentView(), event.entries.length
        ? `server bans: ${event.entries.map((ban) => `${ban.mask} (by ${ban.setter}: ${ban.reason})`).join(", ")}`
        : "no server bans", "system", time);
      break;
    case "room_registered":
      system(state.views.get(event.room) || currentView(), event.dropped
        ? `${event.room} is no longer registered`
        : `${event.room} is registered, to ${event.founder}: it keeps its settings when empty`, "system", time);
      break;
    case "topic_is":
      view(event.room).topic = event.topic;
      system(view(event.room), event.topic ? `topic: ${event.topic}` : "no topic", "system", time);
      renderHead();
      break;
    case "renamed":
      if (event.old === state.nick) state.nick = event.new;
      for (const each of state.views.values()) {
        if (each.members.has(event.old)) {
          each.members.set(event.new, each.members.get(event.old));
          each.members.delete(event.old);
          if (each.roles.has(event.old)) each.roles.set(event.new, each.roles.get(event.old));
          each.roles.delete(event.old);
          heard(each, event.old, "done");
          system(each, describe(event), "system", time, id);
        }
      }
      renderMembers();
      break;
    case "departed":
      for (const each of state.views.values()) {
        each.roles.delete(event.nick);
        heard(each, event.nick, "done");
        if (each.members.delete(event.nick)) {
          system(each, describe(event), "system", time, id);
        }
      }
      renderMembers();
      break;
    case "away_changed":
      for (const each of state.views.values()) {
        if (each.members.has(event.nick)) each.members.set(event.nick, event.message);
      }
      renderMembers();
      break;
    case "private_from": {
      if (event.signal) { // tags alone (typing), no message: shown only where it is open
        const talk = state.views.get(event.sender);
        if (talk) heard(talk, event.sender, typingIn(event.tags || []));
        break;
      }
      const talk = view(event.sender, "private");
      const text = event.action ? `* ${event.sender} ${event.text}` : event.text;
      heard(talk, event.sender, "done");
      line(talk, time, event.action ? null : event.sender, text, "private", { id });
      break;
    }
    case "private_to": {
      if (event.signal) break; // our own typing, told back
      const talk = view(event.recipient, "private");
      const text = event.action ? `* ${state.nick} ${event.text}` : event.text;
      line(talk, time, event.action ? null : state.nick, text, "private", { mine: true, id, own: true });
      break;
    }
    case "is_away":
      system(view(event.nick, "private"), `${event.nick} is away: ${event.message}`, "system", time);
      break;
    case "roster": {
      const room = view(event.room);
      room.members = new Map(event.roster.map((nick) => [nick, event.away.includes(nick) ? "away" : ""]));
      room.roles = new Map(Object.entries(event.roles || {}));
      const shown = event.roster.map((nick) => marked(nick, room.roles.get(nick)));
      system(room, `online (${shown.length}): ${shown.join(", ")}`, "system", time);
      renderMembers();
      break;
    }
    case "room_list":
      system(currentView(), `rooms: ${event.rooms.map((r) => `${r.room} (${r.members})`).join(", ") || "none"}`, "system", time);
      break;
    case "counts":
      system(currentView(), `${event.members} online in ${event.rooms} rooms`, "system", time);
      break;
    case "found":
      for (const member of event.members) {
        const roles = member.roles || {};
        const shown = member.rooms.map((room) => marked(room, roles[room]));
        const rooms = shown.length ? ` in ${shown.join(", ")}` : "";
        const away = member.away ? `, away: ${member.away}` : "";
        const host = member.host ? ` (host ${member.host})` : "";
        // Only a server operator's page is ever sent an address (the server decides).
        const address = member.address ? `, address ${member.address}` : "";
        const operator = member.operator ? ", a server operator" : "";
        const bot = member.bot ? ", a bot" : ""; // it says so itself (IRC's user mode +B)
        system(currentView(), `${member.nick}${host}${rooms}${away}${operator}${bot}${address}`, "system", time);
      }
      if (!event.members.length) system(currentView(), "nobody by that name is online", "system", time);
      break;
    case "refusal":
      refused(event);
      break;
    case "logged_in":
      state.account = event.account;
      $("logout").hidden = false;
      break;
    case "logged_out":
      state.account = "";
      $("logout").hidden = true;
      break;
    case "error":
      system(currentView(), event.text, "error", time);
      break;
    case "goodbye":
      state.leaving = true;
      break;
    case "shutting_down":
      system(currentView(), "the server is shutting down", "error", time);
      break;
    case "service_changed":
      system(currentView(), SERVICE_TEXTS[event.status], event.status === "unavailable" ? "error" : "system", time);
      break;
  }
}

// Entries of a room's (or a conversation's) past, each put in its place by id, once, with its
// date: after a welcome (asked null), older ones as the page is scrolled up, what a
// reconnection missed (again after the last of an answer while answers are full), or /history.
function recalled(target, entries, asked) {
  if (!entries.length && !asked && !target.ids.size) {
    system(target, "nothing said here yet", "system");
    return;
  }
  const list = $("messages");
  const height = list.scrollHeight;
  const fromTop = list.scrollTop;
  const older = asked && asked.kind === "before";
  for (const { id, time, event } of entries) {
    if (event.type === "signalled") continue; // a kept reaction: nothing to show as a line
    const date = new Date(time * 1000).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
    const author = event.type === "private_from" ? event.sender : event.nick;
    const nick = event.type === "said" || event.type === "private_from" ? author : null;
    const text = nick ? event.text : describe(event);
    line(target, time, nick, text, "history", { mine: true, stamp: date, id, own: author === state.nick, older, recalled: true });
  }
  if (older && target === state.current) {
    list.scrollTop = fromTop + list.scrollHeight - height; // what was on screen stays there
  }
  if (older && entries.length) target.reached = Math.min(target.reached, entries[0].id);
  if (older && entries.length < asked.count) target.exhausted = true;
  if (asked && asked.kind === "after" && entries.length >= asked.count) {
    ask(target, { kind: "after", after: entries[entries.length - 1].id }); // more were missed
  }
  if (target === state.current) fillScreen();
}

function catchingUp(target) {
  return target.asking?.kind === "after" || target.queue.some((request) => request.kind === "after");
}

// Ask for what a reconnection missed: everything after the last entry shown, before anything
// live of the new connection (which follows its welcome), however long we were away.
function catchUp(target) {
  if (target.newest) ask(target, { kind: "after", after: target.newest });
}

// Scrolled to the top (or not enough lines to scroll): ask for the entries before the oldest.
function loadOlder(target) {
  if (target.exhausted || target.lines.length >= MAX_LINES) return;
  if (target.kind === "private" && !state.account) return; // kept for accounts only
  if (target.asking?.kind === "before" || target.queue.some((request) => request.kind === "before")) return;
  const oldest = target.lines.find((item) => item.id);
  if (oldest) ask(target, { kind: "before" });
}

function fillScreen() {
  const list = $("messages");
  if (state.current && list.scrollTop < NEAR_TOP) loadOlder(state.current);
}

// One history request per view at a time: its answer says only what it is about.
function ask(target, request) {
  target.queue.push(request);
  nextRequest(target);
}

function nextRequest(target) {
  if (target.asking || !target.queue.length || !state.registered) return;
  const request = target.queue.shift();
  const message = { type: "history", count: request.count || HISTORY_PAGE };
  message[target.kind === "room" ? "room" : "nick"] = target.name;
  if (request.kind === "after") message.after = request.after;
  if (request.kind === "before") {
    const oldest = target.lines.find((item) => item.id);
    if (!oldest) return nextRequest(target);
    // As it is now: what came back since is older still (even what was not shown as a line).
    message.before = Math.min(oldest.id, target.reached);
  }
  if (post(message)) target.asking = { ...request, count: message.count };
}

// How an event reads in a room, live or recalled from its history.
function describe(event) {
  switch (event.type) {
    case "emoted": return `* ${event.nick} ${event.text}`;
    case "joined": return `${event.nick} joined`;
    case "parted": return `${event.nick} left${event.message ? ` (${event.message})` : ""}`;
    case "topic_changed": return event.topic ? `${event.nick} set the topic: ${event.topic}` : `${event.nick} cleared the topic`;
    case "renamed": return `${event.old} is now ${event.new}`;
    case "departed": return `${event.nick} left (${event.message || event.reason})`;
    case "modes_changed": return `${event.nick} ${event.changes.map(phrase).join(", ")}`;
    case "kicked": {
      const who = event.target === state.nick ? "you" : event.target;
      return `${event.nick} kicked ${who} out of ${event.room}${event.reason ? ` (${event.reason})` : ""}`;
    }
    default: return event.type;
  }
}

// One mode change in words: "muted *!*@k5x.ip", "made bob an operator", "set +l 50".
function phrase({ mode, on, argument }) {
  const muted = argument.startsWith("m:");
  const words = {
    o: on ? `made ${argument} an operator` : `took operator from ${argument}`,
    v: on ? `gave voice to ${argument}` : `took voice from ${argument}`,
    b: muted ? (on ? `muted ${argument.slice(2)}` : `unmuted ${argument.slice(2)}`) : on ? `banned ${argument}` : `lifted the ban on ${argument}`,
    t: on ? "locked the topic (+t)" : "unlocked the topic (-t)",
    m: on ? "made the room moderated (+m)" : "ended moderation (-m)",
    i: on ? "made the room invite-only (+i)" : "opened the room to all (-i)",
    s: on ? "made the room secret (+s)" : "made the room public (-s)",
    k: on ? "set a key to join (+k)" : "removed the key (-k)",
    l: on ? `limited the room to ${argument} members (+l)` : "removed the member limit (-l)",
  }[mode];
  return words || `set ${on ? "+" : "-"}${mode}${argument ? ` ${argument}` : ""}`;
}

// Keep what we know of a room up to date: its members' roles, and its flags.
function applyChange(room, { mode, on, argument }) {
  const role = { o: "operator", v: "voice" }[mode];
  if (role) {
    const roles = (room.roles.get(argument) || []).filter((r) => r !== role);
    if (on) roles.push(role);
    roles.sort((a, b) => (a === "operator" ? -1 : b === "operator" ? 1 : 0)); // highest first
    if (roles.length) room.roles.set(argument, roles);
    else room.roles.delete(argument);
  } else if (!"bkleI".includes(mode)) {
    room.modes = on ? (room.modes.includes(mode) ? room.modes : room.modes + mode) : room.modes.replace(mode, "");
  }
}

// Ask for a room's modes for the settings an operator sees, without a line in the room.
function askModes(room) {
  state.quietModes.add(room.name);
  send({ type: "mode", room: room.name });
}

function clearActionErrors() {
  state.acting = null;
  $("action-error").textContent = "";
  $("settings-error").textContent = "";
}

function refused(event) {
  const about = event.subject && state.views.get(event.subject);
  if (about && about.asking && event.reason.startsWith("history_")) {
    // That request failed (the next one may not); not ours to read: never ask again.
    if (event.reason !== "history_unavailable") about.exhausted = true;
    about.asking = null;
    nextRequest(about);
  }
  if (state.registered) {
    // In place: in the room it is about, by the field that asked, by the message field.
    const room = event.subject && state.views.get(event.subject);
    system(room || currentView(), event.text, "error", event.time);
    if (SPEAKING_REFUSALS.has(event.reason)) {
      $("say-error").textContent = event.text;
    } else if (state.acting === "member") {
      $("action-error").textContent = event.text;
    } else if (state.acting === "settings") {
      $("settings-error").textContent = event.text;
    }
    return;
  }
  if (event.reason === "nick_taken" && state.views.size && state.retries < RETRIES_WHEN_TAKEN) {
    state.retries += 1; // our previous connection has not been noticed gone yet
    state.socket.close();
    return;
  }
  state.retries = 0;
  state.views.clear();
  if (event.reason === "nick_registered" || event.reason === "nick_looks_registered") {
    showPassword(); // the name is an account's: its password, please
  }
  showLogin(event.text);
}

// --- accounts: a ticket in an HttpOnly cookie keeps us logged in, never the password --------

function showPassword() {
  $("password-row").hidden = false;
  $("password").focus();
}

async function logIn(path) {
  const password = $("password").value;
  $("password").value = ""; // not kept on the page, whatever happens next
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ account: state.nick, password }),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const text = answer.refusal ? answer.refusal.text : answer.error ? answer.error.text : "refused";
    showLogin(text);
    return;
  }
  state.account = answer.account;
  $("password-row").hidden = true;
  connect(); // the cookie now rides along with the WebSocket's upgrade
}

async function logOut() {
  await fetch("/session", { method: "DELETE" });
  state.account = "";
  state.leaving = true;
  send({ type: "quit", message: "" });
  if (state.socket) state.socket.close();
  $("logout").hidden = true;
  state.views.clear();
  showLogin();
}

// --- what is on screen ---------------------------------------------------------------------

function currentView() {
  return state.current || view("#lobby");
}

// Show a line. One with an id (a room event, or an entry of its history) goes in its place in
// the room's order, once: live, recalled after a welcome, loaded as older, or missed while away.
function line(target, time, nick, text, kind = "", { mine = false, stamp = null, id = 0, own = false, older = false, recalled = false } = {}) {
  if (id && target.ids.has(id)) return; // shown already
  const item = { time, nick, text, kind, stamp, id, own };
  const at = id ? placeOf(target, id) : target.lines.length;
  target.lines.splice(at, 0, item);
  if (id) {
    target.ids.add(id);
    target.newest = Math.max(target.newest, id);
  }
  let dropped = 0;
  while (target.lines.length > MAX_LINES) {
    target.ids.delete(target.lines.shift().id);
    dropped += 1;
  }
  if (target === state.current) {
    const list = $("messages");
    const reading = seen(list) && !list.querySelector(".first-unread");
    placeLine(item, at, older);
    for (; dropped > 0; dropped -= 1) list.firstElementChild.remove();
    // An entry that comes live and is read as it comes (nothing unread above it): "new" starts
    // after it. Not while a reconnection's missed entries, older than it, are on their way.
    if (reading && id && !recalled && !catchingUp(target)) {
      target.dividerAt = Math.max(target.dividerAt ?? 0, Math.round(time * 1000));
    }
    renderDivider();
    readSoon();
  } else if (!mine) {
    // What we said ourselves (or history) is never unread: the sidebar changes only here.
    target.unread += 1;
    renderViews();
  }
}

// Where a line with this id goes: before the first later one after the last earlier one.
function placeOf(target, id) {
  let at = target.lines.length;
  for (let i = target.lines.length - 1; i >= 0; i -= 1) {
    const other = target.lines[i].id;
    if (other && other < id) break;
    if (other) at = i;
  }
  return at;
}

function system(target, text, kind = "system", time = Date.now() / 1000, id = 0) {
  line(target, time, null, text, kind, { id });
}

function atBottom(list) {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
}

// Whether the newest lines of the view shown are being read: the tab is seen, at the bottom.
function seen(list) {
  return document.visibilityState === "visible" && atBottom(list);
}

function placeLine(item, at, older = false) {
  const list = $("messages");
  const bottom = atBottom(list) && !older;
  const entry = renderLine(item);
  const next = list.children[at] || null;
  const above = next && next.getBoundingClientRect().top < list.getBoundingClientRect().top;
  const height = list.scrollHeight;
  list.insertBefore(entry, next);
  if (bottom) list.scrollTop = list.scrollHeight;
  else if (above && !older) list.scrollTop += list.scrollHeight - height; // what was on screen stays
}

function renderLine(item) {
  const entry = document.createElement("li");
  if (item.kind) entry.className = item.kind;
  const stamp = document.createElement("time");
  const date = new Date(item.time * 1000);
  stamp.dateTime = date.toISOString();
  stamp.textContent = item.stamp || date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  entry.append(stamp);
  if (item.nick) {
    const who = document.createElement("span");
    who.className = "nick";
    who.textContent = item.nick;
    who.style.color = colour(item.nick);
    entry.append(who);
  }
  entry.append(document.createTextNode(item.text));
  return entry;
}

// The first line newer than where "new" starts (not ours) is marked: a divider above it.
function renderDivider() {
  const list = $("messages");
  for (const old of list.querySelectorAll(".first-unread")) old.classList.remove("first-unread");
  const target = state.current;
  if (!target || target.dividerAt == null) return;
  const at = target.lines.findIndex((item) => item.id && !item.own && Math.round(item.time * 1000) > target.dividerAt);
  if (at >= 0 && list.children[at]) list.children[at].classList.add("first-unread");
}

// The account's marker moved (asked: the answer to ours; otherwise another page of the account
// read further, or it came with the room's welcome).
function markedAt(target, marker, elsewhere) {
  if (marker != null) target.marker = Math.max(target.marker ?? 0, marker);
  // Where "new" starts moves only when nobody is reading here, or the account read it elsewhere.
  if (target.dividerAt == null || elsewhere || target !== state.current || !seen($("messages"))) {
    target.dividerAt = target.marker;
  }
  if (target === state.current) renderDivider();
}

// The view shown is seen at its bottom: what it shows is read, up to its newest entry. Say so
// soon: at once if we have not said it for a while, else once per READ_EVERY.
function readSoon() {
  const target = state.current;
  if (!target || !seen($("messages"))) return;
  const newest = target.lines.findLast((item) => item.id);
  if (newest) target.readUpTo = Math.max(target.readUpTo, Math.round(newest.time * 1000));
  if (state.reading) return;
  const wait = Math.max(0, state.readAt + READ_EVERY - Date.now());
  state.reading = setTimeout(() => {
    state.reading = null;
    for (const each of state.views.values()) sayRead(each);
  }, wait);
}

function sayRead(target) {
  const time = target.readUpTo;
  if (time <= Math.max(target.marker ?? 0, target.sentMark)) return;
  const where = target.kind === "room" ? { room: target.name } : { nick: target.name };
  if (post({ type: "mark_read", ...where, time })) {
    target.sentMark = time;
    state.readAt = Date.now();
  }
}

// Leaving a view (or the tab): what was read there is no longer "new" when we come back.
function leave(target) {
  if (!target) return;
  sayRead(target); // now: what it read must not wait for a timer
  target.dividerAt = Math.max(target.marker ?? 0, target.readUpTo) || null;
}

// --- who is typing -------------------------------------------------------------------------

function typingIn(tags) {
  const tag = tags.find(([key]) => key === "+typing");
  return tag ? tag[1] : "done";
}

// ``nick`` says it is typing in ``target`` ("active"), or not any more ("paused", "done").
function heard(target, nick, how) {
  clearTimeout(target.typing.get(nick));
  target.typing.delete(nick);
  if (how === "active") {
    target.typing.set(nick, setTimeout(() => heard(target, nick, "done"), TYPING_SHOWN));
  }
  if (target === state.current) renderTyping();
}

function renderTyping() {
  const names = state.current ? [...state.current.typing.keys()].sort() : [];
  $("typing").textContent =
    names.length === 0 ? "" :
    names.length === 1 ? `${names[0]} is typing…` :
    names.length === 2 ? `${names[0]} and ${names[1]} are typing…` : "several people are typing…";
}

// What we type: "active" at most every TYPING_EVERY, "paused" after a while, "done" once the
// field is empty (a message sent says it by itself). Commands are not messages being typed.
function typed() {
  const text = $("say").value;
  const target = currentView();
  const typing = state.typing;
  if (!text.trim() || (text.startsWith("/") && !text.startsWith("//"))) {
    stopTyping("done");
    return;
  }
  if (typing.view !== target) stopTyping("done");
  const now = Date.now();
  if (typing.state !== "active" || now - typing.sentAt >= TYPING_EVERY) {
    if (tellTyping(target, "active")) typing.sentAt = now;
  }
  typing.view = target;
  typing.state = "active";
  clearTimeout(typing.pause);
  typing.pause = setTimeout(() => stopTyping("paused"), TYPING_PAUSED_AFTER);
}

function stopTyping(how) {
  const typing = state.typing;
  clearTimeout(typing.pause);
  if (typing.view && typing.state !== how && typing.state !== "done") tellTyping(typing.view, how);
  typing.state = how;
  if (how === "done") typing.view = null;
}

function tellTyping(target, how) {
  const where = target.kind === "room" ? { room: target.name } : { nick: target.name };
  return post({ type: "typing", ...where, state: how });
}

function colour(nick) {
  let hash = 0;
  for (const char of nick) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return `hsl(${hash % 360}, 65%, 32%)`;
}

function show(target) {
  if (state.current !== target) {
    state.selected = null;
    leave(state.current);
  }
  state.current = target;
  target.unread = 0;
  const list = $("messages");
  list.replaceChildren(...target.lines.map(renderLine));
  list.scrollTop = list.scrollHeight;
  renderDivider();
  renderTyping();
  renderViews();
  renderHead();
  renderMembers();
  readSoon();
  fillScreen();
}

function forget(name) {
  const gone = state.views.get(name);
  if (gone) for (const timer of gone.typing.values()) clearTimeout(timer);
  state.views.delete(name);
  state.quietModes.delete(name);
  if (state.current && state.current.name === name) state.selected = null;
  if (state.current && state.current.name === name) {
    const next = state.views.values().next();
    if (next.done) {
      state.current = null;
      $("messages").replaceChildren();
      renderHead();
      renderMembers();
    } else {
      show(next.value);
    }
  }
  renderViews();
}

function renderViews() {
  const list = $("views");
  list.replaceChildren();
  for (const each of state.views.values()) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.view = each.name;
    button.setAttribute("aria-current", each === state.current ? "true" : "false");
    const label = document.createElement("span");
    label.textContent = each.kind === "room" ? each.name : `@ ${each.name}`;
    button.append(label);
    if (each.unread) {
      const badge = document.createElement("span");
      badge.className = "unread";
      badge.textContent = String(each.unread);
      badge.setAttribute("aria-label", `${each.unread} unread`);
      button.append(badge);
    }
    button.addEventListener("click", () => {
      show(each);
      $("say").focus();
    });
    item.append(button);
    list.append(item);
  }
}

function renderHead() {
  const current = state.current;
  $("room-title").textContent = current ? (current.kind === "room" ? current.name : `@ ${current.name}`) : "";
  $("topic").textContent = current ? current.topic : "";
  $("part").hidden = !current;
  $("part").textContent = current && current.kind === "room" ? "Leave" : "Close";
  // An operator's settings: the room's flags as checkboxes, any other mode as text.
  $("room-settings").hidden = !runs(current);
  for (const box of document.querySelectorAll("#room-flags input")) {
    box.checked = Boolean(current && current.modes.includes(box.dataset.mode));
  }
}

function renderMembers() {
  const list = $("members");
  list.replaceChildren();
  const current = state.current;
  const members = current && current.kind === "room" ? [...current.members.entries()] : [];
  members.sort(([a], [b]) => a.localeCompare(b));
  for (const [nick, away] of members) {
    const item = document.createElement("li");
    const roles = current.roles.get(nick) || [];
    if (roles.length) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = MARKS[roles[0]] || "";
      badge.title = roles.join(", ");
      item.append(badge);
    }
    // An operator's members are buttons: each opens the actions on that member.
    const name = document.createElement(runs(current) ? "button" : "span");
    if (runs(current)) {
      name.type = "button";
      name.className = "member";
      name.dataset.nick = nick;
      name.setAttribute("aria-label", `${nick}: actions`);
      name.addEventListener("click", () => {
        state.selected = nick;
        clearActionErrors();
        renderMembers();
        $("action-reason").focus();
      });
    }
    name.textContent = nick;
    name.style.color = colour(nick);
    item.append(name);
    if (away) {
      item.className = "away";
      item.title = `away: ${away}`;
    }
    list.append(item);
  }
  $("member-count").textContent = members.length ? `(${members.length})` : "";
  renderActions();
}

function renderActions() {
  const current = state.current;
  const panel = $("member-actions");
  const nick = state.selected;
  panel.hidden = !(nick && runs(current) && current.members.has(nick));
  if (panel.hidden) return;
  panel.dataset.nick = nick;
  $("member-actions-title").textContent = `${marked(nick, current.roles.get(nick))}`;
  const roles = current.roles.get(nick) || [];
  // What can be done: what would change something (mute and unmute: the server knows).
  const shown = { op: !roles.includes("operator"), deop: roles.includes("operator"), voice: !roles.includes("voice"), devoice: roles.includes("voice") };
  for (const button of panel.querySelectorAll("button[data-action]")) {
    button.hidden = shown[button.dataset.action] === false;
  }
}

// What an operator's buttons send: the same messages as the typed commands.
function act(action, nick, room, reason) {
  switch (action) {
    case "op": return send({ type: "mode", room, modes: `+o ${nick}` });
    case "deop": return send({ type: "mode", room, modes: `-o ${nick}` });
    case "voice": return send({ type: "mode", room, modes: `+v ${nick}` });
    case "devoice": return send({ type: "mode", room, modes: `-v ${nick}` });
    case "mute": return send({ type: "mute", room, target: nick });
    case "unmute": return send({ type: "unmute", room, target: nick });
    case "kick": return send({ type: "kick", room, nick, reason });
    case "ban": return send({ type: "ban", room, target: nick, reason });
  }
  return false;
}

function showLogin(error = "") {
  $("chat").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = error;
  $("nick").focus();
}

function showChat() {
  $("login").hidden = true;
  $("chat").hidden = false;
  $("say").focus();
}

// --- what the user types -------------------------------------------------------------------

function submitLine(text) {
  const current = currentView();
  const room = current.kind === "room" ? current.name : undefined;
  if (!text.startsWith("/") || text.startsWith("//")) {
    const said = text.startsWith("//") ? text.slice(1) : text;
    if (current.kind === "private") return send({ type: "msg", to: current.name, text: said });
    return send({ type: "say", room, text: said });
  }
  const [command, ...rest] = text.slice(1).split(" ");
  const argument = rest.join(" ").trim();
  switch (command.toLowerCase()) {
    case "me":
      if (current.kind === "private") return send({ type: "msg", to: current.name, text: argument, action: true });
      return send({ type: "me", room, text: argument });
    case "msg": {
      const [to, ...words] = argument.split(" ");
      view(to, "private");
      return send({ type: "msg", to, text: words.join(" ") });
    }
    case "join": {
      const [name, key] = rest.filter(Boolean);
      state.switchTo = name;
      return send(key ? { type: "join", room: name, key } : { type: "join", room: name });
    }
    case "part":
      return send({ type: "part", room, message: argument });
    case "nick":
      return send({ type: "nick", nick: argument });
    case "topic":
      return send(argument ? { type: "topic", room, topic: argument } : { type: "topic", room });
    case "away":
      return send({ type: "away", message: argument });
    case "rooms":
      return send({ type: "rooms" });
    case "who":
      return send({ type: "who", room: argument || room });
    case "whois":
      return send({ type: "whois", nick: argument });
    case "history":
      ask(current, { kind: "latest", count: Math.min(Number(argument) || HISTORY_PAGE, 1000) });
      return true;
    case "quit":
      return send({ type: "quit", message: argument });
    // Running a room: /op bob, /kick bob reason, /ban bob|mask reason, /mode +m, ...
    case "op": case "deop": case "voice": case "devoice": case "mute": case "unmute": case "kick": case "ban": {
      const [nick, ...why] = rest.filter(Boolean);
      if (!nick) break;
      return act(command.toLowerCase(), nick, room, why.join(" "));
    }
    case "unban":
      if (!argument) break;
      return send({ type: "unban", room, target: argument });
    case "mode":
      return send({ type: "mode", room, modes: argument });
    case "invite": {
      const [nick, where] = rest.filter(Boolean);
      if (!nick) break;
      return send({ type: "invite", nick, room: where || room });
    }
    case "oper": {
      const [name, ...password] = rest;
      return send({ type: "oper", name: name || "", password: password.join(" ") });
    }
    case "kill": {
      const [nick, ...why] = rest.filter(Boolean);
      return send({ type: "kill", nick: nick || "", reason: why.join(" ") });
    }
    case "wallops":
      return send({ type: "wallops", text: argument });
  }
  system(current, "commands: /me, /msg nick text, /join #room [key], /part, /nick, /topic, /away, /rooms, /who, /whois, /history [N], /quit; operators: /op, /deop, /voice, /devoice, /kick nick [reason], /ban nick|mask [reason], /unban mask, /mute, /unmute, /mode [+-modes], /invite nick; /oper name password, /kill, /wallops", "system");
  return true;
}

document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    state.nick = $("nick").value.trim();
    state.leaving = false;
    $("login-error").textContent = "";
    if (state.socket) state.socket.close();
    if ($("password").value) logIn("/session");
    else connect();
  });
  $("register").addEventListener("click", () => {
    state.nick = $("nick").value.trim();
    state.leaving = false;
    if (!state.nick) return showLogin("a nickname first, then a password for it");
    if ($("password-row").hidden || !$("password").value) {
      showPassword();
      return showLogin(`choose a password for ${state.nick}`);
    }
    logIn("/account");
  });
  $("logout").addEventListener("click", logOut);
  $("say-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("say");
    const text = input.value;
    if (text.trim() && submitLine(text)) {
      input.value = "";
      clearTimeout(state.typing.pause);
      state.typing.state = "done"; // the message itself ends our typing, for everyone
      state.typing.view = null;
    }
  });
  $("join-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("join-room");
    let name = input.value.trim();
    if (!name) return;
    if (!name.startsWith("#")) name = `#${name}`;
    state.switchTo = name;
    if (send({ type: "join", room: name })) input.value = "";
  });
  $("say").addEventListener("input", () => {
    $("say-error").textContent = ""; // a new line: the last refusal is old news
    typed();
  });
  $("messages").addEventListener("scroll", () => {
    fillScreen();
    readSoon();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") readSoon();
    else leave(state.current); // what comes while we are away is new when we come back
  });
  $("member-actions").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    const current = state.current;
    if (!button || !current || !state.selected) return;
    if (button.dataset.action === "close") {
      state.selected = null;
      renderMembers();
      return;
    }
    clearActionErrors();
    state.acting = "member";
    if (act(button.dataset.action, state.selected, current.name, $("action-reason").value.trim())) {
      $("action-reason").value = "";
    }
  });
  $("room-flags").addEventListener("change", (event) => {
    const box = event.target;
    if (!state.current || !box.dataset.mode) return;
    clearActionErrors();
    state.acting = "settings";
    send({ type: "mode", room: state.current.name, modes: `${box.checked ? "+" : "-"}${box.dataset.mode}` });
    box.checked = state.current.modes.includes(box.dataset.mode); // until the server says so
  });
  $("modes-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("modes-input");
    if (!state.current || !input.value.trim()) return;
    clearActionErrors();
    state.acting = "settings";
    if (send({ type: "mode", room: state.current.name, modes: input.value.trim() })) input.value = "";
  });
  $("show-bans").addEventListener("click", () => {
    if (!state.current) return;
    state.acting = "settings";
    send({ type: "mode", room: state.current.name, modes: "+b" });
  });
  $("part").addEventListener("click", () => {
    const current = state.current;
    if (!current) return;
    if (current.kind === "room") send({ type: "part", room: current.name });
    else forget(current.name);
  });
  showLogin();
  // A ticket from an earlier visit (its cookie) logs us in again: ask whose it is.
  fetch("/session")
    .then((response) => response.json())
    .then((answer) => {
      if (answer.account && !state.socket) {
        state.nick = state.account = answer.account;
        $("nick").value = answer.account;
        connect();
      }
    })
    .catch(() => {});
});
