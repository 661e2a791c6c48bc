//
//  CosStsCredentialProvider.m: see the header for usage and the SDK lines this follows.
//  Written against QCloudCOSXML / QCloudCore 6.5.5. ARC.
//

#import "CosStsCredentialProvider.h"
#import <time.h>

NSString *const CosStsErrorDomain = @"CosStsErrorDomain";
NSString *const CosStsErrorCodeKey = @"CosStsErrorCode";
NSString *const CosStsErrorMessageKey = @"CosStsErrorMessage";
NSString *const CosStsHTTPStatusKey = @"CosStsHTTPStatus";
NSString *const CosStsRetryAfterKey = @"CosStsRetryAfter";
NSString *const CosStsRequestIdKey = @"CosStsRequestId";

/// Monotonic nanoseconds. On Darwin CLOCK_MONOTONIC keeps counting while the device sleeps.
static uint64_t CosStsNowNanos(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * NSEC_PER_SEC + (uint64_t)now.tv_nsec;
}

/// A header by name, ignoring case (allHeaderFields is an ordinary dictionary).
static NSString *CosStsHeader(NSHTTPURLResponse *response, NSString *name) {
    for (id key in response.allHeaderFields) {
        if ([key isKindOfClass:[NSString class]] && [key caseInsensitiveCompare:name] == NSOrderedSame) {
            id value = response.allHeaderFields[key];
            return [value isKindOfClass:[NSString class]] ? value : nil;
        }
    }
    return nil;
}

/// An HTTP date (RFC 7231 IMF-fixdate), or nil.
static NSDate *CosStsHTTPDate(NSString *text) {
    static NSDateFormatter *formatter;
    static dispatch_once_t once;
    dispatch_once(&once, ^{
        formatter = [NSDateFormatter new];
        formatter.locale = [NSLocale localeWithLocaleIdentifier:@"en_US_POSIX"];
        formatter.timeZone = [NSTimeZone timeZoneForSecondsFromGMT:0];
        formatter.dateFormat = @"EEE, dd MMM yyyy HH:mm:ss zzz";
    });
    return text.length ? [formatter dateFromString:text] : nil;
}

/// A JSON integer that may arrive as a number or a numeric string; 0 otherwise.
static int64_t CosStsInteger(id value) {
    if ([value isKindOfClass:[NSNumber class]] || [value isKindOfClass:[NSString class]]) {
        return [value longLongValue];
    }
    return 0;
}

static NSString *CosStsString(id value) {
    return [value isKindOfClass:[NSString class]] ? value : nil;
}

/// Keys whose validity is a monotonic deadline instead of the device clock. The fence asks
/// credential.valid before every request (QCloudCredentailFenceQueue.m:37-42).
@interface CosStsCredential : QCloudCredential
@property (atomic, assign) uint64_t validUntilNanos;
@end

@implementation CosStsCredential
- (BOOL)valid {
    return CosStsNowNanos() < self.validUntilNanos;
}
@end

/// Refuses redirects: the login token never goes to another address.
@interface CosStsNoRedirect : NSObject <NSURLSessionTaskDelegate>
@end

@implementation CosStsNoRedirect
- (void)URLSession:(NSURLSession *)session
                          task:(NSURLSessionTask *)task
    willPerformHTTPRedirection:(NSHTTPURLResponse *)response
                    newRequest:(NSURLRequest *)request
             completionHandler:(void (^)(NSURLRequest *_Nullable))completionHandler {
    completionHandler(nil);
}
@end

@interface CosStsCredentialProvider ()
@property (nonatomic, strong) NSURL *url;
@property (nonatomic, copy) CosStsLoginTokenBlock loginToken;
@property (nonatomic, strong) QCloudCredentailFenceQueue *fenceQueue;
@property (nonatomic, strong) NSURLSession *session;
@property (atomic, strong, nullable) CosStsCredential *currentCredential;
@property (atomic, strong, nullable) NSError *lastRefusal; // a refusal that came with Retry-After
@property (atomic, assign) uint64_t quietUntilNanos;       // no request before this
@end

@implementation CosStsCredentialProvider

- (instancetype)initWithURL:(NSURL *)url loginToken:(CosStsLoginTokenBlock)loginToken {
    NSParameterAssert(url);
    NSParameterAssert(loginToken);
    self = [super init];
    if (!self) {
        return nil;
    }
    _url = url;
    _loginToken = [loginToken copy];
    _timeout = 10;
    _refreshMargin = 60;

    NSURLSessionConfiguration *configuration = [NSURLSessionConfiguration ephemeralSessionConfiguration];
    configuration.requestCachePolicy = NSURLRequestReloadIgnoringLocalCacheData;
    configuration.URLCache = nil;
    configuration.HTTPShouldSetCookies = NO;
    _session = [NSURLSession sessionWithConfiguration:configuration
                                             delegate:[CosStsNoRedirect new]
                                        delegateQueue:nil];

    _fenceQueue = [QCloudCredentailFenceQueue new];
    _fenceQueue.delegate = self; // weak in the SDK; this object owns the fence
    return self;
}

