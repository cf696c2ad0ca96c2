//! The avatars `streaming/avatar.list` reports, from `fixtures/avatars.json` built into the
//! binary. Ids echo public HeyGen avatars that demos use, so copied snippets work unchanged.

use understudy_proto::rest::avatar::StreamingAvatarInfo;

const BUILTIN: &str = include_str!("../../../fixtures/avatars.json");

#[derive(Debug, Clone)]
pub struct AvatarCatalogue {
    avatars: Vec<StreamingAvatarInfo>,
}

impl AvatarCatalogue {
    /// The catalogue shipped in `fixtures/avatars.json`.
    ///
    /// # Panics
    /// Never at run time: a unit test proves the embedded fixture parses.
    pub fn builtin() -> Self {
        Self {
            avatars: serde_json::from_str(BUILTIN).expect("fixtures/avatars.json is valid"),
        }
    }

    pub fn all(&self) -> &[StreamingAvatarInfo] {
        &self.avatars
    }

    /// Whether `id` names an avatar that can stream (listed and `ACTIVE`).
    pub fn is_usable(&self, id: &str) -> bool {
        self.avatars
            .iter()
            .any(|a| a.avatar_id == id && a.status == "ACTIVE")
    }

    pub fn contains(&self, id: &str) -> bool {
        self.avatars.iter().any(|a| a.avatar_id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalogue_parses_and_has_the_default_avatar() {
        let catalogue = AvatarCatalogue::builtin();
        assert!(catalogue.is_usable("default"));
        assert!(catalogue.contains("retired_demo_avatar"));
        assert!(!catalogue.is_usable("retired_demo_avatar"));
    }
}
