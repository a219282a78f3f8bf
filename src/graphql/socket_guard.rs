//! The schema extension that holds every operation on a WebSocket to the socket's rules (see
//! `app::socket`): who asks is proved again for each operation, mutations are refused, and
//! the socket's caps on operations, in-flight work and time hold. Requests over HTTP pass
//! untouched.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextPrepareRequest, NextSubscribe,
};
use async_graphql::futures_util::stream::BoxStream;
use async_graphql::futures_util::{self, StreamExt, future};
use async_graphql::{Request, Response, ServerResult};
use sea_orm::DatabaseConnection;
use tokio::sync::Semaphore;

use super::doors::DOORS;
use crate::accounts::Viewer;
use crate::accounts::graphql::ClientAddress;
use crate::accounts::service::{self, Accounts};
use crate::infra::error::{coded, localize};
use crate::infra::error_code::ErrorCode;
use crate::infra::graphql::documents::holds_write_operation;
use crate::infra::i18n::{Language, Message as Words};

/// The caller of one socket, kept in its connection data: the token it proved itself with
/// (proved again for each operation) and where it connects from.
pub struct SocketCaller {
    pub token: Option<String>,
    pub client: IpAddr,
    pub asked_language: Language,
    pub operations: Arc<Semaphore>,
    pub max_operations: usize,
    pub in_flight: Arc<Semaphore>,
    pub request_timeout: Duration,
}

/// The schema extension that holds every operation on a socket to the rules above; requests
/// over HTTP have no [`SocketCaller`] and pass untouched.
pub struct SocketGuard;

impl ExtensionFactory for SocketGuard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(SocketGuard)
    }
}

fn caller<'a>(ctx: &ExtensionContext<'a>) -> Option<&'a SocketCaller> {
    ctx.session_data
        .get(&std::any::TypeId::of::<SocketCaller>())?
        .downcast_ref()
}

#[async_graphql::async_trait::async_trait]
impl Extension for SocketGuard {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let Some(caller) = caller(ctx) else {
            return next.run(ctx, request).await;
        };
        let refuse = |message: Words, code: ErrorCode| coded(message, code).into_server_error(Default::default());
        if holds_mutation(&request.query) {
            return Err(refuse(
                Words::new("socket-mutations-refused"),
                ErrorCode::MethodNotAllowed,
            ));
        }
        let (db, accounts) = match (ctx.data::<DatabaseConnection>(), ctx.data::<Arc<Accounts>>()) {
            (Ok(db), Ok(accounts)) => (db, accounts),
            _ => return Err(refuse(Words::new("internal-error"), ErrorCode::InternalServerError)),
        };
        let viewer = match &caller.token {
            None => Viewer::Anonymous,
            Some(token) => service::authenticate(db, accounts, token)
                .await
                .map_err(|error| async_graphql::Error::from(error).into_server_error(Default::default()))?,
        };
        let language = viewer.language().unwrap_or(caller.asked_language);
        let request = DOORS.iter().fold(request, |request, door| door.loaders(db, request));
        let request = request
            .data(viewer)
            .data(ClientAddress(Some(caller.client)))
            .data(language);
        next.run(ctx, request).await
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let Some(caller) = caller(ctx) else {
            return next.run(ctx, stream);
        };
        let language = caller.asked_language;
        let Ok(place) = caller.operations.clone().try_acquire_owned() else {
            let refused = coded(
                Words::new("socket-too-many-operations").with("max", caller.max_operations as i64),
                ErrorCode::TooManyOperations,
            );
            let mut response = Response::from_errors(vec![refused.into_server_error(Default::default())]);
            localize(&mut response, language);
            return futures_util::stream::once(future::ready(response)).boxed();
        };
        next.run(ctx, stream)
            .map(move |mut response| {
                // The place is the stream's while it runs, and freed when it ends.
                let _ = &place;
                localize(&mut response, language);
                response
            })
            .boxed()
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let Some(caller) = caller(ctx) else {
            return next.run(ctx, operation_name).await;
        };
        let refused = |message: Words, code: ErrorCode| {
            Response::from_errors(vec![coded(message, code).into_server_error(Default::default())])
        };
        let Ok(_in_flight) = caller.in_flight.clone().try_acquire_owned() else {
            return refused(Words::new("overloaded"), ErrorCode::Overloaded);
        };
        match tokio::time::timeout(caller.request_timeout, next.run(ctx, operation_name)).await {
            Ok(response) => response,
            Err(_) => refused(Words::new("socket-operation-timed-out"), ErrorCode::Timeout),
        }
    }
}

/// Whether a document holds a mutation (a subscription is what a socket is for).
fn holds_mutation(query: &str) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    if !holds_write_operation(query) {
        return false;
    }
    match async_graphql::parser::parse_query(query).map(|document| document.operations) {
        Ok(DocumentOperations::Single(operation)) => operation.node.ty == OperationType::Mutation,
        Ok(DocumentOperations::Multiple(operations)) => operations
            .values()
            .any(|operation| operation.node.ty == OperationType::Mutation),
        Err(_) => false,
    }
}
