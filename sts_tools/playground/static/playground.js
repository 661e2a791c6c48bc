// The playground page: mint a development token, get keys from the credential
// endpoint (a real cross-origin fetch with a Bearer token), show what was granted,
// upload with the official cos-js-sdk-v5 through the documented adapter (clients/js/cos-auth.js),
// and watch every request the local COS decided, with its reason.
'use strict';

const MB = 1024 * 1024;
const SLICE_SIZE = MB; // uploadFile: simple upload up to this size, multipart above
const $ = (id) => document.getElementById(id);
const state = {config: null, keys: null, policy: null, lastState: '', authError: null, uploading: false};
window.playground = state; // for a look from the console

// -- small helpers ------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function setStatus(id, text, kind) {
  const node = $(id);
  node.textContent = text;
  node.dataset.state = kind;
}

async function api(path, options) {
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  return {ok: response.ok, status: response.status, data};
}

function post(path, payload) {
  return api(path, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(payload)});
}

function bytes(size) {
  if (size < 1024) return size + ' B';
  if (size < MB) return (size / 1024).toFixed(1) + ' KB';
  return (size / MB).toFixed(2) + ' MB';
}

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], {hour12: false});
}

// `text` with every occurrence of `needle` wrapped in <mark> (the user's root).
function highlighted(text, needle) {
  const span = el('span');
  if (!needle) { span.textContent = text; return span; }
  const pieces = text.split(needle);
  pieces.forEach((piece, index) => {
    if (index > 0) span.append(el('mark', {}, needle));
    span.append(piece);
  });
  return span;
}

function rootFor(user) {
  return state.config.prefixTemplate.split('{uid}').join(user);
}

// -- 1. who is calling ----------------------------------------------------------------

function decodeClaims(token) {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const binary = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
  } catch (error) {
    return null;
  }
}

function renderClaims() {
  const body = $('claims').tBodies[0];
  body.replaceChildren();
  const token = $('token').value.trim();
  if (!token) { body.append(el('tr', {}, el('td', {class: 'muted'}, 'no token yet'))); return; }
  const claims = decodeClaims(token);
  if (!claims) { body.append(el('tr', {}, el('td', {class: 'muted'}, 'not a JWT the page can decode'))); return; }
  const now = Date.now() / 1000;
  for (const [name, value] of Object.entries(claims)) {
    let shown = JSON.stringify(value);
    if (['exp', 'iat', 'nbf'].includes(name) && typeof value === 'number') {
      const delta = Math.round(value - now);
      const relative = delta >= 0 ? `in ${delta} s` : `${-delta} s ago`;
      shown = `${value}  (${new Date(value * 1000).toISOString()}, ${relative})`;
    }
    body.append(el('tr', {}, el('th', {}, name), el('td', {}, el('code', {}, shown))));
  }
}

async function mint() {
  const user = $('user').value.trim();
  const ttl = Number($('ttl').value) || 3600;
  const {ok, data} = await post('/api/token', {user, ttl});
  if (!ok) {
    $('mint-hint').textContent = (data.error && data.error.message) || 'could not mint a token';
    return;
  }
  $('token').value = data.token;
  $('mint-hint').textContent = `a development token for "${user}", signed with the public development secret`;
  renderClaims();
  suggestKey();
}

// What a mini program does: wx.login (here: a code from the local jscode2session
// stand-in for the User as openid), then the function's sign-in route, whose answer
// is the function's own session token and the user's folder.
async function wxSignIn() {
  const openid = $('user').value.trim();
  const {ok, data} = await post('/api/wx-code', {openid});
  if (!ok) {
    $('mint-hint').textContent = (data.error && data.error.message) || 'no code';
    return;
  }
  const response = await fetch(state.config.stsUrl + '/login/wechat', {method: 'POST',
    headers: {'Content-Type': 'application/json'}, body: JSON.stringify({code: data.code})});
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = answer.error || {};
    $('mint-hint').textContent = `sign-in refused: ${response.status} ${error.code || ''} ${error.message || ''}`;
    return;
  }
  $('token').value = answer.token;
  $('user').value = answer.userId;
  $('mint-hint').textContent = `signed in with WeChat (local stand-in) as "${answer.userId}": ` +
    `the function's own session token, ${answer.expiresIn} s; folder ${answer.prefix}`;
  renderClaims();
  suggestKey();
}

