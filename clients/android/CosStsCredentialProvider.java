/*
 * CosStsCredentialProvider.java: temporary COS keys for qcloud-sdk-android, fetched from the
 * cos-sts credential endpoint (POST <endpoint>/sts with the user's login token).
 *
 * Written against qcloud-sdk-android 5.9.51 (tencentyun/qcloud-sdk-android @252230a, folder
 * QCloudFoundation/foundation, package com.tencent.qcloud.core.auth). Copy this file whole into
 * the app, change the package line, and use it OR the Kotlin twin (CosStsCredentialProvider.kt),
 * not both. Needs only what the SDK already brings: OkHttp 3.12+ (the SDK's own dependency) and
 * Android's org.json.
 *
 * ---- Usage -----------------------------------------------------------------------------------
 *
 *   // Whole-profile keys: one key request per key lifetime, reused for every COS call.
 *   CosStsCredentialProvider keys = new CosStsCredentialProvider.Builder(
 *           "https://<endpoint>/sts",
 *           () -> session.currentLoginToken())   // read again for EVERY key request
 *       .profile("upload")                       // optional: the function's default otherwise
 *       .durationSeconds(1800)                   // optional
 *       .build();
 *
 *   CosXmlServiceConfig config = new CosXmlServiceConfig.Builder()
 *       .setRegion("ap-guangzhou").isHttps(true).builder();
 *   CosXmlService cos = new CosXmlService(context, config, keys);
 *   TransferManager transfers = new TransferManager(cos, new TransferConfig.Builder().build());
 *   transfers.upload("examplebucket-1250000000", "users/" + uid + "/photo.jpg", path, null);
 *
 *   // In any failure listener: our endpoint's own answer, if that is what failed.
 *   CosStsCredentialProvider.StsException why =
 *       CosStsCredentialProvider.StsException.find(clientException);
 *   if (why != null && why.status == 401) { ... sign the user in again ... }
 *   if (why != null && why.retryAfterSeconds > 0) { ... try again after that many seconds ... }
 *
 *   // Per-request keys (STSScopeLimitCredentialProvider's job): one key request per distinct
 *   // (action, key), each asking only for that request's action on that object.
 *   CosStsCredentialProvider.ScopeLimited scoped = new CosStsCredentialProvider.Builder(url, tokens)
 *       .profile("read-write")                  // sent as ?profile= (the body is a bare array)
 *       .buildScopeLimited();
 *   CosXmlService cos = new CosXmlService(context, config, scoped);
 *
 * ---- What per-request scopes can and cannot do (read from the SDK source) --------------------
 *
 *  - The SDK names the action after the request class (CosXmlRequest.java:479,
 *    "name/cos:" + simple class name minus "Request"): PutObject, GetObject, HeadObject,
 *    DeleteObject are CAM names, but ListMultiUploadsRequest becomes "name/cos:ListMultiUploads",
 *    which no profile lists (CAM calls it ListMultipartUploads), so the endpoint refuses it
 *    (403 scope_denied). Likewise getObject(bucket, key), the bytes form, sends a
 *    GetObjectBytesRequest: "name/cos:GetObjectBytes", refused, the message naming
 *    name/cos:GetObject; download to a file with a GetObjectRequest instead.
 *  - The multipart requests (Init, ListParts, UploadPart, Complete, Abort) all ask for the same
 *    five actions on the object (BaseMultipartUploadRequest.java:38-52): one key request per upload.
 *  - TransferService (COSUploadTask.java:454, 569) lists the bucket's uploads before a multipart
 *    upload, and BucketRequest.getPath is "/" (BucketRequest.java:45-46), so its scope prefix is ""
 *    - the whole bucket. That is never granted: TransferService multipart uploads fail with
 *    scoped keys. TransferService still works for simple uploads (files under its 2 MiB
 *    division, or TransferConfig.Builder().setForceSimpleUpload(true)).
 *  - TransferManager (COSXMLUploadTask) does not list uploads: its simple PutObject and its
 *    multipart path work with per-request scopes. Prefer TransferManager with ScopeLimited.
 *  - GetBucketRequest without setPrefix sends no prefix (GetBucketRequest.java:105-108), which the
 *    endpoint refuses (403: a listing of the whole bucket is never granted); set a prefix
 *    inside the user's folder.
 *  - The scope-limited provider sends no durationSeconds (a bare array has no room for it).
 *
 * ---- Why it is written this way (qcloud-sdk-android 5.9.51) ------------------------------------
 *
 *  - It does its own HTTP instead of SessionCredentialProvider: SessionCredentialProvider(HttpRequest)
 *    reuses one request object, so a login token put into it is frozen
 *    (SessionCredentialProvider.java:54-56, 105-107); a reused HttpRequest.Builder appends a second
 *    Authorization header on each fetch (HttpRequest.java:347-352); a non-2xx answer keeps only
 *    the status line and drops our error body and Retry-After (SessionCredentialProvider.java:86-91);
 *    and QCloudHttpClient.getDefault() waits 15 s to connect and 30 s per read with retries
 *    (QCloudHttpClient.java:343-344). Here every fetch builds a new request with the current token,
 *    reads the body for every status, and is bounded by OkHttp's callTimeout (DNS included).
 *  - BasicLifecycleCredentialProvider (whole profile) refetches when isValid() is false and waits
 *    at most 20 s for a fetch already running (BasicLifecycleCredentialProvider.java:47-87); the
 *    default total timeout here (15 s) stays under that.
 *  - SessionQCloudCredentials.isValid() compares the DEVICE clock with expiredTime - 60
 *    (SessionQCloudCredentials.java:124-128; the clock-offset correction is commented out in
 *    HttpConfiguration.java:61-66): a phone a few minutes slow keeps using expired keys. Keys here
 *    carry a deadline on the monotonic clock instead, computed from the server's time (the
 *    response's Date header, and startTime, which is never later than the server's clock).
 *  - The signature itself uses startTime;expiredTime from the answer (COSXmlSigner.java:62-75 via
 *    SessionQCloudCredentials.getKeyTime), so it is already independent of the device clock.
 *  - Errors are thrown as StsException (a QCloudClientException) whose root cause is a
 *    QCloudAuthenticationException (HTTP answers) or the IOException (network): the SDK maps those
 *    to ClientErrorCode INVALID_CREDENTIALS / IO_ERROR and keeps this exception as the cause
 *    (CosTrackService.java:805-822); StsException.find() digs it out.
 */
