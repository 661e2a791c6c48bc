//
//  CosStsCredentialProvider.swift: temporary COS keys for QCloudCOSXML (iOS), fetched from the
//  cos-sts credential endpoint (POST <endpoint>/sts with the user's login token).
//
//  Written against QCloudCOSXML / QCloudCore 6.5.5 (tencentyun/qcloud-sdk-ios @512e640). The Swift
//  twin of CosStsCredentialProvider.h/.m: same behaviour, same error domain and userInfo keys, same
//  bytes on the wire. Use one of the two. NOT COMPILED: there was no Swift toolchain where it was
//  written; the Objective-C version passed a clang semantic check against the SDK's declarations.
//  The Swift names of the SDK methods follow Swift's import rules for the ObjC selectors
//  (signatureWithFields:request:urlRequest:compelete:, fenceQueue:requestCreatorWithContinue:).
//
//  ---- Usage ---------------------------------------------------------------------------------
//
//    import QCloudCOSXML   // CocoaPods with use_frameworks!; otherwise import it in the bridging header
//
//    let keys = CosStsCredentialProvider(url: URL(string: "https://<endpoint>/sts")!) {
//        Session.current.loginToken           // read for EVERY key request
//    }
//    keys.profile = "upload"                  // optional
//    keys.durationSeconds = 1800              // optional
//
//    let configuration = QCloudServiceConfiguration()
//    let endpoint = QCloudCOSXMLEndPoint()
//    endpoint.regionName = "ap-guangzhou"
//    endpoint.useHTTPS = true
//    configuration.endpoint = endpoint
//    configuration.signatureProvider = keys   // strong: the configuration keeps it alive
//    QCloudCOSXMLService.registerDefaultCOSXML(with: configuration)
//    QCloudCOSTransferMangerService.registerDefaultCOSTransferManger(with: configuration)
//
//    // In a request's finish block:
//    if let why = CosStsCredentialProvider.stsError(from: error) {
//        let status = why.code                                    // HTTP status, 0 = no answer
//        let code = why.userInfo[CosStsCredentialProvider.codeKey] as? String  // "invalid_token", ...
//        let retryAfter = why.userInfo[CosStsCredentialProvider.retryAfterKey] as? Int
//    }
//
//  Why it is written this way: see the Objective-C header (fence queue, exactly one continueBlock,
//  10 s bound under the SDK's 15 s signature wait, expirationDate = expiredTime - 60, startDate =
//  startTime, validity as a monotonic deadline from the server's clock, Retry-After honoured).
//

import Foundation
import QCloudCOSXML

public final class CosStsCredentialProvider: NSObject, QCloudSignatureProvider, QCloudCredentailFenceQueueDelegate {

    // The same strings as the Objective-C version.
    public static let errorDomain = "CosStsErrorDomain"
    public static let codeKey = "CosStsErrorCode"          // String: error.code or a local code
    public static let messageKey = "CosStsErrorMessage"    // String: error.message
    public static let statusKey = "CosStsHTTPStatus"       // Int: HTTP status, 0 = no answer
    public static let retryAfterKey = "CosStsRetryAfter"   // Int: seconds, only when given
    public static let requestIdKey = "CosStsRequestId"     // String, when known

    /// A profile from the function's config; sent as ?profile= and in the JSON body.
    public var profile: String?
    /// Key lifetime in seconds; nil for the function's default.
    public var durationSeconds: Int?
    /// Bound on one key request, DNS to last byte. The SDK waits 15 s for a signature.
    public var timeout: TimeInterval = 10 { didSet { if timeout <= 0 { timeout = 10 } } }
    /// Seconds before expiredTime (server clock) at which keys count as expired; at least 60.
    public var refreshMargin: TimeInterval = 60 { didSet { refreshMargin = max(60, refreshMargin) } }

    private let url: URL
    private let loginToken: () -> String?
    private let fence = QCloudCredentailFenceQueue()
    private let session: URLSession
    private let lock = NSLock()
    private var quietUntil: UInt64 = 0          // Retry-After: no request before this (monotonic ns)
    private var lastRefusal: NSError?
    private var currentCredential: Credential?

