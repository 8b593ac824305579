//! Files carried on a USB stick between a node with no connection and its hub:
//! bundles of batches one way, receipts the other. Both are zstd-compressed
//! protobuf, decoded with a hard bound so a hostile file cannot exhaust memory.

use std::io::Read;

use prost::Message;
use thiserror::Error;

use crate::v1;

/// The largest decoded bundle a hub will read: about a year of a large group.
pub const MAX_BUNDLE_BYTES: u64 = 256 * 1024 * 1024;
const FORMAT_VERSION: u32 = 1;
const ZSTD_LEVEL: i32 = 9;

#[derive(Debug, Error)]
pub enum BundleError {
    #[error("not a zstd file: {0}")]
    Compression(std::io::Error),
    #[error("decoded file is larger than {MAX_BUNDLE_BYTES} bytes")]
    TooLarge,
    #[error("not a Sajja {0}: {1}")]
    Decode(&'static str, prost::DecodeError),
    #[error("{0} format version {1} is not supported (expected {FORMAT_VERSION})")]
    Version(&'static str, u32),
}

fn compress(bytes: &[u8]) -> Vec<u8> {
    // Writing into a Vec cannot fail.
    zstd::encode_all(bytes, ZSTD_LEVEL).unwrap_or_default()
}

fn decompress(file: &[u8]) -> Result<Vec<u8>, BundleError> {
    let decoder = zstd::Decoder::new(file).map_err(BundleError::Compression)?;
    let mut out = Vec::new();
    decoder
        .take(MAX_BUNDLE_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(BundleError::Compression)?;
    if out.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(BundleError::TooLarge);
    }
    Ok(out)
}

pub fn encode_bundle(batches: Vec<v1::Batch>) -> Vec<u8> {
    compress(
        &v1::Bundle {
            version: FORMAT_VERSION,
            batches,
        }
        .encode_to_vec(),
    )
}

pub fn decode_bundle(file: &[u8]) -> Result<v1::Bundle, BundleError> {
    let bundle = v1::Bundle::decode(decompress(file)?.as_slice())
        .map_err(|e| BundleError::Decode("bundle", e))?;
    if bundle.version != FORMAT_VERSION {
        return Err(BundleError::Version("bundle", bundle.version));
    }
    Ok(bundle)
}

pub fn encode_receipt(hub_id: &str, position: v1::Position) -> Vec<u8> {
    compress(
        &v1::Receipt {
            version: FORMAT_VERSION,
            hub_id: hub_id.to_string(),
            position: Some(position),
        }
        .encode_to_vec(),
    )
}

pub fn decode_receipt(file: &[u8]) -> Result<v1::Receipt, BundleError> {
    let receipt = v1::Receipt::decode(decompress(file)?.as_slice())
        .map_err(|e| BundleError::Decode("receipt", e))?;
    if receipt.version != FORMAT_VERSION {
        return Err(BundleError::Version("receipt", receipt.version));
    }
    Ok(receipt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_round_trip_and_garbage_is_refused() {
        let batch = v1::Batch {
            from_seq: 1,
            events: vec![vec![1, 2, 3]],
            checkpoint: None,
        };
        let file = encode_bundle(vec![batch.clone()]);
        assert_eq!(decode_bundle(&file).unwrap().batches, vec![batch]);
        assert!(matches!(
            decode_bundle(b"not zstd"),
            Err(BundleError::Compression(_))
        ));
    }

    #[test]
    fn a_compression_bomb_is_refused_without_decoding_it_all() {
        let bomb = zstd::encode_all(std::io::repeat(0).take(MAX_BUNDLE_BYTES + 1024), 3).unwrap();
        assert!(bomb.len() < 1024 * 1024, "the bomb is small on disk");
        assert!(matches!(decode_bundle(&bomb), Err(BundleError::TooLarge)));
    }
}
