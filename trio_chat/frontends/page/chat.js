// trio-chat's page: one WebSocket to /ws speaking the JSON protocol (see the README).
// Everything a peer sent is inserted with textContent, never as HTML.
"use strict";

const MAX_LINES = 500; // per room or conversation, in memory
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
};

function newView(name, kind) {
  // members: nick -> away message ("": here); roles: nick -> its roles there, if it has any.
  // modes: the room's flags that are on ("tn"), as its operators see them.
  return { name, kind, lines: [], unread: 0, members: new Map(), roles: new Map(), topic: "", seen: 0, modes: "" };
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
  if (state.socket && state.socket.readyState === WebSocket.OPEN && state.registered) {
    state.socket.send(JSON.stringify(message));
    return true;
  }
  system(currentView(), "not connected: try again in a moment", "error");
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

const LIVE_ROOM_EVENTS = new Set(["said", "emoted", "joined", "parted", "topic_changed", "modes_changed", "kicked"]);

// Refusals of what we said: shown by the message field too, where the person is looking.
const SPEAKING_REFUSALS = new Set(["moderated", "muted", "banned_cannot_speak", "account_needed_to_speak", "cannot_send"]);

const LISTS = { b: "bans", e: "ban exceptions", I: "invitations" };

function handle(event) {
  const time = event.time;
  // The newest moment of a room seen live: a reconnection's history skips what came before.
  if (LIVE_ROOM_EVENTS.has(event.type)) {
    const room = view(event.room);
    room.seen = Math.max(room.seen, time);
  }
  switch (event.type) {
    case "registered":
      state.registered = true;
      state.nick = event.nick;
      state.backoff = BACKOFF_FIRST;
      state.retries = 0;
      setStatus("online", `connected as ${event.nick}`);
      showChat();
      break;
    case "room_entered": {
      const room = view(event.room);
      room.members = new Map(event.roster.map((nick) => [nick, ""]));
      room.roles = new Map(Object.entries(event.roles || {}));
      room.topic = event.topic;
      system(room, `you joined ${event.room}`, "system", time);
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
      system(room, describe(event), "system", time);
      renderMembers();
      break;
    }
    case "parted": {
      const room = view(event.room);
      room.members.delete(event.nick);
      room.roles.delete(event.nick);
      system(room, describe(event), "system", time);
      renderMembers();
      break;
    }
    case "said":
      line(view(event.room), time, event.nick, event.text, event.notice ? "notice" : "");
      if (event.nick === state.nick) $("say-error").textContent = ""; // we were heard
      break;
    case "emoted":
      line(view(event.room), time, null, describe(event), "action");
      break;
    case "topic_changed": {
      const room = view(event.room);
      room.topic = event.topic;
      system(room, describe(event), "system", time);
      renderHead();
      break;
    }
    case "recalled":
    case "history_read":
      recalled(view(event.room), event.entries);
      break;
    case "modes_changed": {
      const room = view(event.room);
      const ran = runs(room);
      for (const change of event.changes) applyChange(room, change);
      if (!ran && runs(room)) askModes(room); // made an operator: the settings need the modes
      system(room, describe(event), "system", time);
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
      system(room, describe(event), "system", time);
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
          system(each, describe(event), "system", time);
        }
      }
      renderMembers();
      break;
    case "departed":
      for (const each of state.views.values()) {
        each.roles.delete(event.nick);
        if (each.members.delete(event.nick)) {
          system(each, describe(event), "system", time);
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
      const talk = view(event.sender, "private");
      const text = event.action ? `* ${event.sender} ${event.text}` : event.text;
      line(talk, time, event.action ? null : event.sender, text, "private");
      break;
    }
    case "private_to": {
      const talk = view(event.recipient, "private");
      const text = event.action ? `* ${state.nick} ${event.text}` : event.text;
      line(talk, time, event.action ? null : state.nick, text, "private", { mine: true });
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

// The room's past, shown before anything live, each line with its date.
function recalled(room, entries) {
  entries = entries.filter((entry) => entry.time > room.seen); // already shown live
  if (!entries.length && room.seen) return;
  if (!entries.length) {
    system(room, "nothing said here yet", "system");
    return;
  }
  for (const { time, event } of entries) {
    const date = new Date(time * 1000).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
    const nick = event.type === "said" ? event.nick : null;
    const text = event.type === "said" ? event.text : describe(event);
    line(room, time, nick, text, "history", { mine: true, stamp: date });
    room.seen = Math.max(room.seen, time);
  }
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

function line(target, time, nick, text, kind = "", { mine = false, stamp = null } = {}) {
  const item = { time, nick, text, kind, stamp };
  target.lines.push(item);
  if (target.lines.length > MAX_LINES) target.lines.shift();
  if (target === state.current) {
    appendLine(item);
  } else if (!mine) {
    // What we said ourselves (or history) is never unread: the sidebar changes only here.
    target.unread += 1;
    renderViews();
  }
}

function system(target, text, kind = "system", time = Date.now() / 1000) {
  line(target, time, null, text, kind);
}

function appendLine(item) {
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
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
  list.append(entry);
  while (list.children.length > MAX_LINES) list.firstElementChild.remove();
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function colour(nick) {
  let hash = 0;
  for (const char of nick) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return `hsl(${hash % 360}, 65%, 32%)`;
}

function show(target) {
  if (state.current !== target) state.selected = null;
  state.current = target;
  target.unread = 0;
  const list = $("messages");
  list.replaceChildren();
  for (const item of target.lines) appendLine(item);
  renderViews();
  renderHead();
  renderMembers();
}

function forget(name) {
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
      return send({ type: "history", room, count: Number(argument) || 50 });
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
    if (text.trim() && submitLine(text)) input.value = "";
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
