// clients/js/cos-auth.js (through cos-nodejs-sdk-v5) and clients/js/cos-ticket.js, in Node,
// on every path a key or ticket request can take: each answers exactly once, promptly,
// with our error. tests/test_js_adapters.py runs it against the local stack with
// NODE_PATH=tests/browser/node_modules and these settings as JSON on standard input:
//
//   {"stsUrl": ..., "token": ..., "bucket": ..., "region": ..., "cosPort": ...}
//
// Odd endpoint answers (malformed keys, a stall, a non-JSON 502, a hanging COS) come
// from a small server this script starts on loopback. Prints one JSON report; exit 0
// when every case passed.
'use strict';
const http = require('http');
const COS = require('cos-nodejs-sdk-v5');
const cosStsAuthorization = require('../../clients/js/cos-auth.js');
const cosStsTicketUpload = require('../../clients/js/cos-ticket.js');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const CASE_LIMIT_MS = 6000;   // a case still pending by then is a hang: it fails
const results = [];
const escaped = [];   // exceptions that escaped an adapter (the SDK's callback then never comes)
process.on('uncaughtException', (error) => escaped.push(String(error && error.message)));

async function check(name, body) {
  const started = Date.now();
  const escapedBefore = escaped.length;
  let outcome;
  try {
    const limit = sleep(CASE_LIMIT_MS).then(() => { throw new Error(`still pending after ${CASE_LIMIT_MS} ms`); });
    const detail = await Promise.race([body(), limit]);
    outcome = {name, ok: true, ...(detail === undefined ? {} : {detail})};
  } catch (error) {
    outcome = {name, ok: false, error: error && error.message};
  }
  if (escaped.length > escapedBefore) {
    outcome = {name, ok: false, error: 'an exception escaped: ' + escaped.slice(escapedBefore).join('; ')};
  }
  outcome.ms = Date.now() - started;
  results.push(outcome);
  process.stderr.write(`${outcome.ok ? 'PASS' : 'FAIL'} ${name} (${outcome.ms} ms)${outcome.ok ? '' : ': ' + outcome.error}\n`);
}

function expect(condition, message) { if (!condition) throw new Error(message); }

// -- the odd endpoint ------------------------------------------------------------------
const seen = {authorization: [], hits: 0};
const now = () => Math.floor(Date.now() / 1000);
const goodKeys = () => ({credentials: {tmpSecretId: 'AKIDx', tmpSecretKey: 'k', sessionToken: 't'},
  startTime: now(), expiredTime: now() + 1800});
const MALFORMED = {
  'numeric id': () => ({...goodKeys(), credentials: {...goodKeys().credentials, tmpSecretId: 12345}}),
  'no session token': () => ({...goodKeys(), credentials: {tmpSecretId: 'AKIDx', tmpSecretKey: 'k'}}),
  'credentials a string': () => ({...goodKeys(), credentials: 'AKIDx:k'}),
  'non-numeric expiredTime': () => ({...goodKeys(), expiredTime: 'soon'}),
  'no startTime': () => { const d = goodKeys(); delete d.startTime; return d; },
  'expiredTime in milliseconds': () => ({...goodKeys(), expiredTime: Date.now() + 1800000}),
};

