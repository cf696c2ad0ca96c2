//! The error catalogue of §5 as one table: every error the mock can answer with, its HeyGen
//! `code`, its HTTP status and its message.
//!
//! Messages are the observed spellings where a real response was captured (for example the
//! lower-case `session state wrong: closed`), otherwise the documented ones. Codes below 1000
//! that equal their HTTP status are Understudy's own, for situations HeyGen's catalogue does not
//! cover (unknown route, wrong method, oversized body); the real service's answers there were
//! never captured.

use crate::envelope::ErrorBody;
use crate::state::SessionState;

/// One row of the error catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// 10001: a call that needs the session to have left `new`.
    StateNew,
    /// 10002: e.g. `start` twice, or a v1 task before the peer connected.
    StateConnecting,
    /// 10003: e.g. `start` on a connected session [INF].
    StateConnected,
    /// 10004: the session is being torn down.
    StateClosing,
    /// 10005: any call but `stop` on a closed session.
    StateClosed,
    /// 10006: a session id this caller has never seen.
    SessionNotFound,
    /// 10007: over the plan's concurrent-session limit.
    ConcurrentLimit,
    /// 10012: an avatar id that is not in the catalogue (only with strict avatars).
    AvatarNotFound,
    /// 10013: an avatar this key may not use.
    AvatarNotAllowed,
    /// 10014: documented, never observed.
    SessionFull,
    /// 10015: the trial quota is used up.
    TrialLimit,
    /// 400: a v1 `start` whose SDP answer the peer rejected.
    PeerStartFailed,
    /// 400004: `stop` on a session that has ended or never existed.
    SessionDoesNotExist,
    /// 400006: a v2 task before the client joined the room.
    NotInCorrectState,
    /// 400006: a body that does not fit the endpoint (malformed JSON, wrong types, missing fields).
    InvalidParams,
    /// 400112: a missing or unknown API key or session token.
    Unauthorized,
    /// 400123: the rate limiter refused the call.
    RateLimited,
    /// 404 (Understudy): no such route.
    RouteNotFound,
    /// 404 (Understudy): no knowledge base with that id in this account.
    KnowledgeBaseNotFound,
    /// 405 (Understudy): the route exists with another method.
    MethodNotAllowed,
    /// 413 (Understudy): the body is over the 1 MiB limit.
    PayloadTooLarge,
    /// 500 (Understudy): a bug in the mock; never expected.
    Internal,
}

impl ErrorKind {
    /// Every row, in catalogue order; used by the snapshot test that pins the table.
    pub const ALL: [ErrorKind; 22] = [
        ErrorKind::StateNew,
        ErrorKind::StateConnecting,
        ErrorKind::StateConnected,
        ErrorKind::StateClosing,
        ErrorKind::StateClosed,
        ErrorKind::SessionNotFound,
        ErrorKind::ConcurrentLimit,
        ErrorKind::AvatarNotFound,
        ErrorKind::AvatarNotAllowed,
        ErrorKind::SessionFull,
        ErrorKind::TrialLimit,
        ErrorKind::PeerStartFailed,
        ErrorKind::SessionDoesNotExist,
        ErrorKind::NotInCorrectState,
        ErrorKind::InvalidParams,
        ErrorKind::Unauthorized,
        ErrorKind::RateLimited,
        ErrorKind::RouteNotFound,
        ErrorKind::KnowledgeBaseNotFound,
        ErrorKind::MethodNotAllowed,
        ErrorKind::PayloadTooLarge,
        ErrorKind::Internal,
    ];

