//! Deterministic replies for `talk` tasks, standing in for HeyGen's LLM: the same text, knowledge
//! base and seed always give the same reply, so recorded scenarios replay exactly.
//!
//! The reply acknowledges the user's words and, when the session has a knowledge base, speaks
//! its first sentence, the way a persona prompt colours a real answer.

use std::hash::{Hash, Hasher};

const OPENERS: [&str; 4] = [
    "Thanks for asking.",
    "Good question.",
    "Let me help with that.",
    "Happy to talk about that.",
];

/// The reply to `text` for a session whose knowledge base (prompt) is `knowledge`.
pub fn talk_reply(text: &str, knowledge: Option<&str>, seed: u64) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    seed.hash(&mut hasher);
    text.hash(&mut hasher);
    let opener = OPENERS[(hasher.finish() % OPENERS.len() as u64) as usize];
    let topic: String = text
        .split_whitespace()
        .take(12)
        .collect::<Vec<_>>()
        .join(" ");
    let mut reply = format!("{opener} You said: {topic}.");
    if let Some(first) = knowledge.and_then(first_sentence) {
        reply.push(' ');
        reply.push_str(first);
    }
    reply
}

fn first_sentence(text: &str) -> Option<&str> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let end = text
        .find(['.', '!', '?', '\n'])
        .map_or(text.len(), |i| i + 1);
    Some(text[..end].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_deterministic_per_seed() {
        assert_eq!(
            talk_reply("hello there", None, 7),
            talk_reply("hello there", None, 7)
        );
        let replies: std::collections::HashSet<_> = (0..16)
            .map(|seed| talk_reply("hello there", None, seed))
            .collect();
        assert!(replies.len() > 1, "the seed changes the reply");
    }

    #[test]
    fn the_knowledge_base_colours_the_reply() {
        let reply = talk_reply("what do you sell?", Some("We sell tea. Nothing else."), 0);
        assert!(reply.contains("You said: what do you sell?."), "{reply}");
        assert!(reply.ends_with("We sell tea."), "{reply}");
    }
}
