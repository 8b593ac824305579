//! Generates the message types of `proto/sajja/v1/event.proto` (group and
//! hub logs) and `exchange.proto` (exchange logs) with a pure-Rust protobuf
//! compiler, so no system `protoc` is needed. Both share the package
//! `sajja.v1`, so both land in one generated file.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = "../proto";
    let files = [
        "../proto/sajja/v1/event.proto",
        "../proto/sajja/v1/exchange.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, [proto_root])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
