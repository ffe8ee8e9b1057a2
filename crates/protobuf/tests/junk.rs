//! Hostile or broken bodies give an error, never a panic or a hang.

use rustkube_protobuf::{Error, decode, encode};
use serde_json::json;

/// A small deterministic generator, so failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn valid_body() -> Vec<u8> {
    encode(&json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "creationTimestamp": "2024-01-02T03:04:05Z", "labels": {"a": "b"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"a": "b"}},
                 "template": {"metadata": {"creationTimestamp": null},
                              "spec": {"containers": [{"name": "c", "image": "i",
                                  "resources": {"limits": {"cpu": "1"}},
                                  "ports": [{"containerPort": 80}]}]}}}}))
    .unwrap()
}

#[test]
fn bodies_without_the_magic_are_not_protobuf() {
    for body in [&b""[..], b"k8s", b"{\"kind\":\"Pod\"}", b"K8S\0\n\0", b"k8s\x01\n\0"] {
        assert!(matches!(decode(body), Err(Error::NotProtobuf)), "{body:?} lacks the k8s\\0 magic");
    }
}

#[test]
fn every_truncation_of_a_valid_body_is_an_error_or_a_valid_prefix() {
    let body = valid_body();
    for len in 4..body.len() {
        // Some prefixes end on a field boundary and are valid (smaller) messages; none may panic.
        let _ = decode(&body[..len]);
    }
    assert!(decode(&body[..4]).is_err(), "an envelope without type meta is an error");
}

#[test]
fn random_bytes_after_the_magic_never_panic() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let len = (rng.next() % 64) as usize;
        let mut body = b"k8s\0".to_vec();
        body.extend((0..len).map(|_| rng.next() as u8));
        let _ = decode(&body);
    }
}

#[test]
fn flipped_bytes_in_a_valid_body_never_panic() {
    let body = valid_body();
    let mut rng = XorShift(42);
    for _ in 0..20_000 {
        let mut mutated = body.clone();
        for _ in 0..=(rng.next() % 3) {
            let i = 4 + (rng.next() as usize) % (mutated.len() - 4);
            mutated[i] = rng.next() as u8;
        }
        let _ = decode(&mutated);
    }
}

#[test]
fn deeply_nested_raw_extensions_are_refused_not_overflowed() {
    // A v1 List whose item is itself a k8s\0 List, many levels deep.
    let mut body = encode(&json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": []})).unwrap();
    for _ in 0..200 {
        let mut raw_extension = vec![0x0a];
        put_len(&mut raw_extension, &body);
        let mut list = vec![0x12];
        put_len(&mut list, &raw_extension);
        let mut unknown = b"k8s\0\x0a\x0a\x0a\x02v1\x12\x04List\x12".to_vec();
        put_len(&mut unknown, &list);
        body = unknown;
    }
    assert!(matches!(decode(&body), Err(Error::Malformed(_))), "nesting past the depth limit is malformed");
}

fn put_len(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut n = bytes.len();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(bytes);
}

#[test]
fn unknown_kinds_and_foreign_encodings_are_named() {
    let body = b"k8s\0\x0a\x0e\x0a\x02v1\x12\x08NotAKind\x12\x00";
    assert!(matches!(decode(body), Err(Error::UnknownType { kind, .. }) if kind == "NotAKind"));
    let gzip = b"k8s\0\x0a\x0b\x0a\x02v1\x12\x05Event\x12\x00\x1a\x04gzip";
    assert!(matches!(decode(gzip), Err(Error::UnsupportedEncoding(_))));
}
