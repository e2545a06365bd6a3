//! The HTTP client authentication uses off the request path's upstream pools: JWKS
//! documents and introspection calls. hyper-util's pooled client, `http://` over plain TCP
//! and `https://` over rustls trusting the system's root certificates (the platform store,
//! so an operator's private CA works once installed there).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// A response read whole.
#[derive(Debug)]
pub(super) struct FetchedResponse {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
}

#[derive(Debug, Clone)]
pub(super) struct FetchClient {
    client: Option<Client<HttpsConnector<HttpConnector>, Full<Bytes>>>,
}

impl Default for FetchClient {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        // `https://` URIs need the connector to hand the scheme through.
        connector.enforce_http(false);
        let client = https_connector(connector).map(|connector| {
            Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .pool_max_idle_per_host(4)
                .build(connector)
        });
        FetchClient { client }
    }
}

/// TLS with the platform's roots; without any (a bare container), https endpoints fail
/// their handshakes and the fetch error says why. `None` only if rustls refuses its own
/// default protocol versions (it does not with the ring provider).
fn https_connector(connector: HttpConnector) -> Option<HttpsConnector<HttpConnector>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = match HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(Arc::clone(&provider))
    {
        Ok(builder) => builder,
        Err(error) => {
            tracing::warn!(%error, "no system root certificates: https JWKS and introspection endpoints will fail");
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .ok()?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            HttpsConnectorBuilder::new().with_tls_config(config)
        }
    };
    Some(
        builder
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector),
    )
}

impl FetchClient {
    pub(super) async fn get(
        &self,
        uri: &Uri,
        max_bytes: usize,
        timeout: Duration,
    ) -> Result<FetchedResponse, String> {
        let request = Request::get(uri.clone())
            .header(http::header::ACCEPT, "application/json")
            .body(Full::default())
            .map_err(|error| error.to_string())?;
        self.send(request, max_bytes, timeout).await
    }

    /// `POST` of a form body (introspection).
    pub(super) async fn post_form(
        &self,
        uri: &Uri,
        authorization: &HeaderValue,
        body: String,
        max_bytes: usize,
        timeout: Duration,
    ) -> Result<FetchedResponse, String> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri.clone())
            .header(http::header::ACCEPT, "application/json")
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::AUTHORIZATION, authorization.clone())
            .body(Full::new(Bytes::from(body)))
            .map_err(|error| error.to_string())?;
        self.send(request, max_bytes, timeout).await
    }

    async fn send(
        &self,
        request: Request<Full<Bytes>>,
        max_bytes: usize,
        timeout: Duration,
    ) -> Result<FetchedResponse, String> {
        let Some(client) = &self.client else {
            return Err("the TLS client could not be set up".to_string());
        };
        let exchange = async {
            let response = client
                .request(request)
                .await
                .map_err(|error| format!("request failed: {error}"))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, max_bytes)
                .collect()
                .await
                .map_err(|error| format!("reading the body failed: {error}"))?
                .to_bytes();
            Ok(FetchedResponse {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| format!("no answer within {} ms", timeout.as_millis()))?
    }
}
