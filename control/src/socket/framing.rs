//! Frames on an async stream, with every limit enforced before memory or time is spent.
//!
//! The blocking helpers in `proto` are for clients; the server needs the same framing with
//! timeouts and without trusting the length prefix: the length is checked against the limit
//! before anything else, and the body buffer grows with the bytes that actually arrive, so a
//! client announcing a large frame and sending nothing costs nothing.

use std::io;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, timeout, timeout_at};

use super::Limits;

/// Why no frame could be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("connection closed")]
    Closed,
    #[error("no request for {0:?}")]
    Idle(Duration),
    #[error("the frame did not arrive within {0:?}")]
    Slow(Duration),
    #[error("a frame of {0} bytes exceeds the limit of {1} bytes")]
    TooLarge(usize, usize),
    #[error(transparent)]
    Io(io::Error),
}

fn eof_is_closed(e: io::Error) -> ReadError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        ReadError::Closed
    } else {
        ReadError::Io(e)
    }
}

/// Reads one frame body: waits up to `idle_timeout` for its first byte, then gives the
/// whole frame `frame_timeout`.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    limits: &Limits,
) -> Result<Vec<u8>, ReadError> {
    let mut prefix = [0u8; 4];
    match timeout(limits.idle_timeout, r.read(&mut prefix[..1])).await {
        Err(_) => return Err(ReadError::Idle(limits.idle_timeout)),
        Ok(Ok(0)) => return Err(ReadError::Closed),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(ReadError::Io(e)),
    }
    let deadline = Instant::now() + limits.frame_timeout;
    let rest = async {
        r.read_exact(&mut prefix[1..])
            .await
            .map_err(eof_is_closed)?;
        let len = usize::try_from(u32::from_be_bytes(prefix)).unwrap_or(usize::MAX);
        if len > limits.max_frame {
            return Err(ReadError::TooLarge(len, limits.max_frame));
        }
        let mut body = Vec::with_capacity(len.min(64 * 1024));
        let want = u64::try_from(len).unwrap_or(u64::MAX);
        let got = (&mut *r)
            .take(want)
            .read_to_end(&mut body)
            .await
            .map_err(ReadError::Io)?;
        if got < len {
            return Err(ReadError::Closed);
        }
        Ok(body)
    };
    timeout_at(deadline, rest)
        .await
        .map_err(|_| ReadError::Slow(limits.frame_timeout))?
}

/// Writes one message as a frame within `frame_timeout`.
pub async fn write_frame<W: AsyncWrite + Unpin, T: Serialize>(
    w: &mut W,
    msg: &T,
    limits: &Limits,
) -> io::Result<()> {
    let bytes = proto::encode(msg).map_err(io::Error::other)?;
    write_bytes(w, &bytes, limits).await
}

/// Writes an encoded frame within `frame_timeout` (a peer that does not read its reply
/// cannot hold the connection's task for longer).
pub async fn write_bytes<W: AsyncWrite + Unpin>(
    w: &mut W,
    bytes: &[u8],
    limits: &Limits,
) -> io::Result<()> {
    timeout(limits.frame_timeout, async {
        w.write_all(bytes).await?;
        w.flush().await
    })
    .await
    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the peer did not read its reply"))?
}
