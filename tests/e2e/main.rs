//! End-to-end tests of the mock over real loopback sockets. One module per endpoint family;
//! each test names the `heygen-api.md` section it checks.

mod admin;
mod auth;
mod bad_input;
mod chat_socket;
mod conformance;
mod cors;
mod faults;
mod fuzz;
mod knowledge_base;
mod latency;
mod limits;
mod lists;
mod livekit_http;
mod playground;
mod properties;
mod raw_webrtc;
mod realtime_endpoint;
mod room;
mod sdk;
mod sdk_realtime;
mod sessions;
mod snapshots;
mod tasks;
mod tidy;
mod tls;
mod voice;
