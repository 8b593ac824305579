//! Sajja's gRPC services (generated from `proto/sajja/v1`) and the one place
//! where their messages are converted to and from domain types. Event bytes
//! travel inside these messages as opaque `bytes`: only `sajja-common` decodes
//! them.

pub mod bundle;
pub mod client;
pub mod convert;

/// The encoded `FileDescriptorSet` of every Sajja .proto, served by the
/// hub's reflection service so `grpcurl` needs no .proto files.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/sajja_descriptor.bin"));

pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/sajja.v1.rs"));
}

/// The largest gRPC message either side accepts, after decompression. A batch is
/// cut at [`MAX_BATCH_BYTES`] of event bytes, so this leaves room for framing.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// The most event bytes a pusher puts in one batch.
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

/// The most events one batch may carry, whatever their size.
pub const MAX_EVENTS_PER_BATCH: usize = 20_000;
