//! The recordings `start_voice_chat: { speech: NAME }` plays: the clips in `fixtures/speech/`
//! (made with espeak-ng), built in so the shipped corpus runs from the binary alone.

const CLIPS: [(&str, &[u8]); 2] = [
    (
        "hello",
        include_bytes!("../../../fixtures/speech/hello.wav"),
    ),
    (
        "question",
        include_bytes!("../../../fixtures/speech/question.wav"),
    ),
];

/// The WAV bytes of clip `name`.
pub fn find(name: &str) -> Option<&'static [u8]> {
    CLIPS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, clip)| *clip)
}

/// The message for a name that is not a clip.
pub fn unknown(name: &str) -> String {
    let names: Vec<&str> = CLIPS.iter().map(|(n, _)| *n).collect();
    format!(
        "no built-in speech `{name}` (there are: {})",
        names.join(", ")
    )
}
