//! Compiles the `.proto` definitions in `proto/` into prost messages with a
//! pure-Rust protobuf compiler, so building needs no `protoc` binary.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["proto/tensor.proto"];
    for f in [
        "proto/tensor.proto",
        "proto/tensor_shape.proto",
        "proto/types.proto",
    ] {
        println!("cargo:rerun-if-changed={f}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
