//! The WuKongIM HTTP API calls of a monitor setup (feature `wukong-api`), over `ureq`: the
//! request bodies come from [`wire::wukong::api`](crate::wire::wukong::api); [`WkApi::listen`]
//! turns a listen command into subscriptions (groups and rooms: the monitor uid becomes a
//! subscriber, so their messages come on the socket) and the webhook filter (users and
//! events: only the webhooks carry them).

extern crate std;

use std::string::{String, ToString};
use std::time::Duration;
use std::vec::Vec;

use crate::session::wukong::{WkIds, WkListenError, WkListener};
use crate::wire::wukong::api::{
    ROUTE, SUBSCRIBER_ADD, SUBSCRIBER_REMOVE, USER_TOKEN, subscribers_body, user_token_body,
};

/// Why an API call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiError {
    /// The server answered with this status (and body).
    Status(u16, String),
    /// The server could not be reached, or its answer not read.
    Transport(String),
    /// The listen command itself was refused (nothing was sent).
    Listen(WkListenError),
    /// An id too long for the request buffer.
    TooLong,
}

impl core::fmt::Display for ApiError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Status(s, body) => write!(f, "HTTP {s}: {body}"),
            Self::Transport(e) => write!(f, "transport: {e}"),
            Self::Listen(e) => write!(f, "{e}"),
            Self::TooLong => f.write_str("id too long for the request"),
        }
    }
}

impl std::error::Error for ApiError {}

/// A WuKongIM server's HTTP API (default port 5001).
#[derive(Debug, Clone)]
pub struct WkApi {
    base: String,
    manager_token: Option<String>,
    timeout: Duration,
}

impl WkApi {
    /// The API at `base` (`http://host:5001`).
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            base: base.into().trim_end_matches('/').to_string(),
            manager_token: None,
            timeout: Duration::from_secs(10),
        }
    }

    /// Sends the server's `managerToken` as the `token` header (when it sets one).
    pub fn with_manager_token(mut self, token: impl Into<String>) -> Self {
        self.manager_token = Some(token.into());
        self
    }

    fn post(&self, path: &str, body: &[u8]) -> Result<String, ApiError> {
        let mut req = ureq::post(&std::format!("{}{path}", self.base))
            .timeout(self.timeout)
            .set("Content-Type", "application/json");
        if let Some(t) = &self.manager_token {
            req = req.set("token", t);
        }
        answer(req.send_bytes(body))
    }

    /// `POST /channel/subscriber_add` (`add`) or `/channel/subscriber_remove` for `uid` on
    /// `channel_id` of `channel_type`.
    pub fn subscribe(
        &self,
        channel_id: &str,
        channel_type: u8,
        uid: &str,
        add: bool,
    ) -> Result<(), ApiError> {
        let mut body = [0u8; 1024];
        let n = subscribers_body(&mut body, channel_id.as_bytes(), channel_type, &[uid])
            .map_err(|_| ApiError::TooLong)?;
        let path = if add {
            SUBSCRIBER_ADD
        } else {
            SUBSCRIBER_REMOVE
        };
        self.post(path, body.get(..n).unwrap_or(&[])).map(|_| ())
    }

    /// `POST /user/token`: registers `uid`'s login token.
    pub fn register_token(
        &self,
        uid: &str,
        token: &str,
        device_flag: u8,
        device_level: u8,
    ) -> Result<(), ApiError> {
        let mut body = [0u8; 1024];
        let n = user_token_body(
            &mut body,
            uid.as_bytes(),
            token.as_bytes(),
            device_flag,
            device_level,
        )
        .map_err(|_| ApiError::TooLong)?;
        self.post(USER_TOKEN, body.get(..n).unwrap_or(&[]))
            .map(|_| ())
    }

    /// `GET /route` (`?intranet=1` with `intranet`): the server's answer, JSON with
    /// `tcp_addr`, `ws_addr` and `wss_addr`.
    pub fn route(&self, intranet: bool) -> Result<String, ApiError> {
        let q = if intranet { "?intranet=1" } else { "" };
        let mut req = ureq::get(&std::format!("{}{ROUTE}{q}", self.base)).timeout(self.timeout);
        if let Some(t) = &self.manager_token {
            req = req.set("token", t);
        }
        answer(req.call())
    }

    /// A listen command on WuKongIM: `ids` are added to (`add`) or removed from `listener`'s
    /// listen set (what its webhooks deliver), and `monitor_uid` is subscribed to (or
    /// unsubscribed from) each group (channel type 2) and room (`room_type`, usually 9) so
    /// that their messages also come on the socket. The listen set changes first (all or
    /// nothing); the calls then stop at the first failure, which is returned (the calls before
    /// it took effect).
    pub fn listen<S: AsRef<[u8]>, const RX: usize, const TX: usize>(
        &self,
        listener: &mut WkListener<RX, TX>,
        monitor_uid: &str,
        room_type: u8,
        ids: WkIds<'_, S>,
        add: bool,
    ) -> Result<(), ApiError> {
        let change = if add {
            listener.add_listen(ids)
        } else {
            listener.remove_listen(ids)
        };
        change.map_err(ApiError::Listen)?;
        let channels = ids
            .gids
            .iter()
            .map(|g| (g, 2u8))
            .chain(ids.rids.iter().map(|r| (r, room_type)));
        let list: Vec<(String, u8)> = channels
            .map(|(id, t)| (String::from_utf8_lossy(id.as_ref()).into_owned(), t))
            .collect();
        for (id, t) in list {
            self.subscribe(&id, t, monitor_uid, add)?;
        }
        Ok(())
    }
}

/// The body of a 200, or the error.
fn answer(r: Result<ureq::Response, ureq::Error>) -> Result<String, ApiError> {
    match r {
        Ok(resp) if resp.status() == 200 => resp
            .into_string()
            .map_err(|e| ApiError::Transport(e.to_string())),
        Ok(resp) => {
            let s = resp.status();
            Err(ApiError::Status(s, resp.into_string().unwrap_or_default()))
        }
        Err(ureq::Error::Status(s, resp)) => {
            Err(ApiError::Status(s, resp.into_string().unwrap_or_default()))
        }
        Err(e) => Err(ApiError::Transport(e.to_string())),
    }
}