    /// `(code, HTTP status, message)` for this row.
    pub const fn row(self) -> (i64, u16, &'static str) {
        match self {
            ErrorKind::StateNew => (10001, 400, "session state wrong: new"),
            ErrorKind::StateConnecting => (10002, 400, "session state wrong: connecting"),
            ErrorKind::StateConnected => (10003, 400, "session state wrong: connected"),
            ErrorKind::StateClosing => (10004, 400, "session state wrong: closing"),
            ErrorKind::StateClosed => (10005, 400, "session state wrong: closed"),
            ErrorKind::SessionNotFound => (10006, 404, "Session not found"),
            ErrorKind::ConcurrentLimit => (10007, 429, "Concurrent limit reached"),
            ErrorKind::AvatarNotFound => (10012, 404, "Avatar not found"),
            ErrorKind::AvatarNotAllowed => (10013, 403, "avatar not allow"),
            ErrorKind::SessionFull => (10014, 429, "Session full"),
            ErrorKind::TrialLimit => (10015, 429, "Trial API limit reached"),
            ErrorKind::PeerStartFailed => (400, 400, "peer start failed,please check the answer"),
            ErrorKind::SessionDoesNotExist => (400004, 400, "Session does not exist."),
            ErrorKind::NotInCorrectState => (400006, 400, "Session is not in correct state"),
            ErrorKind::InvalidParams => (400006, 400, "Invalid params"),
            ErrorKind::Unauthorized => (400112, 401, "Unauthorized"),
            ErrorKind::RateLimited => (400123, 429, "Exceed rate limit"),
            ErrorKind::RouteNotFound => (404, 404, "Not found"),
            ErrorKind::KnowledgeBaseNotFound => (404, 404, "Knowledge base not found"),
            ErrorKind::MethodNotAllowed => (405, 405, "Method not allowed"),
            ErrorKind::PayloadTooLarge => (413, 413, "Request body is larger than 1 MiB"),
            ErrorKind::Internal => (500, 500, "Internal server error"),
        }
    }

    pub const fn code(self) -> i64 {
        self.row().0
    }

    pub const fn http_status(self) -> u16 {
        self.row().1
    }

    pub const fn message(self) -> &'static str {
        self.row().2
    }

    /// The `session state wrong: <state>` row for a session found in `state`.
    pub const fn state_wrong(state: SessionState) -> ErrorKind {
        match state {
            SessionState::New => ErrorKind::StateNew,
            SessionState::Connecting => ErrorKind::StateConnecting,
            SessionState::Connected => ErrorKind::StateConnected,
            SessionState::Closing => ErrorKind::StateClosing,
            SessionState::Closed => ErrorKind::StateClosed,
        }
    }

    /// The body with the catalogue message alone.
    pub fn body(self) -> ErrorBody {
        ErrorBody {
            code: self.code(),
            message: self.message().to_owned(),
        }
    }

    /// The body with a detail appended: `Invalid params: missing field 'session_id'`, or for
    /// 400004 the observed `Session does not exist. SessionID: <id>`.
    pub fn body_with(self, detail: &str) -> ErrorBody {
        let message = match self {
            ErrorKind::SessionDoesNotExist => format!("{} SessionID: {detail}", self.message()),
            _ => format!("{}: {detail}", self.message()),
        };
        ErrorBody {
            code: self.code(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_pinned() {
        let table: Vec<String> = ErrorKind::ALL
            .iter()
            .map(|k| {
                let (code, status, message) = k.row();
                format!("{k:?} | {code} | {status} | {message}")
            })
            .collect();
        insta::assert_snapshot!(table.join("\n"));
    }

    #[test]
    fn state_rows_name_the_state() {
        for state in [
            SessionState::New,
            SessionState::Connecting,
            SessionState::Connected,
            SessionState::Closing,
            SessionState::Closed,
        ] {
            let kind = ErrorKind::state_wrong(state);
            assert!(kind.message().ends_with(state.as_str()), "{kind:?}");
            assert_eq!(kind.http_status(), 400);
        }
    }

    #[test]
    fn session_does_not_exist_carries_the_id_like_the_real_service() {
        let body = ErrorKind::SessionDoesNotExist.body_with("abc");
        assert_eq!(body.message, "Session does not exist. SessionID: abc");
        assert_eq!(body.code, 400004);
    }
}
