// cos-wx-sdk-v5 1.8.0 in Node, through wx-standin.js and cos-auth-wx.js, against a running
// local stack (make run). Prints one JSON document: every case, passed or not, with timings.
//
//   STS_URL=http://127.0.0.1:9300/sts COS_PORT=9301 ALICE_TOKEN=... BOB_TOKEN=... node wx-sdk-check.js
//
// tests/test_wx_sdk.py runs it against the local stack, with development tokens for
// alice and bob in the environment. Cases that need odd endpoint answers (short-lived keys, 429, 503,
// a non-JSON 502, no answer at all, keys issued long ago) go through a small proxy this
// script starts on loopback in front of STS_URL. Exit code 0 when every case passed.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const crypto = require('crypto');

const {wx, trace} = require('./wx-standin.js');   // before the SDK: it sets global wx and window
const COS = require('cos-wx-sdk-v5');
// The adapter exactly as a mini-program developer copies it.
const cosStsAuthorizationWx = require('../../clients/wx/cos-auth-wx.js');
// And the ticket upload (no SDK, no keys), as copied.
const cosStsTicketUploadWx = require('../../clients/wx/cos-ticket-wx.js');

const STS_URL = process.env.STS_URL || 'http://127.0.0.1:9300/sts';
const COS_PORT = Number(process.env.COS_PORT || 9301);
const BUCKET = process.env.BUCKET || 'examplebucket-1250000000';
const REGION = process.env.REGION || 'ap-guangzhou';
const DOMAIN = `http://{Bucket}.cos.{Region}.localhost:${COS_PORT}`;  // the SDK ignores Protocol
const WHERE = {Bucket: BUCKET, Region: REGION};
const RUN = `wx-${Date.now().toString(36)}`;   // a fresh folder per run, the bucket is shared
const MIB = 1024 * 1024;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const md5 = (bytes) => crypto.createHash('md5').update(Buffer.from(bytes)).digest('hex');
const now = () => Math.floor(Date.now() / 1000);

function mint(user) {
  const token = process.env[user.toUpperCase() + '_TOKEN'];
  if (!token) throw new Error('set ' + user.toUpperCase() + '_TOKEN');
  return token;
}

// A COS client as an app makes one, plus counters: key fetches, SDK callbacks, errors.
function client(settings = {}, cosOptions = {}) {
  const seen = {fetches: 0, callbacks: 0, tokenReads: 0, errors: [], answers: []};
  const token = settings.token;
  const adapter = cosStsAuthorizationWx({
    url: STS_URL, profile: 'read-write', timeout: 5000, ...settings,
    loginToken: () => { seen.tokenReads += 1; return settings.loginToken ? settings.loginToken() : token; },
    onKeys: (answer) => seen.answers.push(answer),
    onError: (error) => seen.errors.push({message: error.message, status: error.status,
      code: error.code, retryAfter: error.retryAfter}),
  });
  const cos = new COS({Domain: DOMAIN, ...cosOptions, getAuthorization(options, callback) {
    seen.fetches += 1;
    adapter(options, (keys) => { seen.callbacks += 1; callback(keys); });
  }});
  return {cos, seen};
}

const results = [];
async function check(name, body) {
  const started = process.hrtime.bigint();
  let outcome;
  try {
    const detail = await body();
    outcome = {name, ok: true, ...(detail === undefined ? {} : {detail})};
  } catch (error) {
    outcome = {name, ok: false, error: error instanceof Error ? error.message : JSON.stringify(brief(error))};
  }
  outcome.ms = Number((process.hrtime.bigint() - started) / 1000n) / 1000;
  results.push(outcome);
  process.stderr.write(`${outcome.ok ? 'PASS' : 'FAIL'} ${name} (${outcome.ms} ms)${outcome.ok ? '' : ': ' + outcome.error}\n`);
}

function expect(condition, message) { if (!condition) throw new Error(message); }
function brief(error) {   // what the SDK's error says, short
  if (!error) return null;
  const inner = error.err || error;   // sliceUploadFile wraps: {UploadId, err, error: err}
  const e = inner.error || {};
  return {statusCode: inner.statusCode, code: e.Code || inner.code,
    message: e.Message || inner.message || (typeof e === 'string' ? e : JSON.stringify(e))};
}
async function fails(promise) {
  try { await promise; } catch (error) { return error; }
  throw new Error('expected an error, the call succeeded');
}
function expect403(error) {
  const said = brief(error);
  expect(said.statusCode === 403, `expected 403, got ${JSON.stringify(said)}`);
  return said;
}

