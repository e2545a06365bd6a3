//! The body of a signed request: its `Content-Digest` is covered by the signature, so the
//! gateway reads the body whole, checks the digest against exactly those bytes and forwards
//! them, never a body it has not checked. Bodies are read up to the route's `maxBodyBytes`,
//! or [`DEFAULT_SIGNED_BODY_LIMIT`] when the route sets none (larger: 413), under the
//! listener's `bodyReadTimeoutMs` (408).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use portcullis_error::{ErrorKind, GatewayError, Phase};
use portcullis_policy::signature::ContentDigest;
use portcullis_policy::AuthFailure;

use crate::body_timeout::ReadTimeout;

/// Most bytes of a signed body read when the route has no `maxBodyBytes`.
pub(crate) const DEFAULT_SIGNED_BODY_LIMIT: u64 = 1024 * 1024;

/// Why a signed body was not forwarded.
#[derive(Debug)]
pub(super) enum SignedBodyError {
    /// 401: the digest does not match the body (or no usable digest).
    Refused(AuthFailure),
    /// 413 or 400: too large, or the client broke off.
    Body(GatewayError),
}

pub(super) async fn read_verified(
    body: Incoming,
    digest: Option<ContentDigest>,
    limit: Option<u64>,
    read_timeout: Duration,
) -> Result<Bytes, SignedBodyError> {
    let digest = digest.ok_or(SignedBodyError::Refused(AuthFailure::ContentDigestMissing))?;
    let limit = limit.unwrap_or(DEFAULT_SIGNED_BODY_LIMIT);
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let body = ReadTimeout::new(body, read_timeout);
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return Err(SignedBodyError::Body(GatewayError::client(
                ErrorKind::PayloadTooLarge,
                Phase::Shape,
            )))
        }
        Err(error) if ReadTimeout::<Incoming>::is_timeout(&error) => {
            return Err(SignedBodyError::Body(
                GatewayError::client(ErrorKind::RequestTimeout, Phase::Authenticate)
                    .with_detail("no request body bytes arrived within bodyReadTimeoutMs"),
            ))
        }
        Err(_) => {
            return Err(SignedBodyError::Body(
                GatewayError::client(ErrorKind::BadRequest, Phase::Authenticate)
                    .with_detail("the request body is malformed or was cut off"),
            ))
        }
    };
    digest.verify(&bytes).map_err(SignedBodyError::Refused)?;
    Ok(bytes)
}
