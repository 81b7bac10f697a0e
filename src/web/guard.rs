// Holding under abuse: a request body must keep arriving (a read deadline that grows with what arrived),
// a body nobody read closes the connection, and one client address has only so many requests in flight.

use super::error::ApiError;
use super::ratelimit::client_ip;
use super::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{header, ConnectionType, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use futures_util::Stream;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// After the grace, a body must have come at this many bytes a second on average.
const MIN_RATE: u64 = 4096;

/// Requests in flight per client address.
#[derive(Default)]
pub struct InFlight {
    clients: Mutex<HashMap<IpAddr, u32>>,
}

/// One request's place; dropping it gives the place back.
pub struct Ticket {
    owner: Arc<InFlight>,
    client: IpAddr,
}

impl InFlight {
    /// A place for one more request of `client`, if it has fewer than `cap` in flight.
    pub fn enter(self: &Arc<Self>, client: IpAddr, cap: u32) -> Option<Ticket> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let n = clients.entry(client).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(Ticket { owner: self.clone(), client })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut clients = self.owner.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = clients.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                clients.remove(&self.client);
            }
        }
    }
}

/// A body stream with a deadline: no gap longer than `idle`, and after a grace of `idle`, at least
/// `MIN_RATE` bytes a second on average. Marks `done` when the body has been read to its end.
struct Guarded {
    inner: Payload,
    started: Instant,
    received: u64,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
    done: Arc<AtomicBool>,
}

impl Guarded {
    fn deadline(&self) -> Instant {
        let by_rate = self.started + self.idle + Duration::from_secs(self.received / MIN_RATE);
        (Instant::now() + self.idle).min(by_rate.max(Instant::now() + Duration::from_millis(1)))
    }
}

impl Stream for Guarded {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                self.received += bytes.len() as u64;
                let next = self.deadline();
                self.timer.as_mut().reset(next);
                Poll::Ready(Some(Ok(bytes)))
            }
            Poll::Ready(None) => {
                self.done.store(true, Ordering::Relaxed);
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the request body arrived too slowly",
                ))))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// Does the request announce a body (a length above zero, or chunks)?
fn announces_body(req: &ServiceRequest) -> bool {
    let h = req.headers();
    h.contains_key(header::TRANSFER_ENCODING) || h.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() != "0")
}

/// The guard, outermost: the per-client cap first (429, connection closed), then the body's deadline; a
/// response to a request whose body was not read to its end closes the connection, so a body that never
/// comes holds nothing once the answer is sent (a route that takes no body answers without reading one).
pub async fn guard(req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<Data<AppState>>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let peer = req.peer_addr().map(|a| a.ip());
    let forwarded = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let client = peer.map(|p| client_ip(p, forwarded, &state.config.trusted_proxies));
    let ticket = match client {
        Some(c) => match state.in_flight.enter(c, state.config.client_requests) {
            Some(t) => Some(t),
            None => {
                let refusal = ApiError {
                    retry_after: Some(1),
                    ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests in flight from this address")
                };
                let mut res = req.into_response(actix_web::ResponseError::error_response(&refusal));
                res.response_mut().head_mut().set_connection_type(ConnectionType::Close);
                return Ok(res.map_into_boxed_body());
            }
        },
        None => None,
    };
    let body = announces_body(&req);
    let done = Arc::new(AtomicBool::new(!body));
    let req = if body {
        let (http, payload) = req.into_parts();
        let idle = Duration::from_secs(u64::from(state.config.body_timeout_seconds));
        let guarded = Guarded {
            inner: payload,
            started: Instant::now(),
            received: 0,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
            done: done.clone(),
        };
        ServiceRequest::from_parts(
            http,
            Payload::from(Box::pin(guarded) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>),
        )
    } else {
        req
    };
    let mut res = next.call(req).await?;
    drop(ticket);
    if !done.load(Ordering::Relaxed) {
        res.response_mut().head_mut().set_connection_type(ConnectionType::Close);
    }
    Ok(res.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_has_only_so_many_places() {
        let f = Arc::new(InFlight::default());
        let a: IpAddr = "203.0.113.1".parse().unwrap();
        let b: IpAddr = "203.0.113.2".parse().unwrap();
        let t1 = f.enter(a, 2).unwrap();
        let _t2 = f.enter(a, 2).unwrap();
        assert!(f.enter(a, 2).is_none(), "a third request of the same address waits for none");
        assert!(f.enter(b, 2).is_some(), "another address is not held back");
        drop(t1);
        assert!(f.enter(a, 2).is_some(), "a place given back is taken again");
    }
}
