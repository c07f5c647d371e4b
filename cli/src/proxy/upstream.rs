//! One backend as a `tower::Service`: the request forwarded over a pooled
//! HTTP/1.1 client, the whole response read (so the backend's time counts
//! to its last byte, as a simulated service time does), hop-by-hop headers
//! dropped and `x-fleetsim-backend: <index>` added.

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, HOST};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The header naming the backend that answered, by its `--backend` index.
pub(crate) const BACKEND_HEADER: &str = "x-fleetsim-backend";

pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A backend the proxy forwards to.
#[derive(Clone)]
pub(crate) struct Upstream {
    pub(crate) index: usize,
    pub(crate) addr: SocketAddr,
    pub(crate) client: HttpClient,
}

/// A failed exchange with a backend (refused, reset, unreadable).
#[derive(Debug)]
pub(crate) struct UpstreamError(pub(crate) String);

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UpstreamError {}

/// Headers that belong to one connection, not to the message (RFC 9110
/// 7.6.1), and the ones a buffered body makes wrong.
fn drop_hop_by_hop(headers: &mut HeaderMap) {
    for h in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authorization",
        "proxy-authenticate",
    ] {
        headers.remove(h);
    }
}

impl tower::Service<http::Request<Bytes>> for Upstream {
    type Response = http::Response<Full<Bytes>>;
    type Error = UpstreamError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, UpstreamError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), UpstreamError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Bytes>) -> Self::Future {
        let (mut parts, body) = req.into_parts();
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let uri = format!("http://{}{path}", self.addr);
        let (client, index) = (self.client.clone(), self.index);
        drop_hop_by_hop(&mut parts.headers);
        if let Ok(host) = HeaderValue::from_str(&self.addr.to_string()) {
            parts.headers.insert(HOST, host);
        }
        Box::pin(async move {
            parts.uri = uri
                .parse()
                .map_err(|e| UpstreamError(format!("bad path: {e}")))?;
            let req = http::Request::from_parts(parts, Full::new(body));
            let resp = client
                .request(req)
                .await
                .map_err(|e| UpstreamError(format!("{e:#}")))?;
            let (mut parts, body) = resp.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| UpstreamError(format!("reading the response: {e}")))?
                .to_bytes();
            drop_hop_by_hop(&mut parts.headers);
            parts.headers.insert(
                HeaderName::from_static(BACKEND_HEADER),
                HeaderValue::from(index),
            );
            Ok(http::Response::from_parts(parts, Full::new(body)))
        })
    }
}

/// One active health check: `GET http://ADDR{path}` answered with a 2xx.
pub(crate) async fn check(client: HttpClient, addr: SocketAddr, path: String) -> bool {
    let Ok(uri) = format!("http://{addr}{path}").parse::<http::Uri>() else {
        return false;
    };
    let req = http::Request::get(uri).body(Full::new(Bytes::new()));
    let Ok(req) = req else {
        return false;
    };
    match client.request(req).await {
        Ok(resp) => {
            let ok = resp.status().is_success();
            let _ = resp.into_body().collect().await;
            ok
        }
        Err(_) => false,
    }
}
