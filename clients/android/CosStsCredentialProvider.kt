/*
 * CosStsCredentialProvider.kt: temporary COS keys for qcloud-sdk-android, fetched from the
 * cos-sts credential endpoint (POST <endpoint>/sts with the user's login token).
 *
 * Written against qcloud-sdk-android 5.9.51 (tencentyun/qcloud-sdk-android @252230a). The Kotlin
 * twin of CosStsCredentialProvider.java: same classes, same behaviour, same bytes on the wire.
 * Copy ONE of the two into the app and change the package line. This one uses
 * java.net.HttpURLConnection rather than OkHttp, because Kotlin code cannot call OkHttp 3
 * (response.code()) and OkHttp 4 (response.code) the same way, and an app may have either.
 *
 * ---- Usage -----------------------------------------------------------------------------------
 *
 *   val keys = CosStsCredentialProvider.Builder("https://<endpoint>/sts") { session.currentLoginToken() }
 *       .profile("upload")          // optional: the function's default profile otherwise
 *       .durationSeconds(1800)      // optional
 *       .build()
 *   val config = CosXmlServiceConfig.Builder().setRegion("ap-guangzhou").isHttps(true).builder()
 *   val cos = CosXmlService(context, config, keys)
 *   val transfers = TransferManager(cos, TransferConfig.Builder().build())
 *   transfers.upload("examplebucket-1250000000", "users/$uid/photo.jpg", path, null)
 *
 *   // In a failure listener:
 *   val why = CosStsCredentialProvider.StsException.find(clientException)
 *   when {
 *       why?.status == 401 -> signInAgain()
 *       why != null && why.retryAfterSeconds > 0 -> retryLater(why.retryAfterSeconds)
 *   }
 *
 *   // Per-request keys (instead of STSScopeLimitCredentialProvider): profile goes in ?profile=.
 *   val scoped = CosStsCredentialProvider.Builder(url) { session.currentLoginToken() }
 *       .profile("read-write").buildScopeLimited()
 *   val cos = CosXmlService(context, config, scoped)
 *
 * ---- Per-request scopes, from the SDK source ----------------------------------------------------
 *
 *  - Action = "name/cos:" + request class name minus "Request" (CosXmlRequest.java:479), so
 *    ListMultiUploadsRequest asks for "name/cos:ListMultiUploads" (CAM: ListMultipartUploads):
 *    refused, 403 scope_denied. getObject(bucket, key) (bytes) asks for
 *    "name/cos:GetObjectBytes" (CAM: GetObject): refused too; use a GetObjectRequest to a file.
 *  - Multipart requests ask for the five actions of BaseMultipartUploadRequest.java:38-52.
 *  - TransferService lists uploads before a multipart upload (COSUploadTask.java:454, 569) over
 *    prefix "" (BucketRequest.java:45-46), the whole bucket: never granted, so its multipart
 *    uploads fail with scoped keys; its simple uploads (< 2 MiB, or setForceSimpleUpload(true))
 *    work. TransferManager (COSXMLUploadTask) lists nothing: use it with ScopeLimited.
 *  - GetBucketRequest without a prefix sends none (GetBucketRequest.java:105-108): 403,
 *    a listing of the whole bucket is never granted.
 *  - No durationSeconds with ScopeLimited: the body is a bare array.
 *
 * ---- Why (details in the Java twin's header) ----------------------------------------------------
 *
 *  - Own HTTP, not SessionCredentialProvider: its HttpRequest form freezes the login token
 *    (SessionCredentialProvider.java:54-56, 105-107), a reused builder doubles Authorization
 *    (HttpRequest.java:347-352), its errors drop our body (:86-91).
 *  - Every exchange runs under a hard deadline (default 15 s, under the SDK's 20 s lock wait in
 *    BasicLifecycleCredentialProvider.java:60): connect/read timeouts alone do not bound DNS.
 *  - Validity is a monotonic deadline from the server's clock (Date header, startTime), not the
 *    device clock SessionQCloudCredentials.isValid uses (SessionQCloudCredentials.java:124-128).
 *  - Errors are StsException (a QCloudClientException), root cause QCloudAuthenticationException
 *    or the IOException, as CosTrackService.convertClientException expects (:805-822).
 */
package com.example.cossts // change to your app's package