    /// `loginToken` runs on a background queue for every key request, inside the SDK's fence: return
    /// the token the app holds (refresh it elsewhere), nil when signed out; never wait for the main thread.
    public init(url: URL, loginToken: @escaping () -> String?) {
        self.url = url
        self.loginToken = loginToken
        let configuration = URLSessionConfiguration.ephemeral
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpShouldSetCookies = false
        session = URLSession(configuration: configuration, delegate: NoRedirect(), delegateQueue: nil)
        super.init()
        fence.delegate = self // weak in the SDK (QCloudCredentailFenceQueue.h:60); we own the fence
    }

    deinit {
        session.finishTasksAndInvalidate()
    }

    /// Forget the current keys (e.g. on sign-out); the next COS request fetches new ones.
    public func invalidateKeys() {
        if let credential = locked({ currentCredential }) {
            credential.validUntil = 0
        }
    }

    /// The CosStsErrorDomain error in `error` or its NSUnderlyingErrorKey chain.
    public static func stsError(from error: Error?) -> NSError? {
        var next = error.map { $0 as NSError }
        for _ in 0..<16 {
            guard let current = next else { return nil }
            if current.domain == errorDomain { return current }
            next = current.userInfo[NSUnderlyingErrorKey] as? NSError
        }
        return nil
    }

    // MARK: QCloudSignatureProvider

    public func signature(with fileds: QCloudSignatureFields!, request: QCloudBizHTTPRequest!,
                          urlRequest urlRequst: NSMutableURLRequest!,
                          compelete continueBlock: QCloudHTTPAuthentationContinueBlock!) {
        fence.performAction { creator, error in
            guard let creator = creator, error == nil else {
                continueBlock(nil, error ?? CosStsCredentialProvider.error(0, "no_keys", "no keys for this request"))
                return
            }
            guard let signature = creator.signature(forData: urlRequst) else {
                continueBlock(nil, CosStsCredentialProvider.error(0, "bad_response", "the keys could not sign the request"))
                return
            }
            continueBlock(signature, nil)
        }
    }

    // MARK: QCloudCredentailFenceQueueDelegate

    // Every path below ends in exactly one continueBlock call.
    public func fenceQueue(_ queue: QCloudCredentailFenceQueue!,
                           requestCreatorWithContinue continueBlock: QCloudCredentailFenceQueueContinue!) {
        queue.timeout = timeout + 5 // the fence's own net (default 120 s) stays behind ours

        let now = CosStsCredentialProvider.nowNanos()
        let (refusal, quiet) = locked { (lastRefusal, quietUntil) }
        if let refusal = refusal, now < quiet {
            // Honour Retry-After: fail at once with the same error instead of asking again.
            let wait = Int((quiet - now + 999_999_999) / 1_000_000_000)
            continueBlock(nil, CosStsCredentialProvider.error(
                refusal.code, refusal.userInfo[CosStsCredentialProvider.codeKey] as? String ?? "error",
                refusal.userInfo[CosStsCredentialProvider.messageKey] as? String ?? "",
                retryAfter: wait, requestId: refusal.userInfo[CosStsCredentialProvider.requestIdKey] as? String))
            return
        }

        guard let token = loginToken()?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty else {
            continueBlock(nil, CosStsCredentialProvider.error(0, "no_login_token",
                                                              "the app has no login token (sign the user in first)"))
            return
        }

        // A new request each time: the current token, exactly one Authorization header.
        var request = URLRequest(url: requestURL(), cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization")
        request.setValue("application/json; charset=utf-8", forHTTPHeaderField: "Content-Type")
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        request.httpBody = requestBody()

        let sentAt = CosStsCredentialProvider.nowNanos()
        session.dataTask(with: request) { data, response, error in
            // URLSession calls this exactly once: an answer, a timeout, or a network error.
            guard error == nil, let http = response as? HTTPURLResponse else {
                let why = error?.localizedDescription ?? "not an HTTP answer"
                continueBlock(nil, CosStsCredentialProvider.error(
                    0, "network_error", "no answer from the credential endpoint: " + why, underlying: error))
                return
            }
            if http.statusCode == 200 {
                switch self.creator(from: http, data: data ?? Data(), sentAt: sentAt) {
                case .success(let creator): continueBlock(creator, nil)
                case .failure(let failure): continueBlock(nil, failure)
                }
            } else {
                continueBlock(nil, self.refusal(from: http, data: data ?? Data(), sentAt: sentAt))
            }
        }.resume()
    }

    // MARK: The exchange

    private func requestURL() -> URL {
        guard let profile = profile, !profile.isEmpty,
              var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return url }
        components.queryItems = (components.queryItems ?? []) + [URLQueryItem(name: "profile", value: profile)]
        return components.url ?? url
    }