package com.example.cossts; // change to your app's package

import android.os.SystemClock;

import com.tencent.qcloud.core.auth.BasicLifecycleCredentialProvider;
import com.tencent.qcloud.core.auth.BasicScopeLimitCredentialProvider;
import com.tencent.qcloud.core.auth.QCloudLifecycleCredentials;
import com.tencent.qcloud.core.auth.STSCredentialScope;
import com.tencent.qcloud.core.auth.SessionQCloudCredentials;
import com.tencent.qcloud.core.common.QCloudAuthenticationException;
import com.tencent.qcloud.core.common.QCloudClientException;

import org.json.JSONException;
import org.json.JSONObject;

import java.io.IOException;
import java.io.UnsupportedEncodingException;
import java.net.URLEncoder;
import java.nio.charset.Charset;
import java.util.Date;
import java.util.concurrent.TimeUnit;

import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/** Whole-profile keys for CosXmlService; see the file header for usage. */
public final class CosStsCredentialProvider extends BasicLifecycleCredentialProvider {

    /**
     * Supplies the app user's current login token. Called on an SDK worker thread, once per key
     * request, while other COS requests wait (at most 20 s) for the keys: return the token the app
     * holds (refresh it elsewhere), or null when signed out.
     */
    public interface LoginTokenSource {
        String loginToken() throws Exception;
    }

    private final Endpoint endpoint;
    private final String body;

    private CosStsCredentialProvider(Endpoint endpoint, String body) {
        this.endpoint = endpoint;
        this.body = body;
    }

    @Override
    protected QCloudLifecycleCredentials fetchNewCredentials() throws QCloudClientException {
        return endpoint.fetch(body);
    }

    /**
     * Per-request keys: the SDK passes each request's STSCredentialScope[] and caches keys per
     * scope (BasicScopeLimitCredentialProvider.java:41-51). The body is the SDK's own
     * STSCredentialScope.jsonify, byte for byte what STSScopeLimitCredentialProvider sends.
     */
    public static final class ScopeLimited extends BasicScopeLimitCredentialProvider {
        private final Endpoint endpoint;

        private ScopeLimited(Endpoint endpoint) {
            this.endpoint = endpoint;
        }

        @Override
        protected SessionQCloudCredentials fetchNewCredentials(STSCredentialScope[] scopes)
                throws QCloudClientException {
            return endpoint.fetch(STSCredentialScope.jsonify(scopes));
        }
    }

