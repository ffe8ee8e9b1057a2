//! gRPC probes: the standard `grpc.health.v1.Health/Check` call, as
//! upstream's `pkg/probe/grpc`. The two messages are tiny, so they are
//! encoded by hand rather than generated.

use std::marker::PhantomData;
use std::time::Duration;

use bytes::{Buf, BufMut};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Endpoint;

/// The method a gRPC probe calls.
pub const CHECK_PATH: &str = "/grpc.health.v1.Health/Check";

/// `grpc.health.v1.HealthCheckRequest`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthCheckRequest {
    pub service: String,
}

/// `grpc.health.v1.HealthCheckResponse.ServingStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServingStatus {
    Unknown,
    Serving,
    NotServing,
    ServiceUnknown,
}

impl ServingStatus {
    pub fn from_i32(v: i32) -> Self {
        match v {
            1 => ServingStatus::Serving,
            2 => ServingStatus::NotServing,
            3 => ServingStatus::ServiceUnknown,
            _ => ServingStatus::Unknown,
        }
    }

    pub fn as_i32(self) -> i32 {
        match self {
            ServingStatus::Unknown => 0,
            ServingStatus::Serving => 1,
            ServingStatus::NotServing => 2,
            ServingStatus::ServiceUnknown => 3,
        }
    }

    /// The protobuf enum name.
    pub fn name(self) -> &'static str {
        match self {
            ServingStatus::Unknown => "UNKNOWN",
            ServingStatus::Serving => "SERVING",
            ServingStatus::NotServing => "NOT_SERVING",
            ServingStatus::ServiceUnknown => "SERVICE_UNKNOWN",
        }
    }
}

/// `grpc.health.v1.HealthCheckResponse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthCheckResponse {
    pub status: ServingStatus,
}

/// A message of the health protocol, in protobuf wire format.
pub trait Message: Sized + Send + 'static {
    fn encode(&self, buf: &mut impl BufMut);
    fn decode(buf: &[u8]) -> Result<Self, String>;
}

