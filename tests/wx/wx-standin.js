// A `wx` for Node: the mini-program APIs that cos-wx-sdk-v5 1.8.0 calls, and no more,
// with WeChat's semantics, over real HTTP. Read from the SDK's sources (npm 1.8.0 ==
// git tag v1.8.0): lib/request.js:91-141 (wx.uploadFile, wx.request), src/util.js:7,
// 226, 642, 675, 698 (getFileSystemManager().readFile/stat), :746-750 and
// src/tracker.js:41-71 (canIUse, getAppBaseInfo, getDeviceInfo, getNetworkType),
// src/session.js:11-19 (storage). require() it before the SDK: the dist bundle's UMD
// wrapper names `window` (dist/cos-wx-sdk-v5.min.js, first line), so window = global.
//
// Semantics kept: `success` for EVERY HTTP status, `fail` only when no HTTP answer came
// (refused, reset, timeout, abort) with {errMsg: 'request:fail ...'}; `header` with
// the server's names; `data` JSON.parse'd when dataType is 'json' (the default) and
// responseType is text, else the text, or an ArrayBuffer for responseType
// 'arraybuffer'; uploadFile is a multipart/form-data POST of `formData` (in key
// order) then the file under `name`, and its success has {data: string, statusCode}
// and no header (the documented shape). Not modelled: cookies, HTTP/2, the domain
// allow-list, enableHttpDNS. Any *.localhost name connects to 127.0.0.1 (Node's
// resolver does not do that here) and the Host header keeps the name. wx.login gives
// codes only the local jscode2session stand-in accepts.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const dns = require('dns');
const path = require('path');
const crypto = require('crypto');

const DEFAULT_TIMEOUT = 60000;  // wx's default when app.json sets no networkTimeout
const REFERER = 'https://servicewechat.com/wx0000000000000000/devtools/page-frame.html';
const trace = [];               // one entry per HTTP exchange, for run.js to count

function lookup(hostname, options, callback) {
  if (typeof options === 'function') [callback, options] = [options, {}];
  if (!/(^|\.)localhost\.?$/i.test(hostname)) return dns.lookup(hostname, options, callback);
  if (options && options.all) return callback(null, [{address: '127.0.0.1', family: 4}]);
  return callback(null, '127.0.0.1', 4);
}

function headerObject(raw) {  // rawHeaders -> {Name: value}, repeated names joined
  const out = {};
  for (let i = 0; i < raw.length; i += 2) {
    out[raw[i]] = raw[i] in out ? out[raw[i]] + ', ' + raw[i + 1] : raw[i + 1];
  }
  return out;
}

// One HTTP exchange; done(error, {statusCode, header, body}) is called exactly once.
function exchange(api, {url, method, header, body, timeout}, done) {
  let finished = false;
  const finish = (error, value) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    trace.push({api, method, url, statusCode: value ? value.statusCode : null, error});
    done(error, value);
  };
  let request;
  const timer = setTimeout(() => { finish(`${api}:fail timeout`); request.destroy(); },
    timeout > 0 ? timeout : DEFAULT_TIMEOUT);
  try {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    const headers = {Referer: REFERER, ...header};
    if (body.length || !['GET', 'HEAD'].includes(method)) headers['Content-Length'] = body.length;
    request = client.request(target, {method, headers, lookup}, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => finish(null, {
        statusCode: response.statusCode,
        header: headerObject(response.rawHeaders),
        body: Buffer.concat(chunks),
      }));
      response.on('error', (error) => finish(`${api}:fail ${error.message}`));
    });
    request.on('error', (error) => finish(`${api}:fail ${error.code || error.message}`));
    request.end(body);
  } catch (error) {
    request = request || {destroy() {}};
    setImmediate(() => finish(`${api}:fail ${error.message}`));
  }
  return {abort() { finish(`${api}:fail abort`); request.destroy(); }};
}

function task(sent) {  // RequestTask / UploadTask: abort plus the listeners the SDK sets
  return {abort: sent.abort, onProgressUpdate() {}, offProgressUpdate() {},
    onHeadersReceived() {}, offHeadersReceived() {}};
}

function toBuffer(data, method, header) {
  if (data === undefined || data === null) return Buffer.alloc(0);
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const type = Object.entries(header || {}).find(([k]) => k.toLowerCase() === 'content-type');
  if (method !== 'GET' && (!type || /json/i.test(type[1]))) return Buffer.from(JSON.stringify(data));
  return Buffer.from(new URLSearchParams(data).toString());  // GET objects go in the URL
}

function request(o) {
  const method = (o.method || 'GET').toUpperCase();
  let url = o.url;
  if (method === 'GET' && o.data && typeof o.data === 'object' && !(o.data instanceof ArrayBuffer)) {
    url += (url.includes('?') ? '&' : '?') + new URLSearchParams(o.data).toString();
  }
  const header = {...o.header};
  if (!Object.keys(header).some((k) => k.toLowerCase() === 'content-type')) {
    header['content-type'] = 'application/json';  // wx.request's default
  }
  const body = method === 'GET' ? Buffer.alloc(0) : toBuffer(o.data, method, header);
  return task(exchange('request', {url, method, header, body, timeout: o.timeout}, (error, res) => {
    if (error) return o.fail && o.fail({errMsg: error});
    let data;
    if (o.responseType === 'arraybuffer') {
      data = res.body.buffer.slice(res.body.byteOffset, res.body.byteOffset + res.body.byteLength);
    } else {
      data = res.body.toString('utf8');
      if ((o.dataType || 'json') === 'json') try { data = JSON.parse(data); } catch (_) { /* text */ }
    }
    o.success && o.success({data, statusCode: res.statusCode, header: res.header, cookies: [],
      errMsg: 'request:ok'});
  }));
}

