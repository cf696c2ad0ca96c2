//! The §6 rule table: which call is allowed in which session state.

use understudy_proto::rest::session::Protocol;
use understudy_proto::{ErrorKind, SessionState};

/// A call that acts on an existing session; `stop` is handled apart because it is allowed in
/// every live state and answers 400004 once closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Start,
    Ice,
    Task,
    Interrupt,
    StartListening,
    StopListening,
    KeepAlive,
    /// Opening `/v1/ws/streaming.chat`: the SDK does it after `start`, HeyGen's LiveKit guide
    /// right after `new` (§6, row "WS").
    OpenChatSocket,
}

impl Operation {
    /// The §6 table. Rows marked [INF] there are filled with the nearest observed behaviour:
    /// calls that need a connected session answer 10001 in `new` and, in `connecting`, 10002
    /// under v1 and 400006 under v2 (what clients of each observed for tasks), and every call
    /// but stop answers 10005 once closed.
    pub fn check(self, state: SessionState, protocol: Protocol) -> Result<(), ErrorKind> {
        use SessionState::*;
        match (self, state) {
            (Operation::Start, New) => Ok(()),
            (Operation::Ice, New | Connecting | Connected) => Ok(()),
            (Operation::Start | Operation::Ice, other) => Err(ErrorKind::state_wrong(other)),
            (Operation::OpenChatSocket, New | Connecting) => Ok(()),
            (_, Connected) => Ok(()),
            (_, Connecting) if protocol == Protocol::V1 => Err(ErrorKind::StateConnecting),
            (_, Connecting) => Err(ErrorKind::NotInCorrectState),
            (_, other) => Err(ErrorKind::state_wrong(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SessionState::*;

    #[test]
    fn start_is_allowed_only_in_new() {
        assert_eq!(Operation::Start.check(New, Protocol::V2), Ok(()));
        assert_eq!(
            Operation::Start.check(Connecting, Protocol::V2),
            Err(ErrorKind::StateConnecting)
        );
        assert_eq!(
            Operation::Start.check(Connected, Protocol::V2),
            Err(ErrorKind::StateConnected)
        );
        assert_eq!(
            Operation::Start.check(Closed, Protocol::V2),
            Err(ErrorKind::StateClosed)
        );
    }

    #[test]
    fn tasks_need_a_connected_session() {
        assert_eq!(
            Operation::Task.check(New, Protocol::V2),
            Err(ErrorKind::StateNew)
        );
        assert_eq!(
            Operation::Task.check(Connecting, Protocol::V2),
            Err(ErrorKind::NotInCorrectState)
        );
        assert_eq!(Operation::Task.check(Connected, Protocol::V2), Ok(()));
        assert_eq!(
            Operation::Task.check(Closing, Protocol::V2),
            Err(ErrorKind::StateClosing)
        );
        assert_eq!(
            Operation::Task.check(Closed, Protocol::V2),
            Err(ErrorKind::StateClosed)
        );
    }

    #[test]
    fn the_chat_socket_opens_before_the_session_connects() {
        for state in [New, Connecting, Connected] {
            assert_eq!(Operation::OpenChatSocket.check(state, Protocol::V2), Ok(()));
        }
        assert_eq!(
            Operation::OpenChatSocket.check(Closed, Protocol::V2),
            Err(ErrorKind::StateClosed)
        );
    }

    #[test]
    fn a_v1_task_while_connecting_is_10002() {
        assert_eq!(
            Operation::Task.check(Connecting, Protocol::V1),
            Err(ErrorKind::StateConnecting)
        );
        assert_eq!(
            Operation::Task.check(New, Protocol::V1),
            Err(ErrorKind::StateNew)
        );
        assert_eq!(Operation::Task.check(Connected, Protocol::V1), Ok(()));
    }

    #[test]
    fn ice_may_race_start() {
        for state in [New, Connecting, Connected] {
            assert_eq!(Operation::Ice.check(state, Protocol::V2), Ok(()));
        }
        assert_eq!(
            Operation::Ice.check(Closed, Protocol::V2),
            Err(ErrorKind::StateClosed)
        );
    }
}
