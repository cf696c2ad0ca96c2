//! Everything the mock remembers between calls: tokens, sessions and knowledge bases. Plain
//! data behind one short `std::sync::Mutex` section in the app state; nothing here awaits, so
//! every check-then-change (e.g. concurrency limit then insert) is atomic.
//!
//! The tables are private: what may be looked up, by whom, and how entries leave (the token
//! sweep, the bounded history of closed sessions) is decided here and nowhere else.

use crate::session::{Caller, CloseReason, Session};
use std::collections::{BTreeMap, HashMap, VecDeque};
use tokio::time::Instant;
use understudy_proto::ErrorKind;
use understudy_proto::rest::knowledge_base::KnowledgeBase;

/// A token minted by `create_token`.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub api_key: String,
    pub issued_at: Instant,
    /// The session this token acts for: the one it created, or the one it was minted for
    /// (`create_token` with a `session_id`). Such a token creates no other session.
    pub used_by: Option<String>,
}

/// Knowledge bases one account may hold, so a client creating them in a loop cannot grow the
/// mock without bound. [INF] HeyGen's own limit is not documented.
pub const MAX_KNOWLEDGE_BASES: usize = 1000;

/// Expired tokens are swept once per this many mints, so minting stays O(1) amortised while
/// the token table stays bounded by what one token lifetime can mint.
const TOKEN_SWEEP_INTERVAL: u64 = 1024;

#[derive(Debug, Default)]
pub struct Registry {
    tokens: HashMap<String, TokenRecord>,
    sessions: HashMap<String, Session>,
    /// Closed session ids, oldest first, for bounded history.
    closed: VecDeque<String>,
    /// Knowledge bases by id, with the API key that owns each.
    knowledge_bases: BTreeMap<String, (String, KnowledgeBase)>,
    next_seq: u64,
    minted: u64,
}

impl Registry {
    pub fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// Records a minted token, sweeping expired ones every [`TOKEN_SWEEP_INTERVAL`] mints.
    pub fn insert_token(&mut self, token: String, record: TokenRecord, ttl: std::time::Duration) {
        self.minted += 1;
        if self.minted.is_multiple_of(TOKEN_SWEEP_INTERVAL) {
            let now = record.issued_at;
            self.tokens
                .retain(|_, t| now.duration_since(t.issued_at) < ttl);
        }
        self.tokens.insert(token, record);
    }

    /// The token's record, expired or not (callers judge expiry against their TTL).
    pub fn token(&self, token: &str) -> Option<&TokenRecord> {
        self.tokens.get(token)
    }

    /// Forgets a token now, as if it had expired (a fault); whether it was known.
    pub fn forget_token(&mut self, token: &str) -> bool {
        self.tokens.remove(token).is_some()
    }

    pub fn token_mut(&mut self, token: &str) -> Option<&mut TokenRecord> {
        self.tokens.get_mut(token)
    }

    /// Tokens held now (live and not yet swept).
    pub fn token_count(&self) -> usize {
        self.tokens.len()
    }

    /// Files a session made by `streaming.new`.
    pub fn insert_session(&mut self, session: Session) {
        self.sessions.insert(session.id.clone(), session);
    }

    /// The session `id`, for doors whose caller was already checked (a LiveKit token names its
    /// room; a chat socket's token was checked at upgrade) and for the server's own tasks.
    pub fn session(&self, id: &str) -> Option<&Session> {
        self.sessions.get(id)
    }

    /// As [`Registry::session`], to change it.
    pub fn session_mut(&mut self, id: &str) -> Option<&mut Session> {
        self.sessions.get_mut(id)
    }

    /// Every session held, live and closed, in no order.
    pub fn sessions(&self) -> impl Iterator<Item = &Session> {
        self.sessions.values()
    }

    /// Live sessions (new, connecting, connected) held by an account.
    pub fn live_sessions_of(&self, api_key: &str) -> usize {
        self.sessions
            .values()
            .filter(|s| s.owner.api_key == api_key && s.state.is_live())
            .count()
    }

    /// The session `id` if `caller` may see it.
    ///
    /// # Errors
    /// 10006 when it does not exist or belongs to someone else (the two are not told apart, so
    /// ids do not leak across accounts).
    pub fn session_for(&mut self, caller: &Caller, id: &str) -> Result<&mut Session, ErrorKind> {
        // A token minted for this session (`create_token` with its id) acts for it too.
        let bound = caller.token.as_ref().is_some_and(|t| {
            self.tokens
                .get(t)
                .is_some_and(|r| r.api_key == caller.api_key && r.used_by.as_deref() == Some(id))
        });
        match self.sessions.get_mut(id) {
            Some(s) if caller.can_see(&s.owner) || (bound && s.owner.api_key == caller.api_key) => {
                Ok(s)
            }
            _ => Err(ErrorKind::SessionNotFound),
        }
    }

