// The registry dashboard's page script: reads /events (a snapshot, then changes) and draws the
// fleet. Every string from the registry (names, addresses, metadata come from whoever
// registered) reaches the page as textContent or an attribute value, never as HTML.
/* global document, window, EventSource, fetch, URLSearchParams, requestAnimationFrame */
'use strict';

const instances = new Map();
// The registry's clock minus ours, so ages are right even when the two clocks disagree.
let clockOffsetMs = 0;
let heartbeatIntervalMs = 2000;
let events;
let drawPending = false;

const $ = (id) => document.getElementById(id);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function serverNow() {
  return Date.now() + clockOffsetMs;
}

function formatAge(ms) {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  return `${Math.floor(seconds / 3600)} h ago`;
}

function matches(instance, filter) {
  if (filter === '') return true;
  return [instance.serviceName, instance.address, instance.version].some((field) => field.toLowerCase().includes(filter));
}

function instanceRow(instance) {
  const row = element('tr', instance.state === 'DRAINING' ? 'draining' : 'serving');
  row.dataset.instanceId = instance.instanceId;
  const state = element('td', 'state-cell');
  state.append(element('span', `state ${instance.state === 'DRAINING' ? 'draining' : 'serving'}`, instance.state));
  const age = element('td', 'age');
  age.dataset.lastHeartbeatAt = String(instance.lastHeartbeatAt);
  const metadata = element('td', 'meta');
  for (const [key, value] of Object.entries(instance.metadata)) {
    const chip = element('span', '', `${key}=${value}`);
    chip.title = `${key}=${value}`;
    metadata.append(chip);
  }
  row.append(
    state,
    element('td', 'address', instance.address),
    element('td', 'version', instance.version || '—'),
    element('td', 'zone', instance.zone || '—'),
    age,
    element('td', 'id', instance.instanceId.slice(0, 8)),
    metadata,
  );
  return row;
}

function serviceCard(serviceName, list) {
  const card = element('section', 'service');
  card.dataset.service = serviceName;
  const header = element('header');
  const draining = list.filter((instance) => instance.state === 'DRAINING').length;
  const counts = `${list.length} instance${list.length === 1 ? '' : 's'}${draining ? `, ${draining} draining` : ''}`;
  header.append(element('h2', '', serviceName), element('span', 'counts', counts));
  const table = element('table');
  const head = element('tr');
  for (const title of ['State', 'Address', 'Version', 'Zone', 'Last heartbeat', 'Instance', 'Metadata']) head.append(element('th', '', title));
  table.append(element('thead'), element('tbody'));
  table.tHead.append(head);
  for (const instance of list) table.tBodies[0].append(instanceRow(instance));
  card.append(header, table);
  return card;
}

function draw() {
  drawPending = false;
  const filter = $('search').value.trim().toLowerCase();
  const all = [...instances.values()];
  const services = new Map();
  for (const instance of all.filter((each) => matches(each, filter))) {
    if (!services.has(instance.serviceName)) services.set(instance.serviceName, []);
    services.get(instance.serviceName).push(instance);
  }
  const names = [...services.keys()].sort();
  const cards = names.map((name) => serviceCard(name, services.get(name).sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0))));
  $('services').replaceChildren(...cards);
  $('empty').hidden = cards.length > 0;
  $('empty').textContent = all.length === 0 ? 'No instances registered.' : 'No instance matches the filter.';
  const serviceCount = new Set(all.map((instance) => instance.serviceName)).size;
  const drainingCount = all.filter((instance) => instance.state === 'DRAINING').length;
  const summary = $('summary');
  summary.replaceChildren(
    element('strong', '', String(serviceCount)), ` service${serviceCount === 1 ? '' : 's'} · `,
    element('strong', '', String(all.length)), ` instance${all.length === 1 ? '' : 's'} · `,
    element('strong', '', String(drainingCount)), ' draining',
  );
  tickAges();
}

function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(draw);
}

function tickAges() {
  const now = serverNow();
  for (const cell of document.querySelectorAll('td.age')) {
    const age = now - Number(cell.dataset.lastHeartbeatAt);
    cell.textContent = formatAge(age);
    // More than one missed heartbeat: worth a glance.
    cell.classList.toggle('late', age > heartbeatIntervalMs * 1.5 + 1000);
  }
}

function setConnection(state) {
  const node = $('connection');
  node.dataset.state = state;
  node.textContent = state;
}

function onEvent(handler) {
  return (message) => {
    const event = JSON.parse(message.data);
    clockOffsetMs = event.now - Date.now();
    handler(event);
    scheduleDraw();
  };
}

function connect() {
  if (events) events.close();
  events = new EventSource('events');
  events.addEventListener('open', () => setConnection('live'));
  events.addEventListener('error', () => setConnection('reconnecting'));
  events.addEventListener('snapshot', onEvent((event) => {
    instances.clear();
    for (const instance of event.instances) instances.set(instance.instanceId, instance);
  }));
  events.addEventListener('upsert', onEvent((event) => instances.set(event.instance.instanceId, event.instance)));
  events.addEventListener('remove', onEvent((event) => instances.delete(event.instanceId)));
  events.addEventListener('heartbeats', onEvent((event) => {
    for (const [id, at] of Object.entries(event.lastHeartbeatAt)) {
      const instance = instances.get(id);
      if (instance) instances.set(id, { ...instance, lastHeartbeatAt: at });
    }
  }));
}

function showFleet(canSignOut) {
  $('sign-in').hidden = true;
  $('fleet').hidden = false;
  $('sign-out').hidden = !canSignOut;
  connect();
}

function showSignIn() {
  if (events) events.close();
  instances.clear();
  $('services').replaceChildren();
  $('summary').replaceChildren();
  $('fleet').hidden = true;
  $('sign-in').hidden = false;
  setConnection('signed out');
  $('token').focus();
}

async function signIn(submit) {
  submit.preventDefault();
  const body = new URLSearchParams({ token: $('token').value });
  const response = await fetch('login', { method: 'POST', body, credentials: 'same-origin' });
  $('token').value = '';
  if (response.ok) {
    $('sign-in-error').textContent = '';
    showFleet(true);
  } else {
    $('sign-in-error').textContent = response.status === 401 ? 'That token was not accepted.' : `Sign-in failed (${response.status}).`;
  }
}

async function start() {
  $('search').addEventListener('input', scheduleDraw);
  $('sign-in').addEventListener('submit', (submit) => void signIn(submit));
  $('sign-out').addEventListener('click', async () => {
    await fetch('logout', { method: 'POST', credentials: 'same-origin' });
    showSignIn();
  });
  window.setInterval(tickAges, 250);
  const session = await (await fetch('api/session', { credentials: 'same-origin' })).json();
  if (typeof session.heartbeatIntervalMs === 'number') heartbeatIntervalMs = session.heartbeatIntervalMs;
  if (session.signedIn) showFleet(session.access === 'token');
  else showSignIn();
}

void start();