// -- 2. keys from the endpoint ---------------------------------------------------------

function requestSettings() {
  const settings = {profile: $('profile').value || undefined};
  const duration = $('duration').value.trim();
  if (duration) settings.durationSeconds = Number(duration);
  const scope = $('scope').value.trim();
  if (scope) settings.scope = JSON.parse(scope); // a SyntaxError is shown by the caller
  return settings;
}

async function getKeys() {
  let settings;
  try {
    settings = requestSettings();
  } catch (error) {
    setStatus('keys-status', 'The scope is not valid JSON: ' + error.message, 'error');
    return;
  }
  setStatus('keys-status', `POST ${state.config.stsUrl} ...`, 'busy');
  let response;
  try {
    response = await fetch(state.config.stsUrl, {
      method: 'POST',
      headers: {'Authorization': 'Bearer ' + $('token').value.trim(), 'Content-Type': 'application/json'},
      body: JSON.stringify(settings),
    });
  } catch (error) {
    setStatus('keys-status',
      `No answer could be read from ${state.config.stsUrl} (${error.message}). If the endpoint runs, ` +
      `its CORS preflight refused this page: ${location.origin} is not in cors.allowed_origins.`, 'error');
    return;
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = data.error || {};
    setStatus('keys-status', `${response.status} ${error.code}: ${error.message}`, 'error');
    return;
  }
  setStatus('keys-status', `200: keys for ${data.prefix} (profile ${data.profile}), request ${data.requestId}`, 'ok');
  await showKeys(data);
}

async function showKeys(data) {
  const previous = state.keys;
  const sameKey = previous && previous.credentials.tmpSecretId === data.credentials.tmpSecretId;
  state.keys = data;
  $('keys').hidden = false;
  $('keys-prefix').textContent = data.prefix;
  $('keys-profile').textContent = data.profile;
  $('keys-id').textContent = data.credentials.tmpSecretId;
  $('files-prefix').textContent = data.prefix;
  tick();
  if (!previous || previous.prefix !== data.prefix) suggestKey(); // keep a key the user typed
  renderFiles();
  if (!sameKey) {
    const {ok, data: issued} = await api('/api/keys?secretId=' + encodeURIComponent(data.credentials.tmpSecretId));
    state.policy = ok ? issued : null;
    renderPolicy();
  }
}

function tick() {
  const keys = state.keys;
  if (!keys) return;
  const now = Date.now() / 1000;
  const left = Math.max(0, Math.round(keys.expiredTime - now));
  const total = Math.max(1, keys.expiredTime - keys.startTime);
  const minutes = Math.floor(left / 60);
  const seconds = String(left % 60).padStart(2, '0');
  $('countdown').textContent = left > 0
    ? `${minutes}:${seconds} left (until ${clock(keys.expiredTime)}; the SDK asks again 60 s before)`
    : `expired at ${clock(keys.expiredTime)}`;
  $('life').style.width = (100 * left / total).toFixed(1) + '%';
}

// -- 3. the policy ---------------------------------------------------------------------

function renderPolicy() {
  const box = $('policy');
  box.replaceChildren();
  const root = state.keys && state.keys.prefix;
  if (!state.policy || !state.policy.policy) {
    box.append(el('p', {class: 'muted'}, 'The local STS has no policy for this key.'));
    $('policy-json').textContent = '';
    return;
  }
  const statements = state.policy.policy.statement || [];
  statements.forEach((statement, index) => {
    const actions = el('div', {class: 'actions'});
    for (const action of [].concat(statement.action || [])) actions.append(el('span', {}, action.replace('name/cos:', '')));
    const card = el('div', {class: 'statement'},
      el('div', {}, el('span', {class: 'badge ' + (statement.effect === 'allow' ? 'allow' : 'deny')}, statement.effect),
        ` statement[${index}]`),
      actions);
    for (const resource of [].concat(statement.resource || [])) {
      card.append(el('div', {class: 'resource'}, 'on ', highlighted(resource, root)));
    }
    for (const [operator, entries] of Object.entries(statement.condition || {})) {
      for (const [key, value] of Object.entries(entries)) {
        card.append(el('div', {class: 'condition'}, `if ${key} ${operator} ${JSON.stringify(value)}`));
      }
    }
    box.append(card);
  });
  box.append(el('p', {class: 'hint'}, 'Highlighted: the user\'s root. Nothing outside it is granted.'));
  const pre = $('policy-json');
  pre.replaceChildren(highlighted(JSON.stringify(state.policy.policy, null, 2), root));
}

