//! PEM armour: encoding DER blocks and finding the blocks in operator-supplied text.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// One decoded PEM block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    pub(crate) label: String,
    pub(crate) der: Vec<u8>,
}

/// Encodes DER as a PEM block with 64-column lines and a trailing newline, as openssl and Go do.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for line in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Decodes every PEM block in `text`, ignoring anything outside the blocks.
///
/// A block with RFC 1421 headers (such as `Proc-Type: 4,ENCRYPTED`) or bad base64 is an error:
/// such a block was meant to be read, and cannot be.
pub(crate) fn decode_all(text: &str) -> Result<Vec<Block>, String> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(label) = line.trim().strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut b64 = String::new();
        let mut closed = false;
        for line in lines.by_ref() {
            let line = line.trim();
            if line == end {
                closed = true;
                break;
            }
            if line.contains(':') {
                return Err(format!("PEM block {label:?} has headers (encrypted keys are not supported)"));
            }
            b64.push_str(line);
        }
        if !closed {
            return Err(format!("PEM block {label:?} has no END line"));
        }
        let der = STANDARD.decode(b64.as_bytes()).map_err(|e| format!("PEM block {label:?}: {e}"))?;
        blocks.push(Block { label: label.to_owned(), der });
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_decode_round_trips_with_surrounding_text() {
        let der: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let pem = encode("CERTIFICATE", &der);
        assert!(pem.lines().all(|l| l.len() <= 64), "PEM lines must wrap at 64 columns");
        let text = format!("subject=CN = x\n{pem}\ntrailing junk\n{}", encode("PRIVATE KEY", &[1, 2, 3]));
        let blocks = decode_all(&text).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0], Block { label: "CERTIFICATE".into(), der });
        assert_eq!(blocks[1].label, "PRIVATE KEY");
    }

    #[test]
    fn encrypted_and_unterminated_blocks_are_errors() {
        let encrypted =
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert!(decode_all(encrypted).is_err(), "legacy encrypted PEM must be refused");
        assert!(decode_all("-----BEGIN CERTIFICATE-----\nAAAA\n").is_err(), "missing END must be refused");
        assert_eq!(decode_all("no pem here").unwrap(), vec![]);
    }
}