function uploadFile(o) {
  const boundary = '----WxStandin' + crypto.randomBytes(12).toString('hex');
  const parts = [];
  const quoted = (text) => String(text).replace(/"/g, '%22').replace(/\r?\n/g, ' ');
  for (const [name, value] of Object.entries(o.formData || {})) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${quoted(name)}"` +
      `\r\n\r\n${value}\r\n`));
  }
  let file;
  try { file = fs.readFileSync(o.filePath); } catch (error) {
    setImmediate(() => o.fail && o.fail({errMsg: `uploadFile:fail file not found: ${o.filePath}`}));
    return task({abort() {}});
  }
  parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${quoted(o.name)}"; ` +
    `filename="${quoted(path.basename(o.filePath))}"\r\nContent-Type: application/octet-stream\r\n\r\n`));
  parts.push(file, Buffer.from(`\r\n--${boundary}--\r\n`));
  const header = {};  // the client sets the multipart Content-Type itself
  for (const [k, v] of Object.entries(o.header || {})) if (k.toLowerCase() !== 'content-type') header[k] = v;
  header['Content-Type'] = `multipart/form-data; boundary=${boundary}`;
  const body = Buffer.concat(parts);
  return task(exchange('uploadFile', {url: o.url, method: 'POST', header, body, timeout: o.timeout},
    (error, res) => {
      if (error) return o.fail && o.fail({errMsg: error});
      o.success && o.success({data: res.body.toString('utf8'), statusCode: res.statusCode,
        errMsg: 'uploadFile:ok'});
    }));
}

function fileError(api, error) { return {errMsg: `${api}:fail ${error.code === 'ENOENT' ? 'no such file or directory' : error.message}`}; }

function readSlice(filePath, encoding, position, length) {
  const whole = fs.readFileSync(filePath);
  const start = position || 0;
  const slice = whole.subarray(start, length === undefined ? whole.length : start + length);
  if (encoding) return slice.toString(encoding === 'binary' ? 'latin1' : encoding);
  return slice.buffer.slice(slice.byteOffset, slice.byteOffset + slice.byteLength);
}

const fileSystemManager = {
  readFile({filePath, encoding, position, length, success, fail}) {
    setImmediate(() => {
      let data;
      try { data = readSlice(filePath, encoding, position, length); } catch (error) { return fail && fail(fileError('readFile', error)); }
      success && success({data, errMsg: 'readFile:ok'});
    });
  },
  readFileSync(filePath, encoding, position, length) { return readSlice(filePath, encoding, position, length); },
  stat({path: where, success, fail}) {
    fs.stat(where, (error, s) => {
      if (error) return fail && fail(fileError('stat', error));
      const stats = {size: s.size, mode: s.mode, lastAccessedTime: Math.floor(s.atimeMs / 1000),
        lastModifiedTime: Math.floor(s.mtimeMs / 1000), isFile: () => s.isFile(), isDirectory: () => s.isDirectory()};
      success && success({stats, errMsg: 'stat:ok'});
    });
  },
};

// wx.login: a one-time code for the local jscode2session stand-in
// (sts_tools/emulators/wechat/backend.py make_code: the same format and public key),
// for the user wx.__loginAs names (tests set it; a real wx.login knows its user).
const CODE_KEY = 'cos-sts local jscode2session: public, development only';
const b64url = (buffer) => Buffer.from(buffer).toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
function login({success, fail} = {}) {
  setImmediate(() => {
    if (!wx.__loginAs) return fail && fail({errMsg: 'login:fail no user'});
    const payload = b64url(JSON.stringify({o: wx.__loginAs, n: crypto.randomBytes(6).toString('hex')}));
    const mac = b64url(crypto.createHmac('sha256', CODE_KEY).update(payload).digest().subarray(0, 12));
    wx.__logins = (wx.__logins || 0) + 1;
    success && success({code: `wxdev.${payload}.${mac}`, errMsg: 'login:ok'});
  });
}

const storage = new Map();
const wx = {
  request, uploadFile, login,
  getFileSystemManager: () => fileSystemManager,
  getStorageSync: (key) => (storage.has(key) ? storage.get(key) : ''),
  setStorageSync: (key, value) => { storage.set(key, value); },
  removeStorageSync: (key) => { storage.delete(key); },
  clearStorageSync: () => storage.clear(),
  getAppBaseInfo: () => ({SDKVersion: '3.4.0', version: '8.0.50', language: 'en'}),  // >= 2.10.0: slices allowed
  getDeviceInfo: () => ({platform: 'devtools', system: `Node ${process.version}`}),
  getNetworkType: ({success}) => setImmediate(() => success && success({networkType: 'wifi'})),
  canIUse: (name) => typeof wx[String(name).split('.')[0]] === 'function',
};

global.wx = wx;
global.window = global;
module.exports = {wx, trace};