// -- 4. upload -------------------------------------------------------------------------

function suggestKey() {
  const file = $('file').files[0];
  const name = file ? file.name : 'hello.txt';
  const prefix = state.keys ? state.keys.prefix : rootFor($('user').value.trim() || 'alice');
  $('key').value = prefix + name;
}

function otherFolder() {
  const me = state.keys ? state.keys.prefix : rootFor($('user').value.trim());
  const other = state.config.users.map(rootFor).find((root) => root !== me) || rootFor('someone-else');
  const file = $('file').files[0];
  $('key').value = other + (file ? file.name : 'hello.txt');
}

function makeCos() {
  const settings = requestSettings();
  state.authError = null;
  return new COS({
    Domain: state.config.cosDomain, // {Bucket}.cos.{Region}.localhost:PORT: Chromium resolves it
    Protocol: 'http:',
    getAuthorization: cosStsAuthorization({
      url: state.config.stsUrl,
      loginToken: () => $('token').value.trim(),
      profile: settings.profile,
      scope: settings.scope,
      durationSeconds: settings.durationSeconds,
      onKeys: (data) => { showKeys(data); },
      onError: (error) => { state.authError = error; },
    }),
  });
}

function requestIdOf(error) {
  if (!error) return '';
  const headers = error.headers || {};
  return error.RequestId || (error.error && error.error.RequestId) || headers['x-cos-request-id'] || '';
}

async function reasonFor(requestId) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const {data} = await api('/state.json');
    const record = (data.records || []).find((item) => item.request_id === requestId);
    if (record) return record;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return null;
}

async function upload() {
  if (state.uploading) return;
  const file = $('file').files[0];
  const key = $('key').value.trim().replace(/^\/+/, '');
  if (!file) { setStatus('upload-status', 'Choose a file first.', 'error'); return; }
  let cos;
  try {
    cos = makeCos();
  } catch (error) {
    setStatus('upload-status', 'The scope is not valid JSON: ' + error.message, 'error');
    return;
  }
  const method = $('method').value;
  const multipart = method === 'uploadFile' && file.size > SLICE_SIZE;
  const how = method === 'putObject' ? 'putObject'
    : multipart ? `uploadFile, multipart: ${Math.ceil(file.size / SLICE_SIZE)} parts` : 'uploadFile, simple upload';
  state.uploading = true;
  $('upload').disabled = true;
  $('upload-reason').hidden = true;
  $('progress').style.width = '0%';
  $('progress').classList.remove('failed');
  setStatus('upload-status', `Uploading ${bytes(file.size)} to ${key} (${how}) ...`, 'running');
  const params = {
    Bucket: state.config.bucket,
    Region: state.config.region,
    Key: key,
    Body: file,
    onProgress: (info) => {
      $('progress').style.width = Math.round((info.percent || 0) * 100) + '%';
      if (info.total) setStatus('upload-status', `Uploading ${key} (${how}): ${bytes(info.loaded)} of ${bytes(info.total)}`, 'running');
    },
  };
  if (method === 'uploadFile') params.SliceSize = SLICE_SIZE;
  const started = performance.now();
  cos[method](params, async (error, data) => {
    const took = Math.round(performance.now() - started);
    state.uploading = false;
    $('upload').disabled = false;
    if (!error) {
      $('progress').style.width = '100%';
      setStatus('upload-status', `Uploaded ${key} (${bytes(file.size)}, ${how}) in ${took} ms, ETag ${data.ETag}`, 'ok');
      refresh();
      return;
    }
    $('progress').classList.add('failed');
    if (state.authError) {
      setStatus('upload-status', `No keys for this upload: ${state.authError.message}`, 'error');
      return;
    }
    const code = error.code || (error.error && error.error.Code) || '';
    const raw = error.message || (error.error && error.error.Message) || String(error);
    // The local COS appends its reason to the message; the line below shows it once.
    const message = raw.replace(/\s*\(local COS:[\s\S]*\)\s*$/, '');
    const status = error.statusCode ? error.statusCode + ' ' : '';
    setStatus('upload-status', `Upload of ${key} refused: ${status}${code} ${message}`.replace(/\s+/g, ' '), 'error');
    const requestId = requestIdOf(error);
    const record = requestId ? await reasonFor(requestId) : null;
    const reason = $('upload-reason');
    reason.hidden = false;
    reason.textContent = record
      ? `local COS, ${record.api} ${record.status} ${record.code}: ${record.reason}`
      : 'The local COS logged no reason for this request (see the list of requests).';
    refresh();
  });
}

