//! Compiles the `.proto` definitions in `proto/` into prost messages with a
//! pure-Rust protobuf compiler, so building needs no `protoc` binary.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["proto/tensor.proto", "proto/example.proto"];
    for f in [
        "proto/tensor.proto",
        "proto/tensor_shape.proto",
        "proto/types.proto",
        "proto/feature.proto",
        "proto/example.proto",
    ] {
        println!("cargo:rerun-if-changed={f}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    // Sorted maps: iteration, equality and `Debug` follow key order, like
    // the deterministic serialization the example encoder produces.
    prost_build::Config::new()
        .btree_map(["."])
        .compile_fds(descriptors)?;
    Ok(())
}