    public static final class Builder {
        private final String url;
        private final LoginTokenSource tokens;
        private String profile;
        private Integer durationSeconds;
        private long connectTimeoutMs = 5_000;
        private long readTimeoutMs = 10_000;
        private long totalTimeoutMs = 15_000;   // under the SDK's 20 s wait for a running fetch
        private long refreshMarginSeconds = 60; // at least the SDK's own 60 s (AuthConstants.java:43)
        private OkHttpClient httpClient;

        /** @param url the endpoint, e.g. "https://<endpoint>/sts" */
        public Builder(String url, LoginTokenSource tokens) {
            if (url == null || !(url.startsWith("https://") || url.startsWith("http://"))) {
                throw new IllegalArgumentException("url must be an http(s) URL: " + url);
            }
            if (tokens == null) {
                throw new IllegalArgumentException("tokens must not be null");
            }
            this.url = url;
            this.tokens = tokens;
        }

        /** A profile from the function's config; sent as ?profile= (and in the JSON body when there is one). */
        public Builder profile(String profile) {
            this.profile = profile;
            return this;
        }

        /** Key lifetime; whole-profile provider only (the scope provider's bare-array body has no room). */
        public Builder durationSeconds(int seconds) {
            this.durationSeconds = seconds;
            return this;
        }

        public Builder timeouts(long connectMs, long readMs, long totalMs) {
            if (connectMs <= 0 || readMs <= 0 || totalMs <= 0) {
                throw new IllegalArgumentException("timeouts must be positive");
            }
            this.connectTimeoutMs = connectMs;
            this.readTimeoutMs = readMs;
            this.totalTimeoutMs = totalMs;
            return this;
        }

        /** Seconds before expiredTime (server clock) at which keys count as expired; at least 60. */
        public Builder refreshMarginSeconds(long seconds) {
            this.refreshMarginSeconds = Math.max(60, seconds);
            return this;
        }

        /** Your own OkHttpClient (proxy, certificate pinning); the timeouts above are applied to a copy. */
        public Builder httpClient(OkHttpClient client) {
            this.httpClient = client;
            return this;
        }

        public CosStsCredentialProvider build() {
            JSONObject body = new JSONObject();
            try {
                if (profile != null) body.put("profile", profile);
                if (durationSeconds != null) body.put("durationSeconds", durationSeconds.intValue());
            } catch (JSONException e) {
                throw new IllegalArgumentException(e);
            }
            return new CosStsCredentialProvider(endpoint(), body.toString());
        }

        public ScopeLimited buildScopeLimited() {
            return new ScopeLimited(endpoint());
        }

        private Endpoint endpoint() {
            String target = url;
            if (profile != null) {
                target += (url.indexOf('?') < 0 ? "?" : "&") + "profile=" + urlEncode(profile);
            }
            OkHttpClient.Builder http = httpClient != null ? httpClient.newBuilder() : new OkHttpClient.Builder();
            http.connectTimeout(connectTimeoutMs, TimeUnit.MILLISECONDS)
                    .readTimeout(readTimeoutMs, TimeUnit.MILLISECONDS)
                    .writeTimeout(readTimeoutMs, TimeUnit.MILLISECONDS)
                    .callTimeout(totalTimeoutMs, TimeUnit.MILLISECONDS) // the whole call, DNS included
                    .retryOnConnectionFailure(false) // one attempt; the SDK asks again on its next request
                    .followRedirects(false)          // never carry the login token elsewhere
                    .followSslRedirects(false);
            return new Endpoint(target, tokens, http.build(), refreshMarginSeconds);
        }
    }

    /** Our endpoint's answer (or why there was none), as the app sees it through the SDK's exceptions. */
    public static final class StsException extends QCloudClientException {
        private static final long serialVersionUID = 1L;

        /** HTTP status; 0 when no answer came (network, timeout) or the app had no login token. */
        public final int status;
        /** The endpoint's error.code (invalid_token, scope_denied, rate_limited, ...), or a local one:
         *  network_error, no_login_token, bad_response, http_<status> for an answer without our JSON. */
        public final String code;
        /** The endpoint's error.message, or a local description. */
        public final String serverMessage;
        /** From Retry-After (429, 503); 0 when the endpoint gave none. */
        public final long retryAfterSeconds;
        /** The endpoint's requestId (or X-Request-Id), for support; may be null. */
        public final String requestId;