// -- 5. an upload ticket: one signed request, no keys in the page -----------------------

function ticketProfiles() {
  return Object.entries(state.config.profiles)
    .filter(([, profile]) => profile.tickets && profile.tickets.methods.some((m) => m !== 'get'))
    .map(([name]) => name);
}

async function ticketUpload() {
  const file = $('file').files[0];
  if (!file) { setStatus('ticket-status', 'Choose a file first (card 4).', 'error'); return; }
  const method = $('ticket-method').value;
  const extension = (file.name.match(/\.([A-Za-z0-9]+)$/) || [])[1];
  setStatus('ticket-status', `Asking for a ${method} ticket, then sending ${bytes(file.size)} ...`, 'running');
  try {
    const sent = await cosStsTicketUpload({  // clients/js/cos-ticket.js
      url: state.config.stsUrl,
      loginToken: () => $('token').value.trim(),
      profile: $('ticket-profile').value,
      method,
      file,
      extension,
    });
    setStatus('ticket-status', `Uploaded ${sent.key} (${bytes(file.size)}, ${method} ticket, ${sent.status})`, 'ok');
    if ($('upload-status').dataset.state === 'error') {  // card 4's refusal is of an older try
      setStatus('upload-status', '', '');
      $('upload-reason').hidden = true;
    }
  } catch (error) {
    const why = error.cosCode ? `COS ${error.status} ${error.cosCode}` : `${error.status || ''} ${error.code || ''} ${error.message}`;
    setStatus('ticket-status', `No upload: ${why}`.replace(/\s+/g, ' '), 'error');
  }
  refresh();
}

// -- the local COS: files and requests ---------------------------------------------------

function renderFiles() {
  const body = $('files').tBodies[0];
  body.replaceChildren();
  const objects = state.objects || [];
  const prefix = state.keys ? state.keys.prefix : null;
  const mine = prefix ? objects.filter((item) => item.key.startsWith(prefix)) : objects;
  for (const item of mine) {
    body.append(el('tr', {},
      el('td', {}, prefix ? highlighted(item.key, prefix) : item.key),
      el('td', {}, bytes(item.size)),
      el('td', {}, el('code', {}, item.etag)),
      el('td', {}, clock(item.lastModified))));
  }
  if (!mine.length) body.append(el('tr', {}, el('td', {class: 'muted', colspan: '4'}, 'no files yet')));
  const others = objects.length - mine.length;
  $('files-other').textContent = prefix ? `(${others} object${others === 1 ? '' : 's'} in other folders)` : '';
}

function renderRequests(all) {
  const body = $('requests').tBodies[0];
  body.replaceChildren();
  const records = $('show-preflights').checked ? all : all.filter((record) => record.api !== 'OptionsObject');
  const mine = state.keys ? state.keys.credentials.tmpSecretId.slice(-6) : null;
  for (const record of records) {
    const decision = record.decision === 'allow' ? 'allow' : record.decision === 'deny' ? 'deny' : 'none';
    const label = {allow: 'ALLOW', deny: 'DENY', none: '-'}[decision];
    const classes = [decision === 'deny' || (record.code && decision !== 'allow') ? 'deny' : '',
      mine && record.access_key.endsWith(mine) ? 'mine' : ''].join(' ').trim();
    const row = el('tr', {class: classes, 'data-request-id': record.request_id, 'data-decision': record.decision},
      el('td', {}, clock(record.time)),
      el('td', {}, `${record.method} ${record.api} /${record.key}`),
      el('td', {}, `${record.status} ${record.code}`.trim()),
      el('td', {}, el('span', {class: 'badge ' + decision}, label)));
    const why = el('tr', {class: classes}, el('td', {class: 'why', colspan: '4'}, record.reason));
    body.append(row, why);
  }
  if (!records.length) body.append(el('tr', {}, el('td', {class: 'muted', colspan: '4'}, 'no requests yet')));
}