import android.os.SystemClock
import com.tencent.qcloud.core.auth.BasicLifecycleCredentialProvider
import com.tencent.qcloud.core.auth.BasicScopeLimitCredentialProvider
import com.tencent.qcloud.core.auth.QCloudLifecycleCredentials
import com.tencent.qcloud.core.auth.STSCredentialScope
import com.tencent.qcloud.core.auth.SessionQCloudCredentials
import com.tencent.qcloud.core.common.QCloudAuthenticationException
import com.tencent.qcloud.core.common.QCloudClientException
import org.json.JSONException
import org.json.JSONObject
import java.io.ByteArrayOutputStream
import java.io.IOException
import java.io.InputStream
import java.net.HttpURLConnection
import java.net.SocketTimeoutException
import java.net.URL
import java.net.URLEncoder
import java.util.concurrent.Callable
import java.util.concurrent.ExecutionException
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.TimeoutException

/** Whole-profile keys for CosXmlService; see the file header for usage. */
class CosStsCredentialProvider private constructor(
    private val endpoint: Endpoint,
    private val body: String
) : BasicLifecycleCredentialProvider() {

    override fun fetchNewCredentials(): QCloudLifecycleCredentials = endpoint.fetch(body)

    /** Per-request keys: the body is the SDK's own STSCredentialScope.jsonify (a bare JSON array). */
    class ScopeLimited internal constructor(private val endpoint: Endpoint) : BasicScopeLimitCredentialProvider() {
        override fun fetchNewCredentials(scopes: Array<STSCredentialScope>): SessionQCloudCredentials =
            endpoint.fetch(STSCredentialScope.jsonify(scopes))
    }

    /**
     * [loginToken] is called on an SDK worker thread for every key request, while other COS requests
     * wait (at most 20 s) for the keys: return the token the app holds (refresh it elsewhere), or null.
     */
    class Builder(private val url: String, private val loginToken: () -> String?) {
        private var profile: String? = null
        private var durationSeconds: Int? = null
        private var connectTimeoutMs = 5_000
        private var readTimeoutMs = 10_000
        private var totalTimeoutMs = 15_000L
        private var refreshMarginSeconds = 60L

        init {
            require(url.startsWith("https://") || url.startsWith("http://")) { "url must be an http(s) URL: $url" }
        }

        fun profile(name: String) = apply { profile = name }
        fun durationSeconds(seconds: Int) = apply { durationSeconds = seconds }
        fun timeouts(connectMs: Int, readMs: Int, totalMs: Long) = apply {
            require(connectMs > 0 && readMs > 0 && totalMs > 0) { "timeouts must be positive" }
            connectTimeoutMs = connectMs; readTimeoutMs = readMs; totalTimeoutMs = totalMs
        }
        /** Seconds before expiredTime (server clock) at which keys count as expired; at least 60. */
        fun refreshMarginSeconds(seconds: Long) = apply { refreshMarginSeconds = maxOf(60L, seconds) }

        fun build(): CosStsCredentialProvider {
            val json = JSONObject()
            profile?.let { json.put("profile", it) }
            durationSeconds?.let { json.put("durationSeconds", it) }
            return CosStsCredentialProvider(endpoint(), json.toString())
        }

        fun buildScopeLimited() = ScopeLimited(endpoint())

        private fun endpoint(): Endpoint {
            val target = profile?.let { url + (if ('?' in url) "&" else "?") + "profile=" + URLEncoder.encode(it, "UTF-8") } ?: url
            return Endpoint(URL(target), loginToken, connectTimeoutMs, readTimeoutMs, totalTimeoutMs, refreshMarginSeconds)
        }
    }

    /** Our endpoint's answer (or why there was none), as the app sees it through the SDK's exceptions. */
    class StsException internal constructor(
        /** HTTP status; 0 when no answer came (network, timeout) or the app had no login token. */
        @JvmField val status: Int,
        /** error.code, or local: network_error, no_login_token, bad_response, http_<status>. */
        @JvmField val code: String,
        /** error.message, or a local description. */
        @JvmField val serverMessage: String,
        /** From Retry-After (429, 503); 0 when none. */
        @JvmField val retryAfterSeconds: Long,
        /** requestId from the body (or X-Request-Id); may be null. */
        @JvmField val requestId: String?,
        networkCause: Throwable?
    ) : QCloudClientException(
        describe(status, code, serverMessage, retryAfterSeconds, requestId),
        networkCause ?: QCloudAuthenticationException(describe(status, code, serverMessage, retryAfterSeconds, requestId))
    ) {
        /** Worth asking again later: no answer, throttled, or a server-side failure. */
        override fun isRetryable() = (status == 0 && code != "no_login_token") || status == 429 || status >= 500

        companion object {
            private const val serialVersionUID = 1L

            /** The StsException behind an SDK exception (CosXmlClientException wraps it), or null. */
            @JvmStatic
            fun find(error: Throwable?): StsException? =
                generateSequence(error) { it.cause }.take(16).filterIsInstance<StsException>().firstOrNull()

            private fun describe(status: Int, code: String, message: String, retryAfter: Long, requestId: String?) =
                buildString {
                    append("cos-sts ")
                    if (status > 0) append(status).append(' ')
                    append(code).append(": ").append(message)
                    if (retryAfter > 0) append(" (retry after ").append(retryAfter).append(" s)")
                    if (requestId != null) append(" [requestId ").append(requestId).append(']')
                }
        }
    }

    /** Keys valid until a deadline on the monotonic clock (elapsedRealtime counts deep sleep). */
    internal class Keys(
        id: String, key: String, token: String, startTime: Long, expiredTime: Long,
        private val validUntilElapsedMs: Long
    ) : SessionQCloudCredentials(id, key, token, startTime, expiredTime) {
        override fun isValid() = SystemClock.elapsedRealtime() < validUntilElapsedMs
    }

    /** One HTTP exchange per fetch, shared by both providers. Thread-safe. */
    internal class Endpoint(
        private val url: URL,
        private val loginToken: () -> String?,
        private val connectTimeoutMs: Int,
        private val readTimeoutMs: Int,
        private val totalTimeoutMs: Long,
        private val refreshMarginSeconds: Long
    ) {
        private class Answer(
            val status: Int, val reason: String?, val text: String,
            val retryAfter: String?, val retryAfterDate: Long, val requestId: String?, val dateMs: Long
        )

        // Retry-After: no request to the endpoint before this (elapsedRealtime ms); the last refusal.
        @Volatile private var quietUntilElapsedMs = 0L
        @Volatile private var lastRefusal: StsException? = null

        fun fetch(body: String): Keys {
            val refusal = lastRefusal
            val wait = quietUntilElapsedMs - SystemClock.elapsedRealtime()
            if (refusal != null && wait > 0) {
                // Honour Retry-After: fail this COS request at once instead of asking again.
                throw StsException(refusal.status, refusal.code, refusal.serverMessage, (wait + 999) / 1000, refusal.requestId, null)
            }
            val token = try {
                loginToken()
            } catch (e: Exception) {
                throw StsException(0, "no_login_token", "the app could not supply a login token: $e", 0, null, null)
            }
            if (token.isNullOrBlank()) {
                throw StsException(0, "no_login_token", "the app has no login token (sign the user in first)", 0, null, null)
            }

            val sentAtMs = SystemClock.elapsedRealtime()
            val connection = url.openConnection() as HttpURLConnection // a new request: current token, one header
            val call = EXCHANGES.submit(Callable { exchange(connection, token.trim(), body) })
            val answer = try {
                call.get(totalTimeoutMs, TimeUnit.MILLISECONDS)
            } catch (e: TimeoutException) {
                call.cancel(true)
                throw network(SocketTimeoutException("no answer within $totalTimeoutMs ms"))
            } catch (e: ExecutionException) {
                val cause = e.cause
                throw if (cause is IOException) network(cause) else (cause ?: e)
            } catch (e: InterruptedException) {
                Thread.currentThread().interrupt()
                throw network(IOException("interrupted", e))
            } finally {
                connection.disconnect() // also unblocks an exchange still waiting on the socket
            }
            return if (answer.status == 200) parseKeys(answer, sentAtMs) else throw refusal(answer, sentAtMs)
        }

        private fun exchange(c: HttpURLConnection, token: String, body: String): Answer {
            c.connectTimeout = connectTimeoutMs
            c.readTimeout = readTimeoutMs
            c.requestMethod = "POST"
            c.doOutput = true
            c.useCaches = false
            c.instanceFollowRedirects = false // never carry the login token elsewhere
            c.setRequestProperty("Authorization", "Bearer $token") // set, not add: exactly one
            c.setRequestProperty("Content-Type", "application/json; charset=utf-8")
            c.setRequestProperty("Accept", "application/json")
            c.outputStream.use { it.write(body.toByteArray(Charsets.UTF_8)) }
            val status = c.responseCode
            // Read the body for every status: our error.code/message live there.
            val stream = if (status >= 400) c.errorStream else c.inputStream
            val text = stream?.use { readAtMost(it, MAX_BODY_BYTES) } ?: ""
            return Answer(
                status, c.responseMessage, text,
                c.getHeaderField("Retry-After"), c.getHeaderFieldDate("Retry-After", 0L),
                c.getHeaderField("X-Request-Id"), c.getHeaderFieldDate("Date", 0L)
            )
        }

        private fun parseKeys(answer: Answer, sentAtMs: Long): Keys {
            var requestId = answer.requestId
            try {
                val doc = JSONObject(answer.text)
                requestId = doc.optString("requestId", requestId)
                val credentials = doc.optJSONObject("credentials")
                val id = credentials?.optString("tmpSecretId").orEmpty()
                val key = credentials?.optString("tmpSecretKey").orEmpty()
                val token = credentials?.optString("sessionToken").orEmpty()
                val startTime = doc.optLong("startTime")
                val expiredTime = doc.optLong("expiredTime")
                if (id.isEmpty() || key.isEmpty() || token.isEmpty() || startTime <= 0 || expiredTime <= startTime) {
                    throw StsException(200, "bad_response", "the answer has no usable credentials/startTime/expiredTime", 0, requestId, null)
                }
                // The server's "now": its Date header, never earlier than startTime (which is never
                // later than the server's clock, so a device behind it is known to be slow).
                val dateSeconds = if (answer.dateMs > 0) answer.dateMs / 1000 else System.currentTimeMillis() / 1000
                val life = expiredTime - maxOf(dateSeconds, startTime)
                if (life <= 0) {
                    throw StsException(200, "bad_response", "the keys had expired by the server's own clock", 0, requestId, null)
                }
                // Counted from when the request left. Keys with less life than the margin are used
                // once (the SDK signs with what a refresh returned) and asked for again next time.
                val validUntil = sentAtMs + maxOf(0L, life - refreshMarginSeconds) * 1000
                return Keys(id, key, token, startTime, expiredTime, validUntil)
            } catch (e: JSONException) {
                throw StsException(200, "bad_response", "the answer is not JSON: ${snippet(answer.text)}", 0, requestId, null)
            }
        }

        private fun refusal(answer: Answer, sentAtMs: Long): StsException {
            var code = "http_${answer.status}"
            var message = answer.reason.orEmpty()
            var requestId = answer.requestId
            try {
                val doc = JSONObject(answer.text)
                doc.optJSONObject("error")?.let {
                    code = it.optString("code", code)
                    message = it.optString("message", message)
                }
                requestId = doc.optString("requestId", requestId)
            } catch (notOurs: JSONException) {
                // A gateway or proxy page: keep the status line, or show the start of the body.
                if (message.isEmpty()) message = snippet(answer.text)
            }
            if (message.isEmpty()) message = "HTTP ${answer.status}"

            val retryAfter = retryAfterSeconds(answer)
            val refusal = StsException(answer.status, code, message, retryAfter, requestId, null)
            if (retryAfter > 0) {
                lastRefusal = refusal
                quietUntilElapsedMs = sentAtMs + retryAfter * 1000
            }
            return refusal
        }

        /** Retry-After as delay-seconds or an HTTP date; 0 when absent or unreadable; capped at 1 h. */
        private fun retryAfterSeconds(answer: Answer): Long {
            val value = answer.retryAfter?.trim() ?: return 0
            val seconds = value.toLongOrNull()
                ?: if (answer.retryAfterDate > 0) (answer.retryAfterDate - System.currentTimeMillis() + 999) / 1000 else 0
            return seconds.coerceIn(0, 3600)
        }

        private fun network(cause: IOException) =
            StsException(0, "network_error", "no answer from the credential endpoint: $cause", 0, null, cause)

        companion object {
            private const val MAX_BODY_BYTES = 64 * 1024

            /** Runs the blocking exchanges, so that the caller's wait is bounded by totalTimeoutMs. */
            private val EXCHANGES = Executors.newCachedThreadPool { task ->
                Thread(task, "cos-sts-fetch").apply { isDaemon = true }
            }

            private fun readAtMost(input: InputStream, limit: Int): String {
                val out = ByteArrayOutputStream()
                val buffer = ByteArray(8192)
                while (out.size() < limit) {
                    val n = input.read(buffer, 0, minOf(buffer.size, limit - out.size()))
                    if (n < 0) break
                    out.write(buffer, 0, n)
                }
                return String(out.toByteArray(), Charsets.UTF_8)
            }

            private fun snippet(text: String): String {
                val flat = text.replace(Regex("\\s+"), " ").trim()
                return if (flat.length > 200) flat.substring(0, 200) + "..." else flat
            }
        }
    }
}
