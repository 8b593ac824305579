//! Generates the service code with a pure-Rust protobuf compiler: no system `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "sajja/v1/sync.proto",
        "sajja/v1/admin.proto",
        "sajja/v1/query.proto",
    ];
    // query.proto imports exchange.proto (and what it imports) for its enums.
    for file in files
        .iter()
        .chain(&["sajja/v1/exchange.proto", "sajja/v1/event.proto"])
    {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["."])?;
    // The encoded descriptors, for the hub's server reflection service.
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("sajja_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
