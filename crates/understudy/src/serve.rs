//! `understudy serve`: start the mock, tell the user how to use it, stop on Ctrl-C or SIGTERM.

use crate::cli::ServePlan;
use anyhow::Context;

pub async fn run(plan: ServePlan) -> anyhow::Result<()> {
    let server = plan
        .builder
        .start()
        .await
        .context("could not start the server")?;
    print_banner(&server, plan.host);
    wait_for_stop_signal().await;
    eprintln!("understudy: shutting down");
    server.shutdown().await;
    Ok(())
}

fn print_banner(server: &understudy_server::MockServer, host: std::net::IpAddr) {
    let base = server
        .http_addr()
        .map(|a| format!("http://{a}"))
        .or_else(|| server.https_uri());
    let base = base.unwrap_or_default();
    println!("Open the playground and inspector: {base}/");
    println!(
        "Understudy {} is serving HeyGen's Streaming Avatar API",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(addr) = server.http_addr() {
        println!("  HTTP   http://{addr}   (REST, ws://)");
    }
    if let (Some(addr), Some(tls)) = (server.https_addr(), server.tls()) {
        let name = if host.is_loopback() || host.is_unspecified() {
            "localhost".to_owned()
        } else {
            host.to_string()
        };
        println!("  HTTPS  https://{name}:{}   (REST, wss://)", addr.port());
        println!("         certificate: {}", tls.cert_path.display());
        if let Some(spki) = &tls.spki_sha256 {
            println!("         Chromium trust flag: --ignore-certificate-errors-spki-list={spki}");
        }
    }
    if let Some(addr) = server.stun_addr() {
        println!("  STUN   stun:{addr}   (UDP; v1 sessions' ice_servers)");
    }
    println!();
    println!("Mint a session token (any API key works unless --api-key was given):");
    println!("  curl -s -X POST {base}/v1/streaming.create_token -H 'x-api-key: demo'");
    println!("Give the official SDK this basePath:");
    println!("  new StreamingAvatar({{ token, basePath: \"{base}\" }})");
    println!(
        "  (SDK 2.0.14+ also dials wss://<basePath host>:443; serve with --https-port 443 for it)"
    );
    println!("Requests seen so far: {base}/__understudy/requests");
    println!("Press Ctrl-C to stop.");
}

pub async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