// Each COS event the local COS delivered to the function: what the function made of
// each record (owner, uploader, ticket), its webhook, and the owner's usage after it.
function renderEvents(events) {
  const body = $('events').tBodies[0];
  body.replaceChildren();
  for (const event of events) {
    const records = (event.result && event.result.records) || [{}];
    for (const record of records) {
      const who = record.owner ? `owner ${record.owner}` + (record.uploader ? `, by ${record.uploader}` : '') : '';
      const ticket = record.ticketId ? `, ticket ${record.ticketId.slice(0, 8)}` : '';
      const usage = record.usageBytes === undefined ? '-' : `${bytes(record.usageBytes)}, ${record.usageFiles} files`;
      const failed = event.outcome !== 'delivered';
      body.append(el('tr', {class: failed ? 'deny' : '', 'data-key': event.key},
        el('td', {}, clock(event.time)),
        el('td', {}, `${event.event_name.replace('cos:', '')} /${event.key}`),
        el('td', {}, failed ? `${event.outcome} (${event.attempts} tries)` : `${record.outcome || ''} ${who}${ticket}`.trim()),
        el('td', {}, record.webhook || (failed ? 'retried' : '-')),
        el('td', {}, usage)));
    }
  }
  if (!events.length) body.append(el('tr', {}, el('td', {class: 'muted', colspan: '5'}, 'no events yet')));
}

async function refresh() {
  const {ok, data} = await api('/state.json').catch(() => ({ok: false}));
  if (!ok) return;
  const objects = data.objects || [];
  renderEvents(data.events || []);
  const signature = JSON.stringify([data.records.length && data.records[0].request_id, data.records.length,
    objects.map((item) => item.key + item.etag)]);
  if (signature === state.lastState) return;
  state.lastState = signature;
  state.objects = objects;
  state.records = data.records || [];
  renderFiles();
  renderRequests(state.records);
}

async function reset() {
  await post('/reset', {});
  state.lastState = '';
  refresh();
}

// -- start ---------------------------------------------------------------------------------

async function start() {
  const {data: config} = await api('/api/config');
  state.config = config;
  $('stack').textContent = `local STS + COS: ${config.bucket} (${config.region})`;
  $('sts-url').textContent = config.stsUrl;
  $('sdk-version').textContent = `(${config.sdkVersion}, vendored)`;
  for (const user of config.users) $('users').append(el('option', {value: user}));
  for (const name of Object.keys(config.profiles)) {
    $('profile').append(el('option', {value: name}, name + (name === config.defaultProfile ? ' (default)' : '')));
  }
  $('profile').value = config.defaultProfile || '';
  const showActions = () => {
    const profile = config.profiles[$('profile').value];
    $('profile-actions').textContent = profile ? 'actions: ' + profile.actions.map((a) => a.replace('name/cos:', '')).join(', ') : '';
  };
  showActions();
  if (config.duration.default) $('duration').placeholder = `default ${config.duration.default}`;
  $('profile').addEventListener('change', showActions);
  $('mint').addEventListener('click', mint);
  $('wx-sign-in').addEventListener('click', wxSignIn);
  $('wx-sign-in').hidden = !config.wxSignIn;
  $('token').addEventListener('input', renderClaims);
  $('get-keys').addEventListener('click', getKeys);
  $('file').addEventListener('change', suggestKey);
  $('other-folder').addEventListener('click', otherFolder);
  $('upload').addEventListener('click', upload);
  $('ticket-upload').addEventListener('click', ticketUpload);
  const ticketNames = ticketProfiles();
  $('ticket-profile').replaceChildren(...ticketNames.map((name) => el('option', {value: name}, name)));
  if (!ticketNames.length) {
    $('ticket-upload').disabled = true;
    setStatus('ticket-status', 'No profile in this config gives upload tickets (profiles.<name>.tickets).', 'idle');
  }
  $('reset').addEventListener('click', reset);
  $('show-preflights').addEventListener('change', () => renderRequests(state.records || []));
  if (config.devTokens) {
    await mint();
  } else {
    $('mint').disabled = true;
    $('mint-hint').textContent = config.devTokensOff;
  }
  suggestKey();
  setInterval(tick, 1000);
  setInterval(refresh, 1000);
  await refresh();
  document.body.dataset.ready = 'true';
}

start();
