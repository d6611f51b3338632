//! TCP_CHECK: healthy when the connection is established within connect_timeout.

use super::Outcome;
use super::conn::connect_tcp;
use crate::health::spec::ConnSpec;

pub async fn probe(conn: &ConnSpec) -> Outcome {
    match connect_tcp(conn).await {
        Ok(stream) => {
            drop(stream);
            Outcome::pass()
        }
        Err(reason) => Outcome::fail(reason),
    }
}