fn put_varint(buf: &mut impl BufMut, mut v: u64) {
    while v >= 0x80 {
        buf.put_u8((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

fn varint(buf: &mut &[u8]) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let Some((&b, rest)) = buf.split_first() else { return Err("truncated varint".into()) };
        *buf = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("varint too long".into())
}

/// Walks the fields of a message: `(field number, varint value or bytes)`.
fn fields(mut buf: &[u8], mut each: impl FnMut(u64, Result<u64, &[u8]>)) -> Result<(), String> {
    while !buf.is_empty() {
        let key = varint(&mut buf)?;
        match key & 7 {
            0 => each(key >> 3, Ok(varint(&mut buf)?)),
            1 | 5 => {
                let n = if key & 7 == 1 { 8 } else { 4 };
                buf = buf.get(n..).ok_or("truncated fixed field")?;
            }
            2 => {
                let len = usize::try_from(varint(&mut buf)?).map_err(|_| "length too large")?;
                let value = buf.get(..len).ok_or("truncated length-delimited field")?;
                buf = &buf[len..];
                each(key >> 3, Err(value));
            }
            other => return Err(format!("unsupported wire type {other}")),
        }
    }
    Ok(())
}

impl Message for HealthCheckRequest {
    fn encode(&self, buf: &mut impl BufMut) {
        if !self.service.is_empty() {
            buf.put_u8(0x0a);
            put_varint(buf, self.service.len() as u64);
            buf.put_slice(self.service.as_bytes());
        }
    }

    fn decode(buf: &[u8]) -> Result<Self, String> {
        let mut service = String::new();
        fields(buf, |n, v| {
            if let (1, Err(bytes)) = (n, v) {
                service = String::from_utf8_lossy(bytes).into_owned();
            }
        })?;
        Ok(HealthCheckRequest { service })
    }
}

impl Message for HealthCheckResponse {
    fn encode(&self, buf: &mut impl BufMut) {
        let v = self.status.as_i32();
        if v != 0 {
            buf.put_u8(0x08);
            put_varint(buf, v as u64);
        }
    }

    fn decode(buf: &[u8]) -> Result<Self, String> {
        let mut status = 0i32;
        fields(buf, |n, v| {
            if let (1, Ok(v)) = (n, v) {
                status = i32::try_from(v).unwrap_or(0);
            }
        })?;
        Ok(HealthCheckResponse { status: ServingStatus::from_i32(status) })
    }
}

/// A tonic codec of hand-encoded messages: encodes `E`, decodes `D`.
#[derive(Debug)]
pub struct WireCodec<E, D>(PhantomData<(E, D)>);

impl<E, D> Default for WireCodec<E, D> {
    fn default() -> Self {
        WireCodec(PhantomData)
    }
}

#[derive(Debug)]
pub struct WireEncoder<E>(PhantomData<E>);

#[derive(Debug)]
pub struct WireDecoder<D>(PhantomData<D>);

impl<E: Message, D: Message> Codec for WireCodec<E, D> {
    type Encode = E;
    type Decode = D;
    type Encoder = WireEncoder<E>;
    type Decoder = WireDecoder<D>;

    fn encoder(&mut self) -> Self::Encoder {
        WireEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        WireDecoder(PhantomData)
    }
}

impl<E: Message> Encoder for WireEncoder<E> {
    type Item = E;
    type Error = tonic::Status;

    fn encode(&mut self, item: E, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        item.encode(dst);
        Ok(())
    }
}

impl<D: Message> Decoder for WireDecoder<D> {
    type Item = D;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<D>, tonic::Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        D::decode(&bytes).map(Some).map_err(tonic::Status::internal)
    }
}

/// Calls `Health/Check` for `service` on `host:port` within `timeout`;
/// `Err` carries upstream's probe failure message.
pub async fn check(host: &str, port: u16, service: &str, timeout: Duration) -> Result<(), String> {
    let host_port = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let connect_failed = |e: &dyn std::fmt::Display| {
        format!("timeout: failed to connect service {host_port:?} within {}s: {e}", timeout.as_secs())
    };
    let endpoint = Endpoint::from_shared(format!("http://{host_port}"))
        .map_err(|e| connect_failed(&e))?
        .connect_timeout(timeout)
        .timeout(timeout);
    let channel = match tokio::time::timeout(timeout, endpoint.connect()).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Err(connect_failed(&e)),
        Err(_) => return Err(connect_failed(&"context deadline exceeded")),
    };
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await.map_err(|e| connect_failed(&e))?;
    let request = tonic::Request::new(HealthCheckRequest { service: service.to_owned() });
    let codec = WireCodec::<HealthCheckRequest, HealthCheckResponse>::default();
    let call = client.unary(request, PathAndQuery::from_static(CHECK_PATH), codec);
    let response = match tokio::time::timeout(timeout, call).await {
        Ok(Ok(r)) => r.into_inner(),
        Ok(Err(s)) if s.code() == tonic::Code::Unimplemented => {
            return Err(format!(
                "this server does not implement the grpc health protocol (grpc.health.v1.Health): {}",
                s.message()
            ));
        }
        Ok(Err(s)) if s.code() == tonic::Code::DeadlineExceeded => {
            return Err(format!("timeout: health rpc did not complete within {}s", timeout.as_secs()));
        }
        Ok(Err(s)) => return Err(format!("error: health rpc probe failed: {}", s.message())),
        Err(_) => return Err(format!("timeout: health rpc did not complete within {}s", timeout.as_secs())),
    };
    if response.status == ServingStatus::Serving {
        Ok(())
    } else {
        Err(format!("service unhealthy (responded with {:?})", response.status.name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_in_protobuf_wire_format() {
        let mut buf = Vec::new();
        HealthCheckRequest { service: "liveness".into() }.encode(&mut buf);
        assert_eq!(buf, b"\x0a\x08liveness");
        assert_eq!(HealthCheckRequest::decode(&buf).unwrap().service, "liveness");
        let mut buf = Vec::new();
        HealthCheckResponse { status: ServingStatus::NotServing }.encode(&mut buf);
        assert_eq!(buf, [0x08, 0x02]);
        assert_eq!(HealthCheckResponse::decode(&buf).unwrap().status, ServingStatus::NotServing);
        assert_eq!(HealthCheckResponse::decode(&[]).unwrap().status, ServingStatus::Unknown, "defaults");
        // Unknown fields (a fixed64, a string) are skipped; truncation is an error, not a panic.
        let with_extra = [0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x1a, 0x01, b'x', 0x08, 0x01];
        assert_eq!(HealthCheckResponse::decode(&with_extra).unwrap().status, ServingStatus::Serving);
        assert!(HealthCheckResponse::decode(&[0x0a, 0x05, b'a']).is_err());
        assert!(HealthCheckResponse::decode(&[0x08, 0xff]).is_err());
    }

    #[tokio::test]
    async fn nothing_listening_fails_with_upstreams_connect_message() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let err = check("127.0.0.1", port, "", Duration::from_secs(1)).await.unwrap_err();
        assert!(
            err.starts_with(&format!("timeout: failed to connect service \"127.0.0.1:{port}\" within 1s")),
            "{err}"
        );
    }
}