        StsException(int status, String code, String serverMessage, long retryAfterSeconds,
                     String requestId, Throwable networkCause) {
            super(describe(status, code, serverMessage, retryAfterSeconds, requestId),
                    networkCause != null ? networkCause
                            : new QCloudAuthenticationException(
                                    describe(status, code, serverMessage, retryAfterSeconds, requestId)));
            this.status = status;
            this.code = code;
            this.serverMessage = serverMessage;
            this.retryAfterSeconds = retryAfterSeconds;
            this.requestId = requestId;
        }

        /** Worth asking again later: no answer, throttled, or a server-side failure. */
        @Override
        public boolean isRetryable() {
            return (status == 0 && !"no_login_token".equals(code)) || status == 429 || status >= 500;
        }

        /** The StsException behind an SDK exception (CosXmlClientException wraps it), or null. */
        public static StsException find(Throwable error) {
            for (int depth = 0; error != null && depth < 16; depth++, error = error.getCause()) {
                if (error instanceof StsException) return (StsException) error;
            }
            return null;
        }

        private static String describe(int status, String code, String message, long retryAfter, String requestId) {
            StringBuilder text = new StringBuilder("cos-sts ");
            if (status > 0) text.append(status).append(' ');
            text.append(code).append(": ").append(message);
            if (retryAfter > 0) text.append(" (retry after ").append(retryAfter).append(" s)");
            if (requestId != null) text.append(" [requestId ").append(requestId).append(']');
            return text.toString();
        }
    }

    /**
     * Keys whose validity is a deadline on the monotonic clock (elapsedRealtime counts deep sleep),
     * so neither a wrong device clock nor the user changing it makes expired keys look valid.
     * Signing still uses the server's startTime;expiredTime (getKeyTime, inherited).
     */
    static final class Keys extends SessionQCloudCredentials {
        private final long validUntilElapsedMs;

        Keys(String id, String key, String token, long startTime, long expiredTime, long validUntilElapsedMs) {
            super(id, key, token, startTime, expiredTime);
            this.validUntilElapsedMs = validUntilElapsedMs;
        }

        @Override
        public boolean isValid() {
            return SystemClock.elapsedRealtime() < validUntilElapsedMs;
        }
    }

    /** One HTTP exchange per fetch; shared by both providers. Thread-safe. */
    static final class Endpoint {
        private static final MediaType JSON = MediaType.parse("application/json; charset=utf-8");
        private static final Charset UTF_8 = Charset.forName("UTF-8");
        private static final long MAX_BODY_BYTES = 64 * 1024;

        private final String url;
        private final LoginTokenSource tokens;
        private final OkHttpClient http;
        private final long refreshMarginSeconds;

        // Retry-After: no request to the endpoint before this (elapsedRealtime ms); the last refusal.
        private volatile long quietUntilElapsedMs;
        private volatile StsException lastRefusal;

        Endpoint(String url, LoginTokenSource tokens, OkHttpClient http, long refreshMarginSeconds) {
            this.url = url;
            this.tokens = tokens;
            this.http = http;
            this.refreshMarginSeconds = refreshMarginSeconds;
        }

        Keys fetch(String body) throws StsException {
            StsException refusal = lastRefusal;
            long wait = quietUntilElapsedMs - SystemClock.elapsedRealtime();
            if (refusal != null && wait > 0) {
                // Honour Retry-After: fail this COS request at once instead of asking again.
                throw new StsException(refusal.status, refusal.code, refusal.serverMessage,
                        (wait + 999) / 1000, refusal.requestId, null);
            }

            String token;
            try {
                token = tokens.loginToken();
            } catch (Exception e) {
                throw new StsException(0, "no_login_token", "the app could not supply a login token: " + e, 0, null, null);
            }
            if (token == null || token.trim().isEmpty()) {
                throw new StsException(0, "no_login_token", "the app has no login token (sign the user in first)", 0, null, null);
            }

            // A new Request each time: the current token, exactly one Authorization header.
            Request request = new Request.Builder()
                    .url(url)
                    .header("Authorization", "Bearer " + token.trim())
                    .header("Accept", "application/json")
                    .post(RequestBody.create(JSON, body.getBytes(UTF_8)))
                    .build();

            long sentAtMs = SystemClock.elapsedRealtime();
            Response response = null;
            try {
                response = http.newCall(request).execute();
                // Read the body for every status: our error.code/message live there.
                String text = response.peekBody(MAX_BODY_BYTES).string();
                if (response.code() == 200) {
                    return parseKeys(response, text, sentAtMs);
                }
                throw refusal(response, text, sentAtMs);
            } catch (IOException e) { // connect/read/call timeout, DNS, TLS, reset
                throw new StsException(0, "network_error", "no answer from the credential endpoint: " + e, 0, null, e);
            } finally {
                if (response != null) response.close();
            }
        }

