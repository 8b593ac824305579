//! Generated gRPC types for Sajja's services. Event bytes travel inside these
//! messages as opaque `bytes`: they are decoded only by `sajja-common`.
#![allow(clippy::all)]

pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/sajja.v1.rs"));
}