- (void)dealloc {
    [_session finishTasksAndInvalidate];
}

- (void)setTimeout:(NSTimeInterval)timeout {
    _timeout = timeout > 0 ? timeout : 10;
}

- (void)setRefreshMargin:(NSTimeInterval)refreshMargin {
    _refreshMargin = MAX(60, refreshMargin);
}

- (void)invalidateKeys {
    self.currentCredential.validUntilNanos = 0;
}

+ (NSError *)stsErrorFromError:(NSError *)error {
    for (NSInteger depth = 0; error != nil && depth < 16; depth++) {
        if ([error.domain isEqualToString:CosStsErrorDomain]) {
            return error;
        }
        id underlying = error.userInfo[NSUnderlyingErrorKey];
        error = [underlying isKindOfClass:[NSError class]] ? underlying : nil;
    }
    return nil;
}

#pragma mark - QCloudSignatureProvider

- (void)signatureWithFields:(QCloudSignatureFields *)fileds
                    request:(QCloudBizHTTPRequest *)request
                 urlRequest:(NSMutableURLRequest *)urlRequst
                  compelete:(QCloudHTTPAuthentationContinueBlock)continueBlock {
    [self.fenceQueue performAction:^(QCloudAuthentationCreator *creator, NSError *error) {
        if (error || !creator) {
            continueBlock(nil, error ?: [CosStsCredentialProvider errorWithStatus:0 code:@"no_keys"
                                                                        message:@"no keys for this request" retryAfter:0
                                                                      requestId:nil underlying:nil]);
            return;
        }
        QCloudSignature *signature = [creator signatureForData:urlRequst];
        if (!signature) { // the creator refuses empty or malformed keys (QCloudAuthentationV5Creator.m:95-111)
            continueBlock(nil, [CosStsCredentialProvider errorWithStatus:0 code:@"bad_response"
                                                                message:@"the keys could not sign the request" retryAfter:0
                                                              requestId:nil underlying:nil]);
            return;
        }
        continueBlock(signature, nil);
    }];
}

#pragma mark - QCloudCredentailFenceQueueDelegate

// Every path below ends in exactly one continueBlock call.
- (void)fenceQueue:(QCloudCredentailFenceQueue *)queue
    requestCreatorWithContinue:(QCloudCredentailFenceQueueContinue)continueBlock {
    queue.timeout = self.timeout + 5; // the fence's own net (default 120 s) stays behind ours

    NSError *refusal = self.lastRefusal;
    uint64_t now = CosStsNowNanos();
    if (refusal && now < self.quietUntilNanos) {
        // Honour Retry-After: fail at once with the same error instead of asking again.
        NSUInteger wait = (NSUInteger)((self.quietUntilNanos - now + NSEC_PER_SEC - 1) / NSEC_PER_SEC);
        continueBlock(nil, [CosStsCredentialProvider errorWithStatus:refusal.code
                                                               code:refusal.userInfo[CosStsErrorCodeKey]
                                                            message:refusal.userInfo[CosStsErrorMessageKey]
                                                         retryAfter:wait
                                                          requestId:refusal.userInfo[CosStsRequestIdKey]
                                                         underlying:nil]);
        return;
    }

    NSString *token = [self.loginToken() stringByTrimmingCharactersInSet:NSCharacterSet.whitespaceAndNewlineCharacterSet];
    if (token.length == 0) {
        continueBlock(nil, [CosStsCredentialProvider errorWithStatus:0 code:@"no_login_token"
                                                            message:@"the app has no login token (sign the user in first)"
                                                         retryAfter:0 requestId:nil underlying:nil]);
        return;
    }

    // A new request each time: the current token, exactly one Authorization header.
    NSMutableURLRequest *request = [NSMutableURLRequest requestWithURL:[self requestURL]
                                                           cachePolicy:NSURLRequestReloadIgnoringLocalCacheData
                                                       timeoutInterval:self.timeout];
    request.HTTPMethod = @"POST";
    [request setValue:[@"Bearer " stringByAppendingString:token] forHTTPHeaderField:@"Authorization"];
    [request setValue:@"application/json; charset=utf-8" forHTTPHeaderField:@"Content-Type"];
    [request setValue:@"application/json" forHTTPHeaderField:@"Accept"];
    request.HTTPBody = [self requestBody];

    uint64_t sentAt = CosStsNowNanos();
    NSURLSessionDataTask *task = [self.session
        dataTaskWithRequest:request
          completionHandler:^(NSData *data, NSURLResponse *response, NSError *error) {
              // NSURLSession calls this exactly once: an answer, a timeout, or a network error.
              NSError *failure = nil;
              QCloudAuthentationCreator *creator = nil;
              if (error || ![response isKindOfClass:[NSHTTPURLResponse class]]) {
                  NSString *why = error.localizedDescription ?: @"not an HTTP answer";
                  failure = [CosStsCredentialProvider errorWithStatus:0 code:@"network_error"
                                                              message:[@"no answer from the credential endpoint: " stringByAppendingString:why]
                                                           retryAfter:0 requestId:nil underlying:error];
              } else {
                  NSHTTPURLResponse *http = (NSHTTPURLResponse *)response;
                  if (http.statusCode == 200) {
                      creator = [self creatorFromResponse:http data:data sentAt:sentAt error:&failure];
                  } else {
                      failure = [self refusalFromResponse:http data:data sentAt:sentAt];
                  }
              }
              if (!creator && !failure) { // never (nil, nil): the fence would deliver nothing
                  failure = [CosStsCredentialProvider errorWithStatus:200 code:@"bad_response"
                                                              message:@"the SDK refused the keys" retryAfter:0
                                                            requestId:nil underlying:nil];
              }
              continueBlock(failure ? nil : creator, failure);
          }];
    [task resume];
}

