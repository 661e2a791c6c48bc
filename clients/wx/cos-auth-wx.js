// getAuthorization for cos-wx-sdk-v5 (WeChat mini programs): temporary keys from the
// credential endpoint, asked for with wx.request and the user's login token.
// Copy this file into the mini program as is; add the endpoint's domain to the
// "request" allow-list and the bucket's domain to "request" and "uploadFile".
//
// Written against cos-wx-sdk-v5 1.8.0 (npm; identical to git tag v1.8.0, cd11a33):
// - src/base.js:3715-3749: the SDK calls getAuthorization(options, callback) and the
//   callback takes ONE argument, the keys: there is no error argument. Until it is
//   called the SDK call waits, forever (no timeout of its own). So this adapter calls
//   it exactly once on every path; on a failure with {}, which the SDK turns into the
//   error 'getAuthorization callback params missing "TmpSecretId"' (base.js:3694) and
//   fails the call at once. The real reason goes to onError.
// - base.js:3662-3707: TmpSecretId, TmpSecretKey, SecurityToken and ExpiredTime are
//   required; ExpiredTime and StartTime must be 10-digit seconds.
// - base.js:3710: cached keys are reused while more than 60 s of ExpiredTime remain;
//   base.js:3620-3621: they are dropped when device time + 30 s is before StartTime.
//   StartTime is the server's (never in the future), so requests are signed with the
//   window StartTime;ExpiredTime (base.js:3633-3638).
//   Beware base.js:3634-3635: getObjectUrl({Expires: E}) signs StartTime;StartTime+E, and
//   keys the endpoint reuses keep their first StartTime (minutes old): such a URL can be
//   expired when made. Without Expires it lives as long as the keys.
// - base.js:3625: with ScopeLimit the cache is per options.Scope (scopePerRequest). For
//   postObject that Scope is the exact object key (base.js:3600-3611).
// - profile goes in the JSON body (the endpoint also takes ?profile= in the URL; a
//   profile in the body wins).
// - wx.request calls `success` for every HTTP status and `fail` only for network
//   errors, so the status is checked here: anything but 200 with keys is an error.
function cosStsAuthorizationWx(settings) {
  var url = settings.url;                    // 'https://<endpoint>/sts'
  var loginToken = settings.loginToken;      // () => the current login token (or a Promise of it), read per fetch
  var profile = settings.profile;            // optional: a profile from the function's config (sent in the body)
  var scope = settings.scope;                // optional: [{action, prefix}] inside the user's folder
  var scopePerRequest = settings.scopePerRequest;  // optional: true asks for exactly options.Scope each time
  var durationSeconds = settings.durationSeconds;  // optional
  var timeout = settings.timeout || 10000;   // ms for the whole key request (wx's default is 60 s)
  var onKeys = settings.onKeys;              // optional: (answer) => {}, the endpoint's whole answer
  var onError = settings.onError || function (error) { console.error('cos-sts:', error.message); };
  var signIn = settings.signIn;              // optional: cos-login-wx.js's helper; on a 401 the adapter
                                             // calls signIn.invalidate() and asks once more with a new token

  function problem(text, fields) {
    var error = new Error(text);
    for (var name in fields) if (fields.hasOwnProperty(name)) error[name] = fields[name];
    return error;
  }

  function headerValue(header, wanted) {
    for (var name in header || {}) if (name.toLowerCase() === wanted) return header[name];
    return undefined;
  }

  function tenDigits(value) { return /^[0-9]{10}$/.test(String(value)); }
  function text(value) { return typeof value === 'string' && value.length > 0; }

  return function getAuthorization(options, callback) {
    var done = false;
    var watchdog = null;
    function finish(keys) {
      if (done) return;
      done = true;
      clearTimeout(watchdog);
      callback(keys);
    }
    function fail(error) {
      if (done) return;
      try { onError(error); } catch (ignored) { /* the app's hook must not keep the SDK waiting */ }
      finish({});
    }
    // Belt and braces: even if wx never calls success or fail, the SDK gets its answer.
    watchdog = setTimeout(function () {
      fail(problem('no answer from the credential endpoint within ' + timeout + ' ms', {code: 'timeout'}));
    }, timeout + 1000);

    var body = {profile: profile, durationSeconds: durationSeconds,
      scope: scopePerRequest ? options.Scope : scope};  // JSON.stringify drops undefined fields
    function ask(retried) { Promise.resolve().then(loginToken).catch(function (error) {
      throw problem('no login token: ' + ((error && error.message) || error), {code: 'no_login_token'});
    }).then(function (token) {
      if (done) return;
      if (!text(token)) throw problem('no login token: sign the user in first', {code: 'no_login_token'});
      wx.request({
        url: url,
        method: 'POST',
        header: {'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'},
        data: JSON.stringify(body),
        dataType: 'json',
        responseType: 'text',
        timeout: timeout,
        success: function (response) {
          var status = response.statusCode;
          var data = response.data && typeof response.data === 'object' ? response.data : {};
          var c = data.credentials;
          if (status === 200 && c && text(c.tmpSecretId) && text(c.tmpSecretKey) && text(c.sessionToken) &&
              tenDigits(data.expiredTime) && tenDigits(data.startTime)) {
            var keys = {
              TmpSecretId: c.tmpSecretId,
              TmpSecretKey: c.tmpSecretKey,
              SecurityToken: c.sessionToken,
              StartTime: Number(data.startTime),      // the server's time: never in the future
              ExpiredTime: Number(data.expiredTime),  // the SDK asks again 60 s before this
              ScopeLimit: Boolean(scopePerRequest),   // keys for one scope: cached per scope
            };
            try { if (onKeys) onKeys(data); } catch (ignored) { /* never block the upload */ }
            return finish(keys);
          }
          if (status === 401 && signIn && !retried) {   // the session token expired or was revoked
            signIn.invalidate();
            return ask(true);
          }
          var reason = data.error || {};
          var code = reason.code || (status === 200 ? 'bad_response' : 'http_' + status);
          var retryAfter = headerValue(response.header, 'retry-after');
          fail(problem(status + ' ' + code + ': ' + (reason.message || 'the endpoint did not return keys'), {
            status: status,       // 401 sign in again; 403 not allowed; 429/503 wait retryAfter s; 5xx later
            code: code,
            retryAfter: retryAfter === undefined ? undefined : Number(retryAfter),
            requestId: data.requestId || headerValue(response.header, 'x-request-id'),
          }));
        },
        fail: function (response) {   // no HTTP answer: offline, refused, DNS, TLS, timeout
          var message = (response && response.errMsg) || 'request:fail';
          fail(problem('network: ' + message, {code: /timeout/.test(message) ? 'timeout' : 'network_error'}));
        },
      });
    }).catch(function (error) {
      fail(error && error.code ? error : problem('getAuthorization: ' + (error && error.message), {code: 'client_error'}));
    }); }
    ask(false);
  };
}

if (typeof module !== 'undefined') module.exports = cosStsAuthorizationWx;
