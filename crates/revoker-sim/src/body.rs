//! Answer bodies, including the broken ones the fault knobs ask for.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// A body that is whole, never finishes, or breaks off.
pub(super) enum SimBody {
    Whole(Option<Bytes>),
    /// Sends its first part, then waits forever (the client's timeout ends it).
    Stall(Option<Bytes>),
    /// Sends its part, waits a moment (so it leaves the server), then fails: the connection is cut
    /// short of the declared length.
    Cut(Option<Bytes>, Pin<Box<tokio::time::Sleep>>),
    /// Never ends: 64 KiB after 64 KiB for as long as the client reads.
    Endless,
}

static SPACES: [u8; 64 * 1024] = [b' '; 64 * 1024];

impl SimBody {
    pub(super) fn whole(bytes: impl Into<Bytes>) -> SimBody {
        SimBody::Whole(Some(bytes.into()))
    }

    pub(super) fn cut(part: &'static [u8]) -> SimBody {
        SimBody::Cut(
            Some(Bytes::from_static(part)),
            Box::pin(tokio::time::sleep(std::time::Duration::from_millis(20))),
        )
    }

    pub(super) fn empty() -> SimBody {
        SimBody::Whole(None)
    }
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            SimBody::Whole(part) => Poll::Ready(part.take().map(|b| Ok(Frame::data(b)))),
            SimBody::Stall(part) => match part.take() {
                Some(b) => Poll::Ready(Some(Ok(Frame::data(b)))),
                // Never woken: the connection is dropped with the server or the client.
                None => Poll::Pending,
            },
            SimBody::Endless => Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&SPACES))))),
            SimBody::Cut(part, pause) => match part.take() {
                Some(b) => Poll::Ready(Some(Ok(Frame::data(b)))),
                None => match pause.as_mut().poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(()) => {
                        Poll::Ready(Some(Err(std::io::Error::other("simulated truncated body"))))
                    }
                },
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, SimBody::Whole(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            SimBody::Whole(Some(b)) => SizeHint::with_exact(b.len() as u64),
            SimBody::Whole(None) => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}