#pragma mark - The exchange

- (NSURL *)requestURL {
    if (self.profile.length == 0) {
        return self.url;
    }
    NSURLComponents *components = [NSURLComponents componentsWithURL:self.url resolvingAgainstBaseURL:NO];
    NSMutableArray<NSURLQueryItem *> *items = [components.queryItems mutableCopy] ?: [NSMutableArray new];
    [items addObject:[NSURLQueryItem queryItemWithName:@"profile" value:self.profile]];
    components.queryItems = items;
    return components.URL ?: self.url;
}

- (NSData *)requestBody {
    NSMutableDictionary *body = [NSMutableDictionary new];
    if (self.profile.length) {
        body[@"profile"] = self.profile;
    }
    if (self.durationSeconds) {
        body[@"durationSeconds"] = @(self.durationSeconds.integerValue);
    }
    NSJSONWritingOptions options = 0;
    if (@available(iOS 11.0, macOS 10.13, *)) {
        options = NSJSONWritingSortedKeys; // the same bytes every time: {"durationSeconds":N,"profile":"..."}
    }
    return [NSJSONSerialization dataWithJSONObject:body options:options error:NULL] ?: [@"{}" dataUsingEncoding:NSUTF8StringEncoding];
}

- (QCloudAuthentationCreator *)creatorFromResponse:(NSHTTPURLResponse *)http
                                              data:(NSData *)data
                                            sentAt:(uint64_t)sentAt
                                             error:(NSError *__autoreleasing *)error {
    NSDictionary *doc = data.length ? [NSJSONSerialization JSONObjectWithData:data options:0 error:NULL] : nil;
    NSString *requestId = CosStsHeader(http, @"X-Request-Id");
    if (![doc isKindOfClass:[NSDictionary class]]) {
        *error = [CosStsCredentialProvider errorWithStatus:200 code:@"bad_response" message:@"the answer is not a JSON object"
                                                retryAfter:0 requestId:requestId underlying:nil];
        return nil;
    }
    requestId = CosStsString(doc[@"requestId"]) ?: requestId;
    NSDictionary *credentials = [doc[@"credentials"] isKindOfClass:[NSDictionary class]] ? doc[@"credentials"] : nil;
    NSString *secretId = CosStsString(credentials[@"tmpSecretId"]);
    NSString *secretKey = CosStsString(credentials[@"tmpSecretKey"]);
    NSString *sessionToken = CosStsString(credentials[@"sessionToken"]);
    int64_t startTime = CosStsInteger(doc[@"startTime"]);
    int64_t expiredTime = CosStsInteger(doc[@"expiredTime"]);
    if (!secretId.length || !secretKey.length || !sessionToken.length || startTime <= 0 || expiredTime <= startTime) {
        *error = [CosStsCredentialProvider errorWithStatus:200 code:@"bad_response"
                                                   message:@"the answer has no usable credentials/startTime/expiredTime"
                                                retryAfter:0 requestId:requestId underlying:nil];
        return nil;
    }

    // The server's "now": its Date header, never earlier than startTime (which is never later
    // than the server's clock, so a device behind it is known to be slow).
    NSDate *serverDate = CosStsHTTPDate(CosStsHeader(http, @"Date"));
    int64_t serverNow = (int64_t)(serverDate ?: [NSDate date]).timeIntervalSince1970;
    int64_t life = expiredTime - MAX(serverNow, startTime);
    if (life <= 0) {
        *error = [CosStsCredentialProvider errorWithStatus:200 code:@"bad_response"
                                                   message:@"the keys had expired by the server's own clock"
                                                retryAfter:0 requestId:requestId underlying:nil];
        return nil;
    }
    int64_t margin = (int64_t)self.refreshMargin;

    CosStsCredential *credential = [CosStsCredential new];
    credential.secretID = secretId;
    credential.secretKey = secretKey;
    credential.token = sessionToken;
    credential.startDate = [NSDate dateWithTimeIntervalSince1970:startTime]; // q-sign-time starts here
    // Signatures end a margin before the keys do; keys shorter-lived than the margin sign up to
    // their end and are used once (valid says no, so the next request fetches again).
    credential.expirationDate = [NSDate dateWithTimeIntervalSince1970:(life > margin ? expiredTime - margin : expiredTime)];
    credential.validUntilNanos = sentAt + (uint64_t)MAX(0, life - margin) * NSEC_PER_SEC;
    self.currentCredential = credential;
    return [[QCloudAuthentationV5Creator alloc] initWithCredential:credential];
}