        private Keys parseKeys(Response response, String text, long sentAtMs) throws StsException {
            String requestId = response.header("X-Request-Id");
            try {
                JSONObject doc = new JSONObject(text);
                JSONObject credentials = doc.optJSONObject("credentials");
                requestId = doc.optString("requestId", requestId);
                String id = credentials == null ? "" : credentials.optString("tmpSecretId");
                String key = credentials == null ? "" : credentials.optString("tmpSecretKey");
                String token = credentials == null ? "" : credentials.optString("sessionToken");
                long startTime = doc.optLong("startTime");
                long expiredTime = doc.optLong("expiredTime");
                if (id.isEmpty() || key.isEmpty() || token.isEmpty() || startTime <= 0 || expiredTime <= startTime) {
                    throw new StsException(200, "bad_response", "the answer has no usable credentials/startTime/expiredTime", 0, requestId, null);
                }

                // The server's "now": its Date header, and never earlier than startTime (startTime is
                // never later than the server's clock, so a device behind it is known to be slow).
                long serverNow = System.currentTimeMillis() / 1000;
                Date date = response.headers().getDate("Date");
                if (date != null) serverNow = date.getTime() / 1000;
                serverNow = Math.max(serverNow, startTime);
                long life = expiredTime - serverNow;
                if (life <= 0) {
                    throw new StsException(200, "bad_response", "the keys had expired by the server's own clock", 0, requestId, null);
                }
                // Counted from when the request left, so the round trip is on the safe side. Keys with
                // less life than the margin are still used once (the SDK signs with what a refresh
                // returned) and asked for again on the next request.
                long validUntil = sentAtMs + Math.max(0, life - refreshMarginSeconds) * 1000;
                return new Keys(id, key, token, startTime, expiredTime, validUntil);
            } catch (JSONException e) {
                throw new StsException(200, "bad_response", "the answer is not JSON: " + snippet(text), 0, requestId, null);
            }
        }

        private StsException refusal(Response response, String text, long sentAtMs) {
            int status = response.code();
            String code = "http_" + status;
            String message = response.message();
            String requestId = response.header("X-Request-Id");
            try {
                JSONObject doc = new JSONObject(text);
                JSONObject error = doc.optJSONObject("error");
                if (error != null) {
                    code = error.optString("code", code);
                    message = error.optString("message", message);
                }
                requestId = doc.optString("requestId", requestId);
            } catch (JSONException notOurs) {
                // A gateway or proxy page: keep the status line, show the start of the body.
                if (message == null || message.isEmpty()) message = snippet(text);
            }
            if (message == null || message.isEmpty()) message = "HTTP " + status;

            long retryAfter = retryAfterSeconds(response);
            StsException refusal = new StsException(status, code, message, retryAfter, requestId, null);
            if (retryAfter > 0) {
                lastRefusal = refusal;
                quietUntilElapsedMs = sentAtMs + retryAfter * 1000;
            }
            return refusal;
        }

        /** Retry-After as delay-seconds or an HTTP date; 0 when absent or unreadable; capped at 1 h. */
        private static long retryAfterSeconds(Response response) {
            String value = response.header("Retry-After");
            if (value == null) return 0;
            long seconds;
            try {
                seconds = Long.parseLong(value.trim());
            } catch (NumberFormatException notSeconds) {
                Date at = response.headers().getDate("Retry-After");
                if (at == null) return 0;
                seconds = (at.getTime() - System.currentTimeMillis() + 999) / 1000;
            }
            return Math.max(0, Math.min(seconds, 3600));
        }

        private static String snippet(String text) {
            if (text == null) return "";
            String flat = text.replaceAll("\\s+", " ").trim();
            return flat.length() > 200 ? flat.substring(0, 200) + "..." : flat;
        }
    }

    private static String urlEncode(String value) {
        try {
            return URLEncoder.encode(value, "UTF-8");
        } catch (UnsupportedEncodingException impossible) {
            throw new IllegalStateException(impossible);
        }
    }
}