    /// Whether session `id` exists and belongs to the account of `api_key`.
    pub fn is_owned_by(&self, id: &str, api_key: &str) -> bool {
        self.sessions
            .get(id)
            .is_some_and(|s| s.owner.api_key == api_key)
    }

    /// The account's knowledge bases, in id order.
    pub fn knowledge_bases_of<'a>(
        &'a self,
        api_key: &'a str,
    ) -> impl Iterator<Item = &'a KnowledgeBase> + 'a {
        self.knowledge_bases
            .values()
            .filter(move |(owner, _)| owner == api_key)
            .map(|(_, kb)| kb)
    }

    /// Knowledge base `id` if the account owns it; another account's is not found.
    pub fn knowledge_base_of(&self, api_key: &str, id: &str) -> Option<&KnowledgeBase> {
        match self.knowledge_bases.get(id) {
            Some((owner, kb)) if owner == api_key => Some(kb),
            _ => None,
        }
    }

    /// As [`Registry::knowledge_base_of`], to change it.
    pub fn knowledge_base_of_mut(&mut self, api_key: &str, id: &str) -> Option<&mut KnowledgeBase> {
        match self.knowledge_bases.get_mut(id) {
            Some((owner, kb)) if owner == api_key => Some(kb),
            _ => None,
        }
    }

    /// Files a knowledge base for the account.
    ///
    /// # Errors
    /// `RateLimited` (400123) when the account already holds [`MAX_KNOWLEDGE_BASES`].
    pub fn insert_knowledge_base(
        &mut self,
        api_key: String,
        kb: KnowledgeBase,
    ) -> Result<(), ErrorKind> {
        if self.knowledge_bases_of(&api_key).count() >= MAX_KNOWLEDGE_BASES {
            return Err(ErrorKind::RateLimited);
        }
        self.knowledge_bases.insert(kb.id.clone(), (api_key, kb));
        Ok(())
    }

    /// Deletes knowledge base `id` if the account owns it; whether it did.
    pub fn remove_knowledge_base_of(&mut self, api_key: &str, id: &str) -> bool {
        if self.knowledge_base_of(api_key, id).is_none() {
            return false;
        }
        self.knowledge_bases.remove(id).is_some()
    }

    /// Closes a live session and files it in the bounded history, evicting the oldest closed
    /// one past `history_capacity`. Returns whether this call closed it.
    pub fn close(
        &mut self,
        id: &str,
        now: Instant,
        reason: CloseReason,
        history_capacity: usize,
    ) -> bool {
        let Some(session) = self.sessions.get_mut(id) else {
            return false;
        };
        if !session.state.is_live() {
            return false;
        }
        session.close(now, reason);
        self.closed.push_back(id.to_owned());
        while self.closed.len() > history_capacity {
            if let Some(old) = self.closed.pop_front() {
                self.sessions.remove(&old);
            }
        }
        true
    }

    /// Closes every live session (reset or shutdown) and forgets everything.
    pub fn clear(&mut self, now: Instant) {
        for session in self.sessions.values_mut() {
            session.close(now, CloseReason::ServerReset);
        }
        *self = Registry::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_account_holds_a_bounded_number_of_knowledge_bases() {
        let mut registry = Registry::default();
        let kb = |i: usize| KnowledgeBase {
            id: format!("kb{i}"),
            knowledge_base_id: format!("kb{i}"),
            name: "n".into(),
            opening: String::new(),
            prompt: "p".into(),
            created_at: 0,
            updated_at: 0,
        };
        for i in 0..MAX_KNOWLEDGE_BASES {
            registry.insert_knowledge_base("k".into(), kb(i)).unwrap();
        }
        assert_eq!(
            registry.insert_knowledge_base("k".into(), kb(MAX_KNOWLEDGE_BASES)),
            Err(ErrorKind::RateLimited)
        );
        // Another account is not held to the first one's count.
        assert!(
            registry
                .insert_knowledge_base("other".into(), kb(0))
                .is_ok()
        );
        assert!(registry.remove_knowledge_base_of("k", "kb1"));
        assert!(
            registry
                .insert_knowledge_base("k".into(), kb(MAX_KNOWLEDGE_BASES))
                .is_ok()
        );
    }

    #[test]
    fn expired_tokens_are_swept_as_new_ones_are_minted() {
        let mut registry = Registry::default();
        let start = Instant::now();
        let ttl = Duration::from_secs(10);
        for i in 0..TOKEN_SWEEP_INTERVAL {
            let issued_at = start + Duration::from_secs(i / 100);
            registry.insert_token(
                format!("t{i}"),
                TokenRecord {
                    api_key: "k".into(),
                    issued_at,
                    used_by: None,
                },
                ttl,
            );
        }
        // The last mint (at +10 s) swept the tokens minted at +0 s, which had expired.
        assert_eq!(registry.tokens.len() as u64, TOKEN_SWEEP_INTERVAL - 100);
        assert!(!registry.tokens.contains_key("t0"));
        assert!(registry.tokens.contains_key("t100"));
    }
}
