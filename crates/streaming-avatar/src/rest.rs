//! `Rest`: one HTTP client, the base path and the credentials; sends a request and turns
//! HeyGen's envelopes into data or [`Error::Api`]. The account-level client and every session
//! share it (cheap clones over one connection pool).

use crate::error::{ApiFailure, Error};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use understudy_proto::rest::SessionIdRequest;
use understudy_proto::{ApiEnvelope, SUCCESS_CODE};

/// How the client authenticates.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A session token from `create_token`, sent as `Authorization: Bearer`; what browsers hold.
    Token(String),
    /// The account's API key, sent as `X-Api-Key`; only servers should hold it.
    ApiKey(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Token(<redacted>)"),
            Credentials::ApiKey(_) => f.write_str("ApiKey(<redacted>)"),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Rest {
    inner: Arc<RestInner>,
}

#[derive(Debug)]
struct RestInner {
    http: reqwest::Client,
    base_path: String,
    credentials: Credentials,
}

impl Rest {
    pub(crate) fn new(http: reqwest::Client, base_path: String, credentials: Credentials) -> Self {
        Self {
            inner: Arc::new(RestInner {
                http,
                base_path,
                credentials,
            }),
        }
    }

    pub(crate) fn base_path(&self) -> &str {
        &self.inner.base_path
    }

    /// The same HTTP client (and its connections) with other credentials.
    pub(crate) fn with_credentials(&self, credentials: Credentials) -> Self {
        Self::new(
            self.inner.http.clone(),
            self.inner.base_path.clone(),
            credentials,
        )
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.base_path)
    }

    /// POSTs `{session_id}` to a session endpoint that answers with no data.
    pub(crate) async fn session_call(&self, path: &str, session_id: &str) -> Result<(), Error> {
        let body = SessionIdRequest::new(session_id.to_owned());
        self.call_empty(path, &body).await
    }

    pub(crate) async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        let url = self.url(path);
        let (status, text) = self.send(reqwest::Method::POST, &url, Some(body)).await?;
        unwrap_data(&url, status, text)
    }

    pub(crate) async fn call_empty<B: Serialize>(&self, path: &str, body: &B) -> Result<(), Error> {
        let url = self.url(path);
        let (status, text) = self.send(reqwest::Method::POST, &url, Some(body)).await?;
        let envelope: ApiEnvelope<serde_json::Value> = decode(&url, status, &text)?;
        check_code(status, &envelope, text)
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        let url = self.url(path);
        let (status, text) = self.send::<()>(reqwest::Method::GET, &url, None).await?;
        unwrap_data(&url, status, text)
    }

    /// Sends one request; a non-2xx status becomes [`Error::Api`] with HeyGen's code and message.
    pub(crate) async fn send<B: Serialize>(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&B>,
    ) -> Result<(u16, String), Error> {
        let mut request = self.inner.http.request(method, url);
        request = match &self.inner.credentials {
            Credentials::Token(token) => request.bearer_auth(token),
            Credentials::ApiKey(key) => request.header("x-api-key", key),
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        let transport = |e: reqwest::Error| Error::Transport {
            url: url.to_owned(),
            source: Box::new(e),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(transport)?;
        if !(200..300).contains(&status) {
            let parsed: Option<understudy_proto::ErrorBody> = serde_json::from_str(&text).ok();
            return Err(Error::Api(ApiFailure {
                status,
                code: parsed.as_ref().map(|b| b.code),
                message: parsed.map(|b| b.message),
                body: text,
            }));
        }
        Ok((status, text))
    }
}

pub(crate) fn decode<T: DeserializeOwned>(url: &str, status: u16, body: &str) -> Result<T, Error> {
    serde_json::from_str(body).map_err(|source| Error::Decode {
        url: url.to_owned(),
        status,
        body: body.to_owned(),
        source,
    })
}

/// A 2xx whose envelope `code` is not 100 is still a failure (users saw it on the real service).
pub(crate) fn check_code<T>(
    status: u16,
    envelope: &ApiEnvelope<T>,
    body: String,
) -> Result<(), Error> {
    if envelope.code == SUCCESS_CODE {
        return Ok(());
    }
    Err(Error::Api(ApiFailure {
        status,
        code: Some(envelope.code),
        message: Some(envelope.message.clone()),
        body,
    }))
}

fn unwrap_data<T: DeserializeOwned>(url: &str, status: u16, body: String) -> Result<T, Error> {
    let envelope: ApiEnvelope<T> = decode(url, status, &body)?;
    check_code(status, &envelope, body.clone())?;
    envelope.data.ok_or_else(|| Error::Decode {
        url: url.to_owned(),
        status,
        body,
        source: serde::de::Error::custom("the envelope has no data"),
    })
}