function file(name, size) {   // a file as wx.chooseMessageFile would give: a local path
  const where = path.join(os.tmpdir(), `${RUN}-${name}`);
  fs.writeFileSync(where, crypto.randomBytes(size));
  return where;
}

async function download(cos, Key) {
  const got = await cos.getObject({...WHERE, Key, DataType: 'arraybuffer'});
  return Buffer.from(got.Body);
}

function wxGet(url, responseType = 'arraybuffer') {   // a signed URL fetched as an app would
  return new Promise((resolve, reject) => wx.request({url, method: 'GET', responseType,
    success: resolve, fail: (res) => reject(new Error(res.errMsg))}));
}

// -- the proxy in front of the endpoint: odd answers on demand -------------------------
let proxyMode = 'pass';
function startProxy() {
  const target = new URL(STS_URL);
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const mode = proxyMode;
      if (mode === 'hang') return;   // accepts, never answers
      if (mode === '429' || mode === '503') {
        const code = mode === '429' ? 'rate_limited' : 'sts_unavailable';
        res.writeHead(Number(mode), {'Content-Type': 'application/json', 'Retry-After': mode === '429' ? '7' : '1'});
        return res.end(JSON.stringify({error: {code, message: 'simulated by run.js'}, requestId: 'proxy'}));
      }
      if (mode === 'html') {
        res.writeHead(502, {'Content-Type': 'text/html'});
        return res.end('<html><body>502 Bad Gateway</body></html>');
      }
      const forward = http.request({host: target.hostname, port: target.port, path: target.pathname,
        method: req.method, headers: req.headers}, (answer) => {
        const body = [];
        answer.on('data', (c) => body.push(c));
        answer.on('end', () => {
          let text = Buffer.concat(body).toString('utf8');
          if (answer.statusCode === 200 && ['short', 'aged', 'fresh', 'numeric-id'].includes(mode)) {
            const data = JSON.parse(text);
            if (mode === 'numeric-id') data.credentials.tmpSecretId = 12345;   // a malformed answer
            if (mode === 'short') data.expiredTime = now() + 63;      // 3 s of life above the SDK's margin
            if (mode === 'aged') data.startTime = now() - 1000;       // keys fetched 1000 s ago
            if (mode === 'fresh') data.startTime = now();             // keys issued this second
            text = JSON.stringify(data);
          }
          res.writeHead(answer.statusCode, {'Content-Type': 'application/json'});
          res.end(text);
        });
      });
      forward.on('error', () => { res.writeHead(502); res.end(); });
      forward.end(Buffer.concat(chunks));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function main() {
  const started = Date.now();
  const alice = mint('alice');
  const mine = `users/alice/${RUN}/`;
  const bobs = `users/bob/${RUN}/`;
  const proxy = await startProxy();
  const proxyUrl = `http://127.0.0.1:${proxy.address().port}/sts`;
  const {cos, seen} = client({token: alice});
  const small = file('small.bin', 100 * 1024);     // below SliceSize (1 MiB): postObject
  const large = file('large.bin', 2.5 * MIB);      // above: multipart
  const tiny = file('tiny.txt', 11);

  // -- uploads and downloads in the user's folder ---------------------------------------
  await check('putObject string body', async () => {
    const put = await cos.putObject({...WHERE, Key: mine + 'string.txt', Body: 'hello from wx'});
    const back = await download(cos, mine + 'string.txt');
    expect(back.toString() === 'hello from wx', 'downloaded bytes differ');
    return {ETag: put.ETag};
  });
  await check('putObject ArrayBuffer body', async () => {
    const bytes = crypto.randomBytes(4096);
    const body = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
    await cos.putObject({...WHERE, Key: mine + 'buffer.bin', Body: body});
    expect(md5(await download(cos, mine + 'buffer.bin')) === md5(bytes), 'downloaded bytes differ');
  });
  await check('putObject FilePath', async () => {
    await cos.putObject({...WHERE, Key: mine + 'path.bin', FilePath: small});
    expect(md5(await download(cos, mine + 'path.bin')) === md5(fs.readFileSync(small)), 'downloaded bytes differ');
  });
  await check('postObject FilePath (wx.uploadFile form)', async () => {
    const posted = await cos.postObject({...WHERE, Key: mine + 'posted.bin', FilePath: small});
    expect(posted.statusCode === 200, 'status ' + posted.statusCode);
    expect(md5(await download(cos, mine + 'posted.bin')) === md5(fs.readFileSync(small)), 'downloaded bytes differ');
    return {statusCode: posted.statusCode, ETag: posted.ETag, Location: posted.Location};
  });
  await check('uploadFile below SliceSize (SDK default: postObject)', async () => {
    const before = trace.length;
    const done = await cos.uploadFile({...WHERE, Key: mine + 'upload-small.bin', FilePath: small});
    const apis = trace.slice(before).filter((t) => !t.url.includes('/sts')).map((t) => `${t.api} ${t.method}`);
    expect(apis.length === 1 && apis[0] === 'uploadFile POST', 'expected one wx.uploadFile, got ' + apis);
    expect(md5(await download(cos, mine + 'upload-small.bin')) === md5(fs.readFileSync(small)), 'downloaded bytes differ');
    return {statusCode: done.statusCode, wx: apis};
  });
  await check('uploadFile above SliceSize (multipart, SDK defaults)', async () => {
    const before = trace.length;
    const done = await cos.uploadFile({...WHERE, Key: mine + 'upload-large.bin', FilePath: large});
    const calls = trace.slice(before).filter((t) => !t.url.includes('/sts'));
    const methods = calls.map((t) => t.method + ' ' + new URL(t.url).search.replace(/=[^&]*/g, ''));
    expect(/-3"?$/.test(done.ETag || ''), 'expected a 3-part ETag, got ' + done.ETag);
    expect(md5(await download(cos, mine + 'upload-large.bin')) === md5(fs.readFileSync(large)), 'downloaded bytes differ');
    return {ETag: done.ETag, requests: methods};
  });
  await check('getObject text and arraybuffer, bytes equal', async () => {
    const text = await cos.getObject({...WHERE, Key: mine + 'string.txt'});
    expect(text.Body === 'hello from wx', 'text body differs: ' + JSON.stringify(text.Body));
    const bytes = await download(cos, mine + 'upload-large.bin');
    expect(bytes.length === 2.5 * MIB && md5(bytes) === md5(fs.readFileSync(large)), 'arraybuffer differs');
    return {textLength: text.Body.length, binaryLength: bytes.length};
  });
  await check('headObject', async () => {
    const head = await cos.headObject({...WHERE, Key: mine + 'path.bin'});
    expect(head.statusCode === 200 && head.headers['content-length'] === String(100 * 1024), JSON.stringify(head.headers));
    return {statusCode: head.statusCode, contentLength: head.headers['content-length'], ETag: head.ETag};
  });
  await check('getObjectUrl signed, then fetched', async () => {
    const {Url} = await new Promise((resolve, reject) => cos.getObjectUrl({...WHERE, Key: mine + 'path.bin', Sign: true},
      (err, data) => (err ? reject(err) : resolve(data))));
    const got = await wxGet(Url);
    expect(got.statusCode === 200, 'status ' + got.statusCode);
    expect(md5(got.data) === md5(fs.readFileSync(small)), 'fetched bytes differ');
    return {statusCode: got.statusCode, url: Url.replace(/(q-signature|x-cos-security-token|q-ak)=[^&]*/g, '$1=...')};
  });
  await check('one key request for all of the above (SDK cache, 60 s margin)', async () => {
    expect(seen.fetches === 1 && seen.callbacks === 1 && seen.tokenReads === 1,
      `fetches ${seen.fetches}, callbacks ${seen.callbacks}, token reads ${seen.tokenReads}`);
    return {fetches: seen.fetches, profile: seen.answers[0].profile, prefix: seen.answers[0].prefix};
  });

  // -- another user's folder: 403 by every path -----------------------------------------
  const denied = {};
  await check('403 putObject (string) in another user\'s folder', async () => {
    denied.putString = expect403(await fails(cos.putObject({...WHERE, Key: bobs + 'x.txt', Body: 'x'})));
  });
  await check('403 putObject (FilePath) in another user\'s folder', async () => {
    denied.putPath = expect403(await fails(cos.putObject({...WHERE, Key: bobs + 'x.bin', FilePath: tiny})));
  });
  await check('403 postObject in another user\'s folder', async () => {
    denied.post = expect403(await fails(cos.postObject({...WHERE, Key: bobs + 'x.bin', FilePath: tiny})));
  });
  await check('403 uploadFile (small, postObject) in another user\'s folder', async () => {
    denied.uploadSmall = expect403(await fails(cos.uploadFile({...WHERE, Key: bobs + 's.bin', FilePath: small})));
  });
  await check('403 uploadFile (multipart) in another user\'s folder', async () => {
    denied.uploadLarge = expect403(await fails(cos.uploadFile({...WHERE, Key: bobs + 'l.bin', FilePath: large})));
  });
  await check('403 getObject in another user\'s folder', async () => {
    denied.get = expect403(await fails(cos.getObject({...WHERE, Key: bobs + 'x.txt'})));
  });
  await check('403 headObject in another user\'s folder', async () => {
    denied.head = expect403(await fails(cos.headObject({...WHERE, Key: bobs + 'x.txt'})));
  });
  await check('403 getObjectUrl fetched for another user\'s folder', async () => {
    const {Url} = await new Promise((resolve, reject) => cos.getObjectUrl({...WHERE, Key: bobs + 'x.txt', Sign: true},
      (err, data) => (err ? reject(err) : resolve(data))));
    const got = await wxGet(Url, 'text');
    expect(got.statusCode === 403, 'status ' + got.statusCode);
  });
  await check('403 for a profile without the action (download keys, putObject)', async () => {
    const {cos: reader, seen: s} = client({token: alice, profile: 'download'});
    const error = await fails(reader.putObject({...WHERE, Key: mine + 'nope.txt', Body: 'x'}));
    expect403(error);
    return {profile: s.answers[0] && s.answers[0].profile};
  });
  await check('nothing was stored in another user\'s folder', async () => {
    const {cos: bob} = client({token: mint('bob')});
    for (const name of ['x.txt', 'x.bin', 's.bin', 'l.bin']) {
      const error = await fails(bob.headObject({...WHERE, Key: bobs + name}));
      expect(brief(error).statusCode === 404, `${name}: expected 404, got ${JSON.stringify(brief(error))}`);
    }
  });

  // -- the key request failing: at once, exactly one callback, the reason in onError ----------
  async function keyFailure(name, settings, expected, limitMs) {
    await check(name, async () => {
      const {cos: c, seen: s} = client(settings);
      const t0 = Date.now();
      const error = await fails(c.putObject({...WHERE, Key: mine + 'never.txt', Body: 'x'}));
      const ms = Date.now() - t0;
      await sleep(50);   // a late second callback would show here
      expect(ms < limitMs, `took ${ms} ms`);
      expect(s.callbacks === 1, `SDK callback called ${s.callbacks} times`);
      expect(/TmpSecretId/.test(brief(error).message), 'SDK error: ' + JSON.stringify(brief(error)));
      const seenError = s.errors[0] || {};
      for (const [k, v] of Object.entries(expected)) {
        expect(seenError[k] === v, `onError ${k}: expected ${v}, got ${JSON.stringify(seenError)}`);
      }
      return {ms, sdkError: brief(error).message, onError: seenError};
    });
  }
  await keyFailure('refused login token fails at once', {token: 'not-a-token'},
    {status: 401, code: 'invalid_token'}, 2000);
  await keyFailure('unreachable endpoint fails at once', {token: alice, url: 'http://127.0.0.1:9/sts'},
    {code: 'network_error'}, 2000);
  proxyMode = '429';
  await keyFailure('429 with Retry-After surfaced', {token: alice, url: proxyUrl},
    {status: 429, code: 'rate_limited', retryAfter: 7}, 2000);
  proxyMode = '503';
  await keyFailure('503 surfaced', {token: alice, url: proxyUrl},
    {status: 503, code: 'sts_unavailable', retryAfter: 1}, 2000);
  proxyMode = 'html';
  await keyFailure('non-JSON 502 surfaced', {token: alice, url: proxyUrl}, {status: 502, code: 'http_502'}, 2000);
  proxyMode = 'hang';
  await keyFailure('endpoint that never answers: bounded by timeout (1500 ms)',
    {token: alice, url: proxyUrl, timeout: 1500}, {code: 'timeout'}, 3000);
  await keyFailure('no login token yet', {token: ''}, {code: 'no_login_token'}, 2000);
  await keyFailure('a loginToken that throws', {loginToken: () => { throw new Error('signed out'); }},
    {code: 'no_login_token'}, 2000);
  proxyMode = 'numeric-id';
  await keyFailure('malformed keys (a number for TmpSecretId) refused', {token: alice, url: proxyUrl},
    {status: 200, code: 'bad_response'}, 2000);
  proxyMode = 'pass';

  // -- keys refreshed at the SDK's 60 s margin ---------------------------------------------
  proxyMode = 'short';
  await check('keys refreshed when 60 s or less remain (base.js:3710)', async () => {
    const {cos: c, seen: s} = client({token: alice, url: proxyUrl});
    await c.putObject({...WHERE, Key: mine + 'r1.txt', Body: '1'});
    const expiry = s.answers[0].expiredTime;
    await c.putObject({...WHERE, Key: mine + 'r2.txt', Body: '2'});
    const afterTwo = s.fetches;
    await sleep(Math.max(0, (expiry - 60 - Date.now() / 1000) * 1000) + 300);   // now 60 s or less remain
    await c.putObject({...WHERE, Key: mine + 'r3.txt', Body: '3'});
    expect(afterTwo === 1, `two puts within the margin made ${afterTwo} key requests`);
    expect(s.fetches === 2 && s.tokenReads === 2, `fetches ${s.fetches}, token reads ${s.tokenReads}`);
    return {fetchesAfterTwoPuts: afterTwo, fetchesAfterThird: s.fetches, tokenReads: s.tokenReads};
  });
  await check('device clock 60 s slow: fresh keys refetched for every request (base.js:3620-3621)', async () => {
    // SystemClockOffset stands in for a slow phone: the SDK drops cached keys while device
    // time + 30 s is before the server's StartTime. Keys just issued (StartTime = now): every
    // request asks again. Keys the endpoint reuses (StartTime minutes ago): cached as usual.
    const puts = async (c, tag) => {
      for (const n of [1, 2, 3]) await c.putObject({...WHERE, Key: mine + `slow-${tag}${n}.txt`, Body: String(n)});
    };
    proxyMode = 'fresh';
    const fresh = client({token: alice, url: proxyUrl}, {SystemClockOffset: -60000});
    await puts(fresh.cos, 'fresh');
    proxyMode = 'pass';
    const reused = client({token: alice}, {SystemClockOffset: -60000});
    await puts(reused.cos, 'reused');
    const age = now() - reused.seen.answers[0].startTime;
    expect(fresh.seen.fetches === 3, `fresh keys: expected 3 key requests, got ${fresh.seen.fetches}`);
    expect(age < 30 || reused.seen.fetches === 1, `reused keys ${age} s old: ${reused.seen.fetches} key requests`);
    return {freshKeys: {puts: 3, fetches: fresh.seen.fetches},
      endpointKeys: {ageSeconds: age, puts: 3, fetches: reused.seen.fetches}};
  });
  proxyMode = 'aged';
  await check('getObjectUrl Expires counts from the keys\' StartTime (base.js:3634-3635)', async () => {
    const {cos: c} = client({token: alice, url: proxyUrl});
    const {Url} = await new Promise((resolve, reject) => c.getObjectUrl({...WHERE, Key: mine + 'path.bin', Expires: 900},
      (err, data) => (err ? reject(err) : resolve(data))));
    const window = decodeURIComponent(/q-sign-time=([^&]*)/.exec(Url)[1]);
    const got = await wxGet(Url, 'text');
    // Keys 1000 s old and Expires 900: the URL is dead when made.
    expect(got.statusCode === 403 && /expired/i.test(got.data), `status ${got.statusCode}`);
    return {signTime: window, now: now(), statusCode: got.statusCode};
  });
  proxyMode = 'pass';

  // -- scopes and profiles -------------------------------------------------------------
  await check('scopePerRequest: each request gets keys for its own scope', async () => {
    const {cos: c, seen: s} = client({token: alice, scopePerRequest: true});
    for (const name of ['s1.txt', 's2.txt', 's1.txt']) await c.putObject({...WHERE, Key: mine + name, Body: name});
    const back = await c.getObject({...WHERE, Key: mine + 's2.txt'});
    expect(back.Body === 's2.txt', 'body differs');
    expect(s.fetches === 3, `expected 3 key requests (2 put scopes + 1 get), got ${s.fetches}`);
    return {fetches: s.fetches};
  });
  await check('postObject with scopePerRequest: keys for exactly that object key', async () => {
    // The SDK's Scope for postObject names the object key itself (base.js:3600-3611), so the
    // keys, and the form's Signature, can write only that key.
    const {cos: c, seen: s} = client({token: alice, scopePerRequest: true});
    await c.postObject({...WHERE, Key: mine + 'scoped-post.bin', FilePath: tiny});
    const fetchesForPost = s.fetches;
    expect(fetchesForPost === 1, `fetches ${fetchesForPost}`);
    expect((await download(c, mine + 'scoped-post.bin')).length === 11, 'stored bytes differ');
    return {fetchesForPost, fetchesWithTheGetObject: s.fetches};
  });
  await check('a fixed scope narrower than the profile: allowed inside, 403 outside', async () => {
    const scope = [{action: 'name/cos:PutObject', prefix: mine + 'only/*'}];
    const {cos: c} = client({token: alice, scope});
    await c.putObject({...WHERE, Key: mine + 'only/a.txt', Body: 'a'});
    expect403(await fails(c.putObject({...WHERE, Key: mine + 'elsewhere.txt', Body: 'b'})));
  });
  await check('?profile= in the URL names the profile when the body does not', async () => {
    const answer = await new Promise((resolve, reject) => wx.request({url: STS_URL + '?profile=download', method: 'POST',
      header: {Authorization: 'Bearer ' + alice}, data: '{}', success: resolve, fail: reject}));
    expect(answer.statusCode === 200 && answer.data.profile === 'download', 'status ' + answer.statusCode + ' profile ' + answer.data.profile);
    return {askedInQuery: 'download', granted: answer.data.profile};
  });

  // -- upload tickets: wx.uploadFile with the form the endpoint signed ------------------
  const photo = file('photo.jpg', 2048);
  const ticketUpload = (settings) => new Promise((resolve) => {
    let calls = 0;
    cosStsTicketUploadWx({url: STS_URL, profile: 'avatar', loginToken: () => alice, filePath: photo, ...settings},
      (error, result) => { calls += 1; setTimeout(() => resolve({error, result, calls}), 50); });
  });
  await check('a ticket: wx.uploadFile sends the signed form, the key chosen by the endpoint', async () => {
    const {error, result, calls} = await ticketUpload({});
    expect(!error, error && error.message);
    expect(calls === 1, `done called ${calls} times`);
    expect(/^users\/alice\/\d{4}-\d{2}-\d{2}\/[0-9a-f]{32}\.jpg$/.test(result.key), 'key ' + result.key);
    const back = await download(cos, result.key);
    expect(md5(back) === md5(fs.readFileSync(photo)), 'downloaded bytes differ');
    return result;
  });
  await check('a ticket for a type the profile refuses: 403 ticket_denied, done called once', async () => {
    const {error, calls} = await ticketUpload({extension: 'exe'});
    expect(error && error.status === 403 && error.code === 'ticket_denied', JSON.stringify(error && error.code));
    expect(calls === 1, `done called ${calls} times`);
    return {status: error.status, code: error.code};
  });
  await check('a ticket with a loginToken that throws: done called once, no_login_token', async () => {
    const {error, calls} = await ticketUpload({loginToken: () => { throw new Error('signed out'); }});
    expect(error && error.code === 'no_login_token', JSON.stringify(error && error.code));
    expect(calls === 1, `done called ${calls} times`);
    return {code: error.code};
  });
  await check('a ticket with an async loginToken: the awaited token is used', async () => {
    const {error, result, calls} = await ticketUpload({loginToken: async () => alice});
    expect(!error, error && error.message);
    expect(calls === 1, `done called ${calls} times`);
    return result;
  });
  await check('a ticket with a refused login token: 401, no upload', async () => {
    const {error, calls} = await ticketUpload({loginToken: () => 'not-a-token'});
    expect(error && error.status === 401, 'status ' + (error && error.status));
    expect(calls === 1, `done called ${calls} times`);
    return {status: error.status, code: error.code};
  });
  fs.rmSync(photo, {force: true});

  proxy.close();
  const passed = results.filter((r) => r.ok).length;
  const report = {sdk: `cos-wx-sdk-v5 ${COS.version}`, node: process.version, stsUrl: STS_URL, cosPort: COS_PORT,
    folder: mine, passed, failed: results.length - passed, totalMs: Date.now() - started, results};
  console.log(JSON.stringify(report, null, 2));
  for (const f of [small, large, tiny]) fs.rmSync(f, {force: true});
  process.exitCode = passed === results.length ? 0 : 1;
}

main().catch((error) => { console.error(error); process.exitCode = 2; });
