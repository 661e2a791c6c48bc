// Sign-in for a WeChat mini program, without a login server: wx.login() gives a
// one-time code, the credential function's sign-in route (POST <endpoint>/login/wechat)
// exchanges it with WeChat and answers its own session token, which the function's
// /sts then accepts. Copy this file beside cos-auth-wx.js; pass `session.token` as the
// adapter's loginToken and `session` as its signIn (docs/clients.md, mini-program
// quick start).
//
// - wx.login is free and its code works once, so nothing is stored: the token is kept
//   in memory and the helper signs in again when it is within `margin` seconds of
//   expiry, or when the function answered 401 (the adapter calls invalidate()).
// - Concurrent callers share one sign-in in flight.
// - The answer's `prefix` is the user's own folder (users/<openid>/): upload there.
// - Errors carry status, code and retryAfter from the function's answer
//   (wx_code_invalid, wx_rate_limited with Retry-After: 60, wx_user_blocked...).
function cosStsLoginWx(settings) {
  var url = settings.url;                      // 'https://<endpoint>/sts/login/wechat'
  var timeout = settings.timeout || 10000;     // ms for the sign-in request
  var margin = settings.margin === undefined ? 60 : settings.margin;  // seconds
  var login = settings.login || function (options) { wx.login(options); };  // qq: qq.login
  var current = null;    // {token, expiresAt, userId, prefix}
  var inFlight = null;

  function problem(text, fields) {
    var error = new Error(text);
    for (var name in fields) if (fields.hasOwnProperty(name)) error[name] = fields[name];
    return error;
  }

  function code() {
    return new Promise(function (resolve, reject) {
      login({
        timeout: timeout,
        success: function (result) {
          if (result && result.code) resolve(result.code);
          else reject(problem('login() gave no code', {code: 'no_code'}));
        },
        fail: function (result) {
          reject(problem('login() failed: ' + ((result && result.errMsg) || ''), {code: 'login_failed'}));
        },
      });
    });
  }

  function exchange(loginCode) {
    return new Promise(function (resolve, reject) {
      wx.request({
        url: url, method: 'POST', timeout: timeout, dataType: 'json',
        header: {'Content-Type': 'application/json'},
        data: JSON.stringify({code: loginCode}),
        success: function (response) {
          var data = response.data && typeof response.data === 'object' ? response.data : {};
          if (response.statusCode === 200 && data.token && data.expiresIn > 0) {
            return resolve({token: data.token, userId: data.userId, prefix: data.prefix,
              expiresAt: Date.now() / 1000 + data.expiresIn});
          }
          var reason = data.error || {};
          var header = response.header || {};
          var retryAfter = header['Retry-After'] || header['retry-after'];
          reject(problem(response.statusCode + ' ' + (reason.code || 'bad_response') + ': ' +
            (reason.message || 'no session token'), {status: response.statusCode,
            code: reason.code || 'bad_response', retryAfter: retryAfter ? Number(retryAfter) : undefined}));
        },
        fail: function (response) {
          reject(problem('network: ' + ((response && response.errMsg) || 'request:fail'), {code: 'network_error'}));
        },
      });
    });
  }

  function signIn() {
    if (!inFlight) {
      inFlight = code().then(exchange).then(function (session) {
        current = session;
        inFlight = null;
        if (settings.onSignedIn) { try { settings.onSignedIn(session); } catch (ignored) { /* the app's hook */ } }
        return session;
      }, function (error) { inFlight = null; throw error; });
    }
    return inFlight;
  }

  function fresh() { return current && Date.now() / 1000 < current.expiresAt - margin; }

  return {
    // () => Promise of a valid session token: the adapter's loginToken.
    token: function () { return fresh() ? Promise.resolve(current.token) : signIn().then(function (s) { return s.token; }); },
    // () => Promise of {token, expiresAt, userId, prefix}: where the user may upload.
    session: function () { return fresh() ? Promise.resolve(current) : signIn(); },
    // Forget the token (the function answered 401): the next token() signs in again.
    invalidate: function () { current = null; },
  };
}

if (typeof module !== 'undefined') module.exports = cosStsLoginWx;
