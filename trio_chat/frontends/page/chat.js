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
};

function newView(name, kind) {
  // members: nick -> away message ("": here); roles: nick -> its roles there, if it has any.
  return { name, kind, lines: [], unread: 0, members: new Map(), roles: new Map(), topic: "", seen: 0 };
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

const LIVE_ROOM_EVENTS = new Set(["said", "emoted", "joined", "parted", "topic_changed"]);

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
      recalled(view(event.room), event.entries);
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
        system(currentView(), `${member.nick}${rooms}${away}`, "system", time);
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
    default: return event.type;
  }
}

function refused(event) {
  if (state.registered) {
    system(currentView(), event.text, "error", event.time);
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
    const name = document.createElement("span");
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
    case "join":
      state.switchTo = argument;
      return send({ type: "join", room: argument });
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
    default:
      system(current, "commands: /me, /msg nick text, /join #room, /part, /nick, /topic, /away, /rooms, /who, /whois, /history [N], /quit", "system");
      return true;
  }
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
