//! Real speech for voice tests: the clips in `fixtures/speech/` (made with espeak-ng), which
//! the mock's voice detector hears as a person talking, as HeyGen's would. A tone is not
//! speech to either.

use std::path::PathBuf;
use streaming_avatar::voice;

/// The path of a clip in `fixtures/speech/` (`hello`, `question`).
pub fn clip_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/speech")
        .join(format!("{name}.wav"))
}

/// `ms` of speech at `sample_rate`: the `hello` clip ("Hello, how are you today?", 1.47 s),
/// cut short or said again as often as it takes.
pub fn speech(ms: u64, sample_rate: u32) -> Vec<i16> {
    let (mono, rate) = voice::read_wav(clip_path("hello")).expect("the speech fixture reads");
    let clip = voice::resample(&mono, rate, sample_rate);
    let n = (u64::from(sample_rate) * ms / 1000) as usize;
    clip.iter().copied().cycle().take(n).collect()
}
