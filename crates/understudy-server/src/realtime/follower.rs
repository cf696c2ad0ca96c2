//! The speech schedule as a realtime socket's events: `agent.speak_started` / `speak_ended`
//! for the tasks the socket started, and `agent.state_updated` as the avatar goes between
//! idle, listening and talking (for any task: a REST `task` makes it talk too).
//!
//! It follows the schedule with the same [`Narrator`] each viewer's stage runs, so the socket
//! and the room agree on when a task starts and stops.

use super::utterance::Started;
use crate::clock::TimeScale;
use crate::config::EventTimeline;
use crate::livekit::narrator::Narrator;
use crate::speech::ScheduledTask;
use std::collections::VecDeque;
use tokio::time::Instant;
use understudy_proto::events::DataChannelEvent;
use understudy_proto::realtime::{AgentState, RealtimeServerMessage, TaskRef};

/// Tasks a socket remembers having started; older ones (dropped by an interrupt before they
/// spoke) are forgotten past this.
const MAX_TRACKED: usize = 2 * crate::speech::MAX_QUEUED_TASKS;

#[derive(Debug)]
pub struct Follower {
    narrator: Narrator,
    mine: VecDeque<Started>,
    agent: AgentState,
}

impl Default for Follower {
    fn default() -> Self {
        Self {
            narrator: Narrator::new(TimeScale::REAL, EventTimeline::Progressive),
            mine: VecDeque::new(),
            agent: AgentState::Idle,
        }
    }
}

impl Follower {
    /// A task this socket started: its start and end are reported.
    pub fn track(&mut self, started: Started) {
        if self.mine.len() >= MAX_TRACKED {
            self.mine.pop_front();
        }
        self.mine.push_back(started);
    }

    /// What changed by `now`, given the task speaking (if any) and whether the avatar was
    /// asked to listen.
    pub fn follow(
        &mut self,
        now: Instant,
        current: Option<&ScheduledTask>,
        listening: bool,
    ) -> Vec<RealtimeServerMessage> {
        let mut out = Vec::new();
        for event in self.narrator.tick(now, current) {
            match event {
                DataChannelEvent::AvatarStartTalking { task_id } => {
                    if let Some(mine) = self.mine.iter().find(|m| m.task_id == task_id) {
                        out.push(RealtimeServerMessage::SpeakStarted {
                            event_id: mine.event_id.clone(),
                            task: TaskRef { id: task_id },
                        });
                    }
                }
                DataChannelEvent::AvatarStopTalking { task_id, .. } => {
                    if let Some(at) = self.mine.iter().position(|m| m.task_id == task_id) {
                        let mine = self.mine.remove(at).expect("found above");
                        out.push(RealtimeServerMessage::SpeakEnded {
                            event_id: mine.event_id,
                            task: TaskRef { id: task_id },
                        });
                    }
                }
                _ => {}
            }
        }
        let agent = if self.narrator.is_talking() {
            AgentState::Talking
        } else if listening {
            AgentState::Listening
        } else {
            AgentState::Idle
        };
        if agent != self.agent {
            out.push(RealtimeServerMessage::AgentStateUpdated {
                event_id: crate::ids::time_uuid(),
                previous_state: self.agent,
                new_state: agent,
            });
            self.agent = agent;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::speech::SpokenAudio;
    use std::time::Duration;
    use understudy_proto::rest::task::TaskType;

    fn task(id: &str, audio: bool, start: Instant, ms: u64) -> ScheduledTask {
        ScheduledTask {
            task_id: id.into(),
            spoken_text: if audio { String::new() } else { "hi".into() },
            task_type: TaskType::Repeat,
            starts_at: start,
            ends_at: start + Duration::from_millis(ms),
            audio: audio.then(SpokenAudio::default),
        }
    }

    fn types(messages: &[RealtimeServerMessage]) -> Vec<String> {
        messages
            .iter()
            .map(|m| match m {
                RealtimeServerMessage::AgentStateUpdated { new_state, .. } => {
                    format!("state:{new_state:?}")
                }
                other => serde_json::to_value(other).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            })
            .collect()
    }

    #[test]
    fn its_own_tasks_start_and_end_and_every_task_sets_the_state() {
        let t0 = Instant::now();
        let mut follower = Follower::default();
        follower.track(Started {
            task_id: "mine".into(),
            event_id: "e1".into(),
        });
        let mine = task("mine", true, t0, 100);
        let rest = task("rest", false, t0 + Duration::from_millis(100), 100);
        let started = follower.follow(t0, Some(&mine), false);
        assert_eq!(types(&started), ["agent.speak_started", "state:Talking"]);
        assert!(
            matches!(&started[0], RealtimeServerMessage::SpeakStarted { event_id, .. } if event_id == "e1")
        );
        // Another writer's task: no speak events, still talking.
        let next = follower.follow(t0 + Duration::from_millis(100), Some(&rest), false);
        assert_eq!(types(&next), ["agent.speak_ended"]);
        let done = follower.follow(t0 + Duration::from_millis(200), None, true);
        assert_eq!(types(&done), ["state:Listening"]);
        assert_eq!(
            types(&follower.follow(t0 + Duration::from_millis(240), None, false)),
            ["state:Idle"]
        );
    }
}
