//! One control connection: `hello` first, then one reply per request, in order.

use proto::{ErrorKind, Request, Response};
use tokio::io::{AsyncRead, AsyncWrite};

use super::Limits;
use super::framing::{ReadError, read_frame, write_bytes, write_frame};
use crate::director::{Caller, DirectorHandle};

/// Largest frame accepted from a peer that is not allowed to make requests.
pub const UNAUTHORIZED_MAX_FRAME: usize = 4096;

fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
    Response::Error {
        kind,
        message: message.into(),
    }
}

/// Serves one connection until the peer closes it, breaks the framing, or times out.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    caller: Caller,
    director: &DirectorHandle,
    limits: &Limits,
) {
    // A peer that may not change anything only ever needs to say hello: it gets no room
    // to make the daemon buffer large frames.
    let limits = &if caller.authorized {
        *limits
    } else {
        Limits {
            max_frame: limits.max_frame.min(UNAUTHORIZED_MAX_FRAME),
            ..*limits
        }
    };
    let mut greeted = false;
    loop {
        let body = match read_frame(stream, limits).await {
            Ok(body) => body,
            Err(e @ (ReadError::TooLarge(..) | ReadError::Slow(_))) => {
                // The framing is lost (or the peer is stalling): say why, then hang up.
                let _ =
                    write_frame(stream, &error(ErrorKind::BadRequest, e.to_string()), limits).await;
                return;
            }
            Err(ReadError::Closed | ReadError::Idle(_) | ReadError::Io(_)) => return,
        };
        let reply = match proto::decode::<Request>(&body) {
            Err(e) => error(ErrorKind::BadRequest, e.to_string()),
            Ok(req) if !greeted && !matches!(req, Request::Hello { .. }) => error(
                ErrorKind::Version,
                "the first request on a connection must be hello",
            ),
            Ok(req) => director.request(req, caller).await,
        };
        if matches!(reply, Response::Hello { .. }) {
            greeted = true;
        }
        let bytes = match proto::encode(&reply) {
            Ok(bytes) => bytes,
            // Larger than a frame may be: say so instead of the reply.
            Err(e) => match proto::encode(&error(
                ErrorKind::Internal,
                format!("the reply cannot be sent: {e}"),
            )) {
                Ok(bytes) => bytes,
                Err(_) => return,
            },
        };
        let sent = write_bytes(stream, &bytes, limits).await;
        if sent.is_err() {
            return;
        }
    }
}
