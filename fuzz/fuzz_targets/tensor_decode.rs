//! TensorProto decoding of arbitrary bytes: never a panic, and every tensor
//! that decodes re-encodes into bytes that decode to the same tensor.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tfrec::TensorView;

fuzz_target!(|data: &[u8]| {
    if let Ok(tensor) = TensorView::decode(data) {
        let bytes = tensor.to_proto_bytes();
        let again = TensorView::decode(&bytes).expect("our own encoding decodes");
        assert_eq!(again, tensor);
        assert_eq!(again.to_proto_bytes(), bytes);
    }
});