    private func requestBody() -> Data {
        var body: [String: Any] = [:]
        if let profile = profile, !profile.isEmpty { body["profile"] = profile }
        if let seconds = durationSeconds { body["durationSeconds"] = seconds }
        var options: JSONSerialization.WritingOptions = []
        if #available(iOS 11.0, macOS 10.13, *) {
            options = .sortedKeys // the same bytes every time: {"durationSeconds":N,"profile":"..."}
        }
        return (try? JSONSerialization.data(withJSONObject: body, options: options)) ?? Data("{}".utf8)
    }

    private func creator(from http: HTTPURLResponse, data: Data, sentAt: UInt64) -> Result<QCloudAuthentationCreator, NSError> {
        var requestId = CosStsCredentialProvider.header(http, "X-Request-Id")
        guard let doc = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            return .failure(CosStsCredentialProvider.error(200, "bad_response", "the answer is not a JSON object", requestId: requestId))
        }
        requestId = doc["requestId"] as? String ?? requestId
        let credentials = doc["credentials"] as? [String: Any]
        let startTime = CosStsCredentialProvider.integer(doc["startTime"])
        let expiredTime = CosStsCredentialProvider.integer(doc["expiredTime"])
        guard let secretId = credentials?["tmpSecretId"] as? String, !secretId.isEmpty,
              let secretKey = credentials?["tmpSecretKey"] as? String, !secretKey.isEmpty,
              let sessionToken = credentials?["sessionToken"] as? String, !sessionToken.isEmpty,
              startTime > 0, expiredTime > startTime else {
            return .failure(CosStsCredentialProvider.error(200, "bad_response",
                                                           "the answer has no usable credentials/startTime/expiredTime", requestId: requestId))
        }

        // The server's "now": its Date header, never earlier than startTime (which is never later
        // than the server's clock, so a device behind it is known to be slow).
        let serverDate = CosStsCredentialProvider.httpDate(CosStsCredentialProvider.header(http, "Date")) ?? Date()
        let life = expiredTime - max(Int64(serverDate.timeIntervalSince1970), startTime)
        guard life > 0 else {
            return .failure(CosStsCredentialProvider.error(200, "bad_response", "the keys had expired by the server's own clock", requestId: requestId))
        }
        let margin = Int64(refreshMargin)

        let credential = Credential()
        credential.secretID = secretId
        credential.secretKey = secretKey
        credential.token = sessionToken
        credential.startDate = Date(timeIntervalSince1970: TimeInterval(startTime)) // q-sign-time starts here
        // Signatures end a margin before the keys do; keys shorter-lived than the margin sign up to
        // their end and are used once (valid says no, so the next request fetches again).
        credential.expirationDate = Date(timeIntervalSince1970: TimeInterval(life > margin ? expiredTime - margin : expiredTime))
        credential.validUntil = sentAt + UInt64(max(0, life - margin)) * 1_000_000_000
        guard let creator = QCloudAuthentationV5Creator(credential: credential) else { // a nullable init in the SDK
            return .failure(CosStsCredentialProvider.error(200, "bad_response", "the SDK refused the keys", requestId: requestId))
        }
        locked { currentCredential = credential }
        return .success(creator)
    }

    private func refusal(from http: HTTPURLResponse, data: Data, sentAt: UInt64) -> NSError {
        let status = http.statusCode
        var code = "http_\(status)"
        var message = HTTPURLResponse.localizedString(forStatusCode: status)
        var requestId = CosStsCredentialProvider.header(http, "X-Request-Id")
        if let doc = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
            let error = doc["error"] as? [String: Any]
            code = error?["code"] as? String ?? code
            message = error?["message"] as? String ?? message
            requestId = doc["requestId"] as? String ?? requestId
        }
        // Retry-After: delay-seconds or an HTTP date; capped at an hour.
        var retryAfter = 0
        if let text = CosStsCredentialProvider.header(http, "Retry-After") {
            if let at = CosStsCredentialProvider.httpDate(text) {
                retryAfter = Int(ceil(at.timeIntervalSinceNow))
            } else {
                retryAfter = Int(text.trimmingCharacters(in: .whitespaces)) ?? 0
            }
            retryAfter = min(max(retryAfter, 0), 3600)
        }
        let refusal = CosStsCredentialProvider.error(status, code, message, retryAfter: retryAfter, requestId: requestId)
        if retryAfter > 0 {
            locked {
                quietUntil = sentAt + UInt64(retryAfter) * 1_000_000_000
                lastRefusal = refusal
            }
        }
        return refusal
    }

    // MARK: Helpers

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    static func error(_ status: Int, _ code: String, _ message: String, retryAfter: Int = 0,
                      requestId: String? = nil, underlying: Error? = nil) -> NSError {
        var text = "cos-sts " + (status > 0 ? "\(status) " : "") + code + ": " + message
        if retryAfter > 0 { text += " (retry after \(retryAfter) s)" }
        if let requestId = requestId { text += " [requestId \(requestId)]" }
        var info: [String: Any] = [NSLocalizedDescriptionKey: text, codeKey: code, messageKey: message, statusKey: status]
        if retryAfter > 0 { info[retryAfterKey] = retryAfter }
        if let requestId = requestId { info[requestIdKey] = requestId }
        if let underlying = underlying { info[NSUnderlyingErrorKey] = underlying as NSError }
        return NSError(domain: errorDomain, code: status, userInfo: info)
    }

    /// Monotonic nanoseconds; on Darwin CLOCK_MONOTONIC keeps counting while the device sleeps.
    static func nowNanos() -> UInt64 {
        return clock_gettime_nsec_np(CLOCK_MONOTONIC)
    }

    private static func header(_ response: HTTPURLResponse, _ name: String) -> String? {
        for (key, value) in response.allHeaderFields {
            if let key = key as? String, key.caseInsensitiveCompare(name) == .orderedSame { return value as? String }
        }
        return nil
    }

    private static let httpDateFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter
    }()

    private static func httpDate(_ text: String?) -> Date? {
        guard let text = text, !text.isEmpty else { return nil }
        return httpDateFormatter.date(from: text)
    }

    /// A JSON integer that may arrive as a number or a numeric string; 0 otherwise.
    private static func integer(_ value: Any?) -> Int64 {
        if let number = value as? NSNumber { return number.int64Value }
        if let text = value as? String { return Int64(text) ?? 0 }
        return 0
    }

    /// Keys whose validity is a monotonic deadline; the fence asks `valid` before every request
    /// (QCloudCredentailFenceQueue.m:37-42).
    private final class Credential: QCloudCredential {
        private let guardLock = NSLock()
        private var deadline: UInt64 = 0
        var validUntil: UInt64 {
            get { guardLock.lock(); defer { guardLock.unlock() }; return deadline }
            set { guardLock.lock(); deadline = newValue; guardLock.unlock() }
        }
        override var valid: Bool {
            return CosStsCredentialProvider.nowNanos() < validUntil
        }
    }

    /// Refuses redirects: the login token never goes to another address.
    private final class NoRedirect: NSObject, URLSessionTaskDelegate {
        func urlSession(_ session: URLSession, task: URLSessionTask,
                        willPerformHTTPRedirection response: HTTPURLResponse, newRequest request: URLRequest,
                        completionHandler: @escaping (URLRequest?) -> Void) {
            completionHandler(nil)
        }
    }
}
