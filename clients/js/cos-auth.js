// getAuthorization for cos-js-sdk-v5 (browsers) and cos-nodejs-sdk-v5 (Node 18+):
// temporary keys from the credential endpoint, asked for with the user's login token.
// Mini programs: clients/wx/cos-auth-wx.js. Android, iOS: clients/android, clients/ios.
function cosStsAuthorization({
  url,                  // 'https://<endpoint>/sts'
  loginToken,           // () => the user's current login token (read for every request)
  profile,              // optional: a profile from the function's config
  scope,                // optional: [{action, prefix}] inside the user's folder
  scopePerRequest,      // optional: true asks for exactly options.Scope each time
  durationSeconds,      // optional
  timeout = 10000,      // ms for the whole key request: a stalled network fails the call
  onKeys,               // optional: (answer) => {}, the endpoint's whole answer
  onError = (error) => console.error('cos-sts:', error.message),
}) {
  return function getAuthorization(options, callback) {
    const body = {profile, durationSeconds, scope: scopePerRequest ? options.Scope : scope};
    fetch(url, {
      method: 'POST',
      headers: {'Authorization': 'Bearer ' + loginToken(), 'Content-Type': 'application/json'},
      body: JSON.stringify(body),       // undefined fields are left out
      signal: AbortSignal.timeout(timeout),
    })
      .then((response) => response.json().catch(() => ({})).then((data) => {
        if (!response.ok || !data.credentials) {
          const error = (data && data.error) || {};
          const text = `${response.status} ${error.code || 'error'}: ${error.message || response.statusText}`;
          throw Object.assign(new Error(text), {
            status: response.status, code: error.code,   // 401: sign in again; 403: not allowed
            retryAfter: Number(response.headers.get('Retry-After')) || undefined,  // 429/503
          });
        }
        return data;
      }))
      .then((data) => {
        if (onKeys) onKeys(data);
        callback({
          TmpSecretId: data.credentials.tmpSecretId,
          TmpSecretKey: data.credentials.tmpSecretKey,
          SecurityToken: data.credentials.sessionToken,
          StartTime: data.startTime,      // the server's time: never in the future
          ExpiredTime: data.expiredTime,  // the SDK asks again 60 s before this
          ScopeLimit: Boolean(scopePerRequest),  // keys for one scope: cache them per scope
        });
      })
      .catch((error) => {
        onError(error);   // 401/403/429..., or a network or CORS failure
        callback({});     // the callback takes no error: this fails the request, else it hangs
      });
  };
}

if (typeof module !== 'undefined') module.exports = cosStsAuthorization;  // Node: require() it
