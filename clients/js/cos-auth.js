// getAuthorization for cos-js-sdk-v5 (browsers) and cos-nodejs-sdk-v5 (Node 18+):
// temporary keys from the credential endpoint, asked for with the user's login token.
// Mini programs: clients/wx/cos-auth-wx.js. Android, iOS: clients/android, clients/ios.
//
// The SDK's callback takes one argument, the keys (no error argument), and the SDK call
// waits until it is called. So it is called exactly once on every path: with the keys,
// or with {} on any failure (the SDK then fails the call at once, "missing TmpSecretId"),
// after onError has been given our error: an Error with `code` (`no_login_token`,
// `network_error`, `timeout`, `bad_response`, or the endpoint's code such as
// `invalid_token`), `status` and `retryAfter` (429/503) where there is one.
function cosStsAuthorization({
  url,                  // 'https://<endpoint>/sts'
  loginToken,           // () => the user's current login token, or a Promise of it (read per request)
  profile,              // optional: a profile from the function's config
  scope,                // optional: [{action, prefix}] inside the user's folder
  scopePerRequest,      // optional: true asks for exactly options.Scope each time
  durationSeconds,      // optional
  timeout = 10000,      // ms for the whole key request: a stalled network fails the call
  onKeys,               // optional: (answer) => {}, the endpoint's whole answer
  onError = (error) => console.error('cos-sts:', error.message),
}) {
  const problem = (text, fields) => Object.assign(new Error(text), fields);
  const text = (value) => typeof value === 'string' && value.length > 0;
  const tenDigits = (value) => /^[0-9]{10}$/.test(String(value));
  const timedOut = (error) => Boolean(error) && (error.name === 'TimeoutError' || error.name === 'AbortError');

  // The SDK's key fields, or null when the answer does not hold usable keys.
  function keysFrom(data) {
    const c = data && typeof data === 'object' ? data.credentials : null;
    if (!c || typeof c !== 'object' || !text(c.tmpSecretId) || !text(c.tmpSecretKey) ||
        !text(c.sessionToken) || !tenDigits(data.startTime) || !tenDigits(data.expiredTime)) {
      return null;
    }
    return {
      TmpSecretId: c.tmpSecretId,
      TmpSecretKey: c.tmpSecretKey,
      SecurityToken: c.sessionToken,
      StartTime: Number(data.startTime),      // the server's time: never in the future
      ExpiredTime: Number(data.expiredTime),  // the SDK asks again 60 s before this
      ScopeLimit: Boolean(scopePerRequest),   // keys for one scope: cache them per scope
    };
  }

  return function getAuthorization(options, callback) {
    let done = false;
    const finish = (keys) => { if (!done) { done = true; callback(keys); } };
    const fail = (error) => {
      if (done) return;
      try { onError(error); } catch (ignored) { /* the app's hook must not keep the SDK waiting */ }
      finish({});   // {} fails the SDK's call at once; without a call it would hang
    };
    const body = {profile, durationSeconds, scope: scopePerRequest ? options.Scope : scope};

    Promise.resolve()
      .then(loginToken)   // a throw or a rejection lands in catch below
      .catch((error) => {
        throw problem('no login token: ' + ((error && error.message) || error), {code: 'no_login_token'});
      })
      .then((token) => {
        if (!text(token)) throw problem('no login token: sign the user in first', {code: 'no_login_token'});
        return fetch(url, {
          method: 'POST',
          headers: {'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'},
          body: JSON.stringify(body),       // undefined fields are left out
          signal: AbortSignal.timeout(timeout),
        }).then((response) => response.json()
          .catch((error) => { if (timedOut(error)) throw error; return {}; })   // not JSON: no keys
          .then((data) => ({response, data})));
      })
      .then(({response, data}) => {
        const keys = response.ok ? keysFrom(data) : null;
        if (!keys) {
          const error = (data && data.error) || {};
          const code = error.code || (response.ok ? 'bad_response' : 'http_' + response.status);
          const reason = error.message || (response.ok ? 'the endpoint did not return usable keys' : response.statusText);
          throw problem(`${response.status} ${code}: ${reason}`, {
            status: response.status, code,   // 401: sign in again; 403: not allowed
            retryAfter: Number(response.headers.get('Retry-After')) || undefined,  // 429/503
            requestId: (data && data.requestId) || response.headers.get('X-Request-Id') || undefined,
          });
        }
        try { if (onKeys) onKeys(data); } catch (ignored) { /* never block the upload */ }
        finish(keys);
      })
      .catch((error) => {
        if (error && typeof error.code === 'string') return fail(error);   // ours (DOMException's code is a number)
        // fetch's own failures: the time ran out, or no HTTP answer (offline, DNS, CORS)
        fail(timedOut(error)
          ? problem(`no answer from the credential endpoint within ${timeout} ms`, {code: 'timeout'})
          : problem('network: ' + (error && error.message), {code: 'network_error'}));
      });
  };
}

if (typeof module !== 'undefined') module.exports = cosStsAuthorization;  // Node: require() it
