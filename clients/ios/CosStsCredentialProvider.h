//
//  CosStsCredentialProvider.h: temporary COS keys for QCloudCOSXML (iOS), fetched from the
//  cos-sts credential endpoint (POST <endpoint>/sts with the user's login token).
//
//  Written against QCloudCOSXML / QCloudCore 6.5.5 (tencentyun/qcloud-sdk-ios @512e640,
//  QCloudCore/Classes/Base/QCloudClientBase/Authentation). Copy both files (.h, .m) into the
//  app, or use the Swift twin CosStsCredentialProvider.swift instead (not both). ARC required.
//
//  ---- Usage ---------------------------------------------------------------------------------
//
//    #import "CosStsCredentialProvider.h"
//
//    CosStsCredentialProvider *keys = [[CosStsCredentialProvider alloc]
//        initWithURL:[NSURL URLWithString:@"https://<endpoint>/sts"]
//         loginToken:^NSString *{ return Session.current.loginToken; }];  // read for EVERY key request
//    keys.profile = @"upload";                 // optional: the function's default profile otherwise
//    keys.durationSeconds = @1800;             // optional
//
//    QCloudServiceConfiguration *configuration = [QCloudServiceConfiguration new];
//    QCloudCOSXMLEndPoint *endpoint = [QCloudCOSXMLEndPoint new];
//    endpoint.regionName = @"ap-guangzhou";
//    endpoint.useHTTPS = YES;
//    configuration.endpoint = endpoint;
//    configuration.signatureProvider = keys;   // strong property: the configuration keeps it alive
//    [QCloudCOSXMLService registerDefaultCOSXMLWithConfiguration:configuration];
//    [QCloudCOSTransferMangerService registerDefaultCOSTransferMangerWithConfiguration:configuration];
//
//    // In a request's finishBlock:
//    NSError *why = [CosStsCredentialProvider stsErrorFromError:error];
//    if ([why.userInfo[CosStsHTTPStatusKey] integerValue] == 401) { /* sign the user in again */ }
//    NSNumber *retryAfter = why.userInfo[CosStsRetryAfterKey];   // seconds, when the endpoint said
//
//  ---- Why it is written this way (QCloudCore 6.5.5) -----------------------------------------
//
//  - The SDK signs through configuration.signatureProvider (QCloudSignatureProvider.h:34-37);
//    this class implements it with a QCloudCredentailFenceQueue (the SDK's spelling), so that
//    concurrent requests share one key fetch. The fence's delegate is weak
//    (QCloudCredentailFenceQueue.h:60): this object owns the fence and is its delegate.
//  - continueBlock is called exactly once on every path, with a creator or with an NSError:
//    continueBlock(nil, nil) delivers nothing (QCloudCredentailFenceQueue.m:115-125) and every
//    waiting COS request then fails after 15 s with CredentialNotReady
//    (QCloudBizHTTPRequest.m:225-245). The fetch is bounded by `timeout` (default 10 s), under
//    that 15 s wait, so the app sees our error, not the SDK's timeout.
//  - QCloudCredential is valid until the very second of expirationDate, judged on the device
//    clock (QCloudCredential.m:16-28). expirationDate is set to expiredTime - refreshMargin (60 s)
//    and startDate to startTime, which the signature uses as q-sign-time
//    (QCloudAuthentationV5Creator.m:120-132). Validity itself is a monotonic deadline computed
//    from the server's clock (Date header, startTime), so a wrong device clock cannot keep
//    expired keys in use.
//  - Errors carry the endpoint's error.code / error.message, the HTTP status and Retry-After; within
//    a Retry-After window no request is sent and the same error is returned at once.
//

#import <Foundation/Foundation.h>
#import <QCloudCore/QCloudCore.h>

NS_ASSUME_NONNULL_BEGIN

/// Domain of every error this class makes. NSError.code is the HTTP status (0: no answer).
FOUNDATION_EXPORT NSString *const CosStsErrorDomain;
/// NSString: the endpoint's error.code (invalid_token, scope_denied, rate_limited, ...) or a local
/// one: network_error, no_login_token, bad_response, http_<status> for an answer without our JSON.
FOUNDATION_EXPORT NSString *const CosStsErrorCodeKey;
/// NSString: the endpoint's error.message, or a local description.
FOUNDATION_EXPORT NSString *const CosStsErrorMessageKey;
/// NSNumber: the HTTP status; 0 when no answer came.
FOUNDATION_EXPORT NSString *const CosStsHTTPStatusKey;
/// NSNumber: seconds from Retry-After (429, 503); absent when the endpoint gave none.
FOUNDATION_EXPORT NSString *const CosStsRetryAfterKey;
/// NSString: the endpoint's requestId (or X-Request-Id); absent when unknown.
FOUNDATION_EXPORT NSString *const CosStsRequestIdKey;

/// Returns the app user's current login token, or nil when signed out. Called on a background
/// queue, once per key request, inside the SDK's fence: return the token the app holds (refresh it
/// elsewhere); never wait for the main thread here.
typedef NSString *_Nullable (^CosStsLoginTokenBlock)(void);

@interface CosStsCredentialProvider : NSObject <QCloudSignatureProvider, QCloudCredentailFenceQueueDelegate>

- (instancetype)initWithURL:(NSURL *)url loginToken:(CosStsLoginTokenBlock)loginToken NS_DESIGNATED_INITIALIZER;
- (instancetype)init NS_UNAVAILABLE;

/// A profile from the function's config; sent as ?profile= and in the JSON body. Set before use.
@property (nonatomic, copy, nullable) NSString *profile;
/// Key lifetime in seconds; nil for the function's default.
@property (nonatomic, strong, nullable) NSNumber *durationSeconds;
/// Bound on one key request, DNS to last byte. Default 10 s (the SDK waits 15 s for a signature).
@property (nonatomic, assign) NSTimeInterval timeout;
/// Seconds before expiredTime (server clock) at which keys count as expired. Default 60, minimum 60.
@property (nonatomic, assign) NSTimeInterval refreshMargin;

/// Forget the current keys (e.g. when the user signs out); the next COS request fetches new ones.
- (void)invalidateKeys;

/// The CosStsErrorDomain error in `error` or its NSUnderlyingErrorKey chain, or nil.
+ (nullable NSError *)stsErrorFromError:(nullable NSError *)error;

@end

NS_ASSUME_NONNULL_END