- (NSError *)refusalFromResponse:(NSHTTPURLResponse *)http data:(NSData *)data sentAt:(uint64_t)sentAt {
    NSInteger status = http.statusCode;
    NSString *code = [NSString stringWithFormat:@"http_%ld", (long)status];
    NSString *message = [NSHTTPURLResponse localizedStringForStatusCode:status];
    NSString *requestId = CosStsHeader(http, @"X-Request-Id");
    id doc = data.length ? [NSJSONSerialization JSONObjectWithData:data options:0 error:NULL] : nil;
    if ([doc isKindOfClass:[NSDictionary class]]) {
        NSDictionary *error = [doc[@"error"] isKindOfClass:[NSDictionary class]] ? doc[@"error"] : nil;
        code = CosStsString(error[@"code"]) ?: code;
        message = CosStsString(error[@"message"]) ?: message;
        requestId = CosStsString(doc[@"requestId"]) ?: requestId;
    }

    // Retry-After: delay-seconds or an HTTP date; capped at an hour.
    NSString *retryText = CosStsHeader(http, @"Retry-After");
    NSInteger retryAfter = 0;
    if (retryText.length) {
        NSDate *at = CosStsHTTPDate(retryText);
        retryAfter = at ? (NSInteger)ceil(at.timeIntervalSinceNow) : retryText.integerValue;
        retryAfter = MIN(MAX(retryAfter, 0), 3600);
    }
    NSError *refusal = [CosStsCredentialProvider errorWithStatus:status code:code message:message
                                                      retryAfter:(NSUInteger)retryAfter requestId:requestId underlying:nil];
    if (retryAfter > 0) {
        self.quietUntilNanos = sentAt + (uint64_t)retryAfter * NSEC_PER_SEC;
        self.lastRefusal = refusal;
    }
    return refusal;
}

+ (NSError *)errorWithStatus:(NSInteger)status
                        code:(NSString *)code
                     message:(NSString *)message
                  retryAfter:(NSUInteger)retryAfter
                   requestId:(nullable NSString *)requestId
                  underlying:(nullable NSError *)underlying {
    code = code ?: @"error";
    message = message ?: @"";
    NSMutableString *text = [NSMutableString stringWithString:@"cos-sts "];
    if (status > 0) {
        [text appendFormat:@"%ld ", (long)status];
    }
    [text appendFormat:@"%@: %@", code, message];
    if (retryAfter > 0) {
        [text appendFormat:@" (retry after %lu s)", (unsigned long)retryAfter];
    }
    if (requestId) {
        [text appendFormat:@" [requestId %@]", requestId];
    }
    NSMutableDictionary *info = [NSMutableDictionary dictionaryWithDictionary:@{
        NSLocalizedDescriptionKey : text,
        CosStsErrorCodeKey : code,
        CosStsErrorMessageKey : message,
        CosStsHTTPStatusKey : @(status),
    }];
    if (retryAfter > 0) {
        info[CosStsRetryAfterKey] = @(retryAfter);
    }
    if (requestId) {
        info[CosStsRequestIdKey] = requestId;
    }
    if (underlying) {
        info[NSUnderlyingErrorKey] = underlying;
    }
    return [NSError errorWithDomain:CosStsErrorDomain code:status userInfo:info];
}

@end
