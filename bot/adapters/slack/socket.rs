//! Socket Mode: deskbot opens the WebSocket itself (app-level token), so no public URL is needed. Slack's
//! envelopes are turned into the same JSON the HTTP endpoints get and go through the same translation; the
//! acknowledgement is sent when a callback returns, which is at most [`SOCKET_ACK_WAIT`] after the envelope
//! arrived (the work goes on in its own task if it takes longer). The library reads one connection's envelopes
//! one after the other, hence the shorter wait than over HTTP. An event whose handling fails at once is not
//! acknowledged, so Slack delivers it again (and the desk deduplicates it).

use super::{Accepted, Slack, SlackSecret, inbound};
use crate::store::Store;
use slack_morphism::prelude::*;
use std::sync::Arc;
use tokio::sync::watch;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// How long a Socket Mode callback waits for the work before acknowledging.
pub const SOCKET_ACK_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// A failure that withholds the acknowledgement.
#[derive(Debug, thiserror::Error)]
#[error("slack event not handled: {0}")]
pub struct NotHandled(String);

/// An events envelope: translated, handed to the desk; the ack follows.
pub async fn on_push<S: Store + 'static>(slack: &Arc<Slack<S>>, ev: SlackPushEventCallback) -> Result<()> {
    let v = serde_json::to_value(SlackPushEvent::EventCallback(ev))?;
    let i = slack.translate_event(&v).await;
    match slack.accept_within(i, SOCKET_ACK_WAIT).await {
        Accepted::Failed(e) => Err(Box::new(NotHandled(e))),
        _ => Ok(()),
    }
}

/// A slash command: the answer goes through the outbox; the ack carries a message only when handling failed.
pub async fn on_command<S: Store + 'static>(
    slack: &Arc<Slack<S>>,
    ev: SlackCommandEvent,
) -> Result<SlackCommandEventResponse> {
    let v = serde_json::to_value(&ev)?;
    let content = match slack.accept_within(inbound::command(&v, slack.channels()), SOCKET_ACK_WAIT).await {
        Accepted::Failed(_) => SlackMessageContent::new()
            .with_text("deskbot could not handle that just now; please try again in a minute.".into()),
        _ => SlackMessageContent::new(),
    };
    Ok(SlackCommandEventResponse::new(content).with_response_type(SlackMessageResponseType::Ephemeral))
}

/// A button press or modal submission; a bare ack closes a submitted modal.
pub async fn on_interaction<S: Store + 'static>(slack: &Arc<Slack<S>>, ev: SlackInteractionEvent) -> Result<()> {
    let v = serde_json::to_value(&ev)?;
    slack.accept_within(inbound::interaction(&v, slack.channels()), SOCKET_ACK_WAIT).await;
    Ok(())
}

fn on_error(
    err: Box<dyn std::error::Error + Send + Sync>,
    _client: Arc<SlackHyperClient>,
    _state: SlackClientEventsUserState,
) -> slack_morphism::listener::HttpStatusCode {
    tracing::warn!(error = %err, "slack socket mode error");
    if err.is::<NotHandled>() {
        // No ack: Slack delivers the envelope again.
        slack_morphism::listener::HttpStatusCode::INTERNAL_SERVER_ERROR
    } else {
        slack_morphism::listener::HttpStatusCode::OK
    }
}

/// Connects with the app-level token and serves until `stop` turns true. The library reconnects on its own.
pub async fn run<S: Store + 'static>(slack: Arc<Slack<S>>, app_token: SlackSecret, stop: watch::Receiver<bool>) {
    run_with(slack, app_token, SlackClientSocketModeConfig::new(), stop).await
}

/// [`run`] with the connection settings given (tests use one connection).
pub async fn run_with<S: Store + 'static>(
    slack: Arc<Slack<S>>,
    app_token: SlackSecret,
    config: SlackClientSocketModeConfig,
    mut stop: watch::Receiver<bool>,
) {
    let env = Arc::new(SlackClientEventsListenerEnvironment::new(slack.client().clone()).with_error_handler(on_error));
    let mut callbacks = SlackSocketModeListenerCallbacks::<SlackClientHyperHttpsConnector>::new();
    let s = slack.clone();
    callbacks.push_events_callback = Box::new(move |ev: SlackPushEventCallback, _c, _u| {
        let s = s.clone();
        async move { on_push(&s, ev).await }
    });
    let s = slack.clone();
    callbacks.command_callback = Box::new(move |ev: SlackCommandEvent, _c, _u| {
        let s = s.clone();
        async move { on_command(&s, ev).await }
    });
    let s = slack.clone();
    callbacks.interaction_callback = Box::new(move |ev: SlackInteractionEvent, _c, _u| {
        let s = s.clone();
        async move { on_interaction(&s, ev).await.map(|()| SlackInteractionResponse::Empty) }
    });
    let listener = SlackClientSocketModeListener::new(&config, env, callbacks);
    let token = SlackApiToken::new(app_token.expose().to_string().into());
    if let Err(e) = listener.listen_for(&token).await {
        tracing::error!(error = %e, "slack: cannot open Socket Mode (check SLACK_APP_TOKEN)");
        return;
    }
    listener.start().await;
    tracing::info!("slack: Socket Mode connected");
    let _ = stop.wait_for(|s| *s).await;
    listener.shutdown().await;
}
