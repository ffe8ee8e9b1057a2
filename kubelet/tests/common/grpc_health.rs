//! A tiny `grpc.health.v1.Health` server for gRPC probe tests: per-service
//! statuses the test flips; unknown services answer NOT_FOUND, as grpc-go's.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use rustkube_kubelet::probes::grpc::{CHECK_PATH, HealthCheckRequest, HealthCheckResponse, ServingStatus, WireCodec};
use tonic::codegen::{BoxFuture, Context, Poll, Service, StdError, http};

/// The statuses by service name (`""` is the server as a whole).
#[derive(Debug, Clone, Default)]
pub struct HealthServer {
    pub statuses: Arc<Mutex<HashMap<String, ServingStatus>>>,
}

impl HealthServer {
    pub fn set(&self, service: &str, status: ServingStatus) {
        self.statuses.lock().unwrap().insert(service.to_owned(), status);
    }

    /// Serves on a free loopback port until the test ends; returns the port.
    pub async fn serve(&self) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let incoming = futures_util::stream::unfold(listener, |l| async move {
            let conn = l.accept().await.map(|(s, _)| s);
            Some((conn, l))
        });
        let server = tonic::transport::Server::builder().add_service(self.clone());
        tokio::spawn(server.serve_with_incoming(incoming));
        port
    }
}

impl tonic::server::NamedService for HealthServer {
    const NAME: &'static str = "grpc.health.v1.Health";
}

struct Check(Arc<Mutex<HashMap<String, ServingStatus>>>);

impl tonic::server::UnaryService<HealthCheckRequest> for Check {
    type Response = HealthCheckResponse;
    type Future = BoxFuture<tonic::Response<HealthCheckResponse>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<HealthCheckRequest>) -> Self::Future {
        let status = self.0.lock().unwrap().get(&request.into_inner().service).copied();
        Box::pin(async move {
            match status {
                Some(status) => Ok(tonic::Response::new(HealthCheckResponse { status })),
                None => Err(tonic::Status::not_found("unknown service")),
            }
        })
    }
}

impl<B> Service<http::Request<B>> for HealthServer
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let statuses = Arc::clone(&self.statuses);
        Box::pin(async move {
            if request.uri().path() == CHECK_PATH {
                let mut grpc =
                    tonic::server::Grpc::new(WireCodec::<HealthCheckResponse, HealthCheckRequest>::default());
                Ok(grpc.unary(Check(statuses), request).await)
            } else {
                Ok(tonic::Status::unimplemented("").into_http())
            }
        })
    }
}
