//! Use of created credentials other than by digest: a created service-account secret logging in
//! at `POST /api/oauth/token` (client credentials, HTTP Basic `clientId:secret`) stamps its
//! `lastUsedAt`, and a created AI model key's secret sent as a bearer token to the embedding
//! service (`POST /v1/embeddings`, as `https://ai.mongodb.com/v1/embeddings` takes it) stamps
//! the key's `lastUsedAt`. A test "deploys" a replacement by using it so.

use base64::Engine as _;

use super::state::World;

/// The client id and secret of a `Basic` authorization, decoded.
fn basic_pair(authorization: Option<&str>) -> Option<(String, String)> {
    let encoded = authorization?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((decode(id), decode(secret)))
}

/// Whether a token request logs in with a created secret (its use then stamped).
pub(super) fn secret_login(world: &World, authorization: Option<&str>) -> bool {
    let Some((id, secret)) = basic_pair(authorization) else {
        return false;
    };
    let Some(client) = crate::model::parse_client_id(&id) else {
        return false;
    };
    world.creates.secret_login(&client, &secret)
}

/// `POST /v1/embeddings`: 200 for a created model key's secret as the bearer token, else 401.
pub(super) fn embeddings(world: &World, authorization: Option<&str>) -> (u16, serde_json::Value) {
    let used = authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .is_some_and(|secret| world.creates.model_used(secret.trim()));
    match used {
        true => (
            200,
            serde_json::json!({"object": "list", "data": [], "model": "voyage-3"}),
        ),
        false => (
            401,
            serde_json::json!({"detail": "Provided API key is invalid."}),
        ),
    }
}
