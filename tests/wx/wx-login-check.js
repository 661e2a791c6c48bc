// A mini program's first session with cos-wx-sdk-v5 1.8.0, signed in with WeChat and no
// login server: wx.login -> the function's sign-in route (clients/wx/cos-login-wx.js) ->
// keys through the adapter (clients/wx/cos-auth-wx.js) -> an upload into the user's own
// folder, a ticket upload (clients/wx/cos-ticket-wx.js), a refusal in another user's
// folder; then a refused session token makes the adapter sign in again. Prints one JSON
// document; exit code 0 when every case passed.
//
//   STS_URL=http://127.0.0.1:9300/sts COS_PORT=9301 node wx-login-check.js
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');

const {wx} = require('./wx-standin.js');   // before the SDK: it sets global wx and window
const COS = require('cos-wx-sdk-v5');
const cosStsAuthorizationWx = require('../../clients/wx/cos-auth-wx.js');
const cosStsLoginWx = require('../../clients/wx/cos-login-wx.js');
const cosStsTicketUploadWx = require('../../clients/wx/cos-ticket-wx.js');

const STS_URL = process.env.STS_URL;
const COS_PORT = Number(process.env.COS_PORT);
const WHERE = {Bucket: process.env.BUCKET || 'examplebucket-1250000000', Region: process.env.REGION || 'ap-guangzhou'};
const DOMAIN = `http://{Bucket}.cos.{Region}.localhost:${COS_PORT}`;
const OPENID = 'oWx' + crypto.randomBytes(6).toString('hex');   // a new user each run

const results = [];
async function check(name, body) {
  let outcome;
  try { outcome = {name, ok: true, detail: await body()}; } catch (error) { outcome = {name, ok: false, error: error.message}; }
  results.push(outcome);
  process.stderr.write(`${outcome.ok ? 'PASS' : 'FAIL'} ${name}${outcome.ok ? '' : ': ' + outcome.error}\n`);
}
function expect(condition, message) { if (!condition) throw new Error(message); }
function statusOf(error) { return (error && (error.statusCode || (error.err || {}).statusCode)) || JSON.stringify(error); }

async function main() {
  wx.__loginAs = OPENID;
  const session = cosStsLoginWx({url: STS_URL + '/login/wechat', timeout: 5000});
  const adapter = cosStsAuthorizationWx({url: STS_URL, profile: 'read-write', timeout: 5000,
    loginToken: session.token, signIn: session, onError: () => {}});
  const cos = new COS({Domain: DOMAIN, SimpleUploadMethod: 'putObject', getAuthorization: adapter});
  let me;

  await check('wx.login -> the sign-in route: a session token and the user\'s own folder', async () => {
    me = await session.session();
    expect(me.userId === OPENID, 'userId ' + me.userId);
    expect(me.prefix === `users/${OPENID}/`, 'prefix ' + me.prefix);
    expect(wx.__logins === 1, 'logins ' + wx.__logins);
    return {prefix: me.prefix};
  });

  await check('keys through the adapter: putObject into the own folder, read back', async () => {
    const sent = await cos.putObject({...WHERE, Key: me.prefix + 'hello.txt', Body: 'hello from a mini program'});
    expect(sent.statusCode === 200, 'status ' + sent.statusCode);
    const back = await cos.getObject({...WHERE, Key: me.prefix + 'hello.txt'});
    expect(back.Body === 'hello from a mini program', 'body ' + back.Body);
    expect(wx.__logins === 1, 'signed in again needlessly: ' + wx.__logins);
  });

  await check('a ticket upload with the session token: the key in the own folder', async () => {
    const photo = path.join(os.tmpdir(), `${OPENID}.jpg`);
    fs.writeFileSync(photo, crypto.randomBytes(2048));
    const result = await new Promise((resolve, reject) => cosStsTicketUploadWx(
      {url: STS_URL, profile: 'avatar', loginToken: session.token, filePath: photo},
      (error, value) => (error ? reject(error) : resolve(value))));
    expect(result.key.startsWith(me.prefix), 'key ' + result.key);
    return {key: result.key};
  });

  await check('403 in another user\'s folder', async () => {
    let refused = null;
    try { await cos.putObject({...WHERE, Key: 'users/oSomebodyElse/x.txt', Body: 'x'}); } catch (error) { refused = error; }
    expect(refused && statusOf(refused) === 403, 'expected 403, got ' + statusOf(refused));
  });

  await check('a 401 from the function: the adapter signs in again (wx.login) and carries on', async () => {
    let stale = true;
    const invalidated = [];
    const fresh = cosStsLoginWx({url: STS_URL + '/login/wechat'});
    const retrying = cosStsAuthorizationWx({url: STS_URL, profile: 'read-write', onError: () => {},
      loginToken: () => (stale ? (stale = false, 'eyJhbGciOiJIUzI1NiJ9.e30.expired') : fresh.token()),
      signIn: {invalidate: () => { invalidated.push(1); fresh.invalidate(); }}});
    const before = wx.__logins;
    const client = new COS({Domain: DOMAIN, SimpleUploadMethod: 'putObject', getAuthorization: retrying});
    const sent = await client.putObject({...WHERE, Key: me.prefix + 'again.txt', Body: 'again'});
    expect(sent.statusCode === 200, 'status ' + sent.statusCode);
    expect(invalidated.length === 1 && wx.__logins === before + 1, `invalidated ${invalidated.length}, logins ${wx.__logins - before}`);
  });

  await check('an expired session token: wx.login again before asking', async () => {
    const expiring = cosStsLoginWx({url: STS_URL + '/login/wechat', margin: 1e9});  // always "about to expire"
    const before = wx.__logins;
    await expiring.token();
    await expiring.token();
    expect(wx.__logins === before + 2, 'logins ' + (wx.__logins - before));
  });

  const passed = results.filter((r) => r.ok).length;
  process.stdout.write(JSON.stringify({passed, failed: results.length - passed, results}) + '\n');
  process.exit(passed === results.length ? 0 : 1);
}

main().catch((error) => { process.stdout.write(JSON.stringify({passed: 0, results, fatal: error.message}) + '\n'); process.exit(1); });