function startStub() {
  const server = http.createServer((req, res) => {
    seen.hits += 1;
    seen.authorization.push(req.headers.authorization);
    req.resume();
    req.on('end', () => {
      const json = (status, data) => {
        res.writeHead(status, {'Content-Type': 'application/json'});
        res.end(typeof data === 'string' ? data : JSON.stringify(data));
      };
      const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      if (path === '/hang') return;   // accepts, never answers
      if (path === '/not-json') return json(200, 'keys: none');
      if (path === '/html502') { res.writeHead(502, {'Content-Type': 'text/html'}); return res.end('<html>502</html>'); }
      if (path === '/denied') return json(403, {error: {code: 'ticket_denied', message: 'no such type'}});
      if (path.startsWith('/keys/')) return json(200, MALFORMED[path.slice(6)]());
      if (path === '/ticket-to-hang') {
        const {port} = server.address();
        return json(200, {ticket: {method: 'POST', url: `http://127.0.0.1:${port}/hang`, key: 'users/alice/x.jpg',
          fields: {key: 'users/alice/x.jpg'}, fileField: 'file'}});
      }
      if (path === '/bad-ticket') return json(200, {ticket: {method: 'POST', url: 5}});
      return json(404, {error: {code: 'not_found', message: path}});
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// -- cos-auth.js through the SDK --------------------------------------------------------
function client(settings, cosPort) {
  const counts = {callbacks: 0, errors: []};
  const adapter = cosStsAuthorization({timeout: 3000, ...settings,
    onError: (error) => {
      counts.errors.push({message: error.message, code: error.code, status: error.status});
      if (settings.onErrorThrows) throw new Error('the app hook threw');
    }});
  const cos = new COS({Ip: `127.0.0.1:${cosPort}`, Protocol: 'http:',
    getAuthorization(options, callback) { adapter(options, (keys) => { counts.callbacks += 1; callback(keys); }); }});
  return {cos, counts};
}

async function keyFailure(name, settings, expected, put, limitMs = 2500) {
  await check(name, async () => {
    const {cos, counts} = client(settings, put.cosPort);
    const t0 = Date.now();
    let failure = null;
    try { await cos.putObject({...put.where, Key: put.key, Body: 'x'}); } catch (error) { failure = error; }
    const ms = Date.now() - t0;
    await sleep(100);   // a late second callback would show here
    expect(failure, 'the upload succeeded');
    expect(/TmpSecretId/.test(failure.message || JSON.stringify(failure)), 'SDK error: ' + (failure.message || JSON.stringify(failure)));
    expect(counts.callbacks === 1, `SDK callback called ${counts.callbacks} times`);
    expect(counts.errors.length === 1, `onError called ${counts.errors.length} times`);
    for (const [k, v] of Object.entries(expected)) {
      expect(counts.errors[0][k] === v, `onError ${k}: expected ${v}, got ${JSON.stringify(counts.errors[0])}`);
    }
    expect(ms < limitMs, `took ${ms} ms`);
    return {ms, onError: counts.errors[0]};
  });
}

async function ticketFailure(name, settings, expected, limitMs = 2500) {
  await check(name, async () => {
    const t0 = Date.now();
    let failure = null;
    try {
      await cosStsTicketUpload({profile: 'avatar', file: new Blob(['x'], {type: 'image/jpeg'}), extension: 'jpg',
        timeout: 3000, uploadTimeout: 3000, ...settings});
    } catch (error) { failure = error; }
    const ms = Date.now() - t0;
    expect(failure instanceof Error, 'no rejection with an Error: ' + failure);
    for (const [k, v] of Object.entries(expected)) {
      expect(failure[k] === v, `${k}: expected ${v}, got ${JSON.stringify({code: failure.code, status: failure.status, message: failure.message})}`);
    }
    expect(ms < limitMs, `took ${ms} ms`);
    return {ms, code: failure.code, status: failure.status, message: failure.message};
  });
}

async function main() {
  const s = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const stub = await startStub();
  const stubUrl = `http://127.0.0.1:${stub.address().port}`;
  const run = `adapters-${Date.now().toString(36)}`;
  const put = {cosPort: s.cosPort, where: {Bucket: s.bucket, Region: s.region}, key: `users/alice/${run}/never.txt`};
  const token = s.token;

  // A Promise of the token is awaited: the real endpoint's keys, then the upload lands.
  await check('cos-auth: async loginToken -> keys -> upload stored', async () => {
    const {cos, counts} = client({url: s.stsUrl, profile: 'upload', loginToken: async () => { await sleep(20); return token; }}, s.cosPort);
    const key = `users/alice/${run}/async.txt`;
    await cos.putObject({...put.where, Key: key, Body: 'hello async'});
    const got = await cos.getObject({...put.where, Key: key}).catch((e) => ({error: e}));
    expect(counts.callbacks === 1 && counts.errors.length === 0, JSON.stringify(counts));
    return {key, getStatus: got.statusCode || (got.error && got.error.statusCode)};
  });
  await check('cos-auth: async loginToken sends the token itself, not [object Promise]', async () => {
    seen.authorization.length = 0;
    const {cos} = client({url: stubUrl + '/denied', loginToken: () => Promise.resolve('tok-123')}, s.cosPort);
    await cos.putObject({...put.where, Key: put.key, Body: 'x'}).catch(() => null);
    expect(seen.authorization[0] === 'Bearer tok-123', 'sent ' + JSON.stringify(seen.authorization));
  });

  const hitsBefore = seen.hits;
  await keyFailure('cos-auth: loginToken throws', {url: stubUrl + '/denied', loginToken: () => { throw new Error('signed out'); }},
    {code: 'no_login_token'}, put);
  await keyFailure('cos-auth: loginToken rejects', {url: stubUrl + '/denied', loginToken: () => Promise.reject(new Error('refresh failed'))},
    {code: 'no_login_token'}, put);
  await keyFailure('cos-auth: loginToken gives nothing', {url: stubUrl + '/denied', loginToken: () => ''},
    {code: 'no_login_token'}, put);
  await check('cos-auth: no request without a token', async () => {
    expect(seen.hits === hitsBefore, `${seen.hits - hitsBefore} requests reached the endpoint`);
  });
  for (const variant of Object.keys(MALFORMED)) {
    await keyFailure(`cos-auth: malformed keys refused (${variant})`,
      {url: `${stubUrl}/keys/${encodeURIComponent(variant)}`, loginToken: () => 'tok'},
      {code: 'bad_response', status: 200}, put);
  }
  await keyFailure('cos-auth: a 200 that is not JSON', {url: stubUrl + '/not-json', loginToken: () => 'tok'},
    {code: 'bad_response', status: 200}, put);
  await keyFailure('cos-auth: non-JSON 502', {url: stubUrl + '/html502', loginToken: () => 'tok'},
    {code: 'http_502', status: 502}, put);
  await keyFailure('cos-auth: endpoint that never answers, bounded by timeout (800 ms)',
    {url: stubUrl + '/hang', loginToken: () => 'tok', timeout: 800}, {code: 'timeout'}, put);
  await keyFailure('cos-auth: unreachable endpoint', {url: 'http://127.0.0.1:9/sts', loginToken: () => 'tok'},
    {code: 'network_error'}, put);
  await keyFailure('cos-auth: refused token (the real endpoint)', {url: s.stsUrl, loginToken: () => 'not-a-token'},
    {code: 'invalid_token', status: 401}, put);
  await keyFailure('cos-auth: an onError hook that throws still fails the call once',
    {url: stubUrl + '/html502', loginToken: () => 'tok', onErrorThrows: true}, {code: 'http_502'}, put);

  // -- cos-ticket.js ----------------------------------------------------------------------
  await ticketFailure('cos-ticket: loginToken throws', {url: stubUrl + '/denied', loginToken: () => { throw new Error('signed out'); }},
    {code: 'no_login_token'});
  await ticketFailure('cos-ticket: loginToken gives nothing', {url: stubUrl + '/denied', loginToken: async () => null},
    {code: 'no_login_token'});
  seen.authorization.length = 0;
  await ticketFailure('cos-ticket: async loginToken, the endpoint\'s refusal surfaced', {url: stubUrl + '/denied',
    loginToken: async () => 'tok-456'}, {code: 'ticket_denied', status: 403});
  await check('cos-ticket: the awaited token was sent', async () => {
    expect(seen.authorization[0] === 'Bearer tok-456', 'sent ' + JSON.stringify(seen.authorization));
  });
  await ticketFailure('cos-ticket: ticket endpoint that never answers (timeout 800 ms)',
    {url: stubUrl + '/hang', loginToken: () => 'tok', timeout: 800}, {code: 'timeout'});
  await ticketFailure('cos-ticket: COS that never answers the upload (uploadTimeout 800 ms)',
    {url: stubUrl + '/ticket-to-hang', loginToken: () => 'tok', uploadTimeout: 800}, {code: 'timeout'});
  await ticketFailure('cos-ticket: an answer without a usable ticket', {url: stubUrl + '/bad-ticket', loginToken: () => 'tok'},
    {code: 'bad_answer', status: 200});
  await ticketFailure('cos-ticket: unreachable endpoint', {url: 'http://127.0.0.1:9/sts', loginToken: () => 'tok'},
    {code: 'network_error'});
  await ticketFailure('cos-ticket: a type the profile refuses (the real endpoint)',
    {url: s.stsUrl, loginToken: () => token, extension: 'exe'}, {code: 'ticket_denied', status: 403});

  stub.close();
  const passed = results.filter((r) => r.ok).length;
  console.log(JSON.stringify({node: process.version, passed, failed: results.length - passed, results}, null, 2));
  process.exit(passed === results.length ? 0 : 1);   // stalled sockets must not keep Node alive
}

main().catch((error) => { console.error(error); process.exit(2); });
