//! Odd `Read` sources (slow pipes, endless streams) and a helper that
//! drains a [`Reader`]. Knows nothing of files on disk.

use std::io::{self, Read};

use tfrec::Reader;

/// Hands out at most one byte per `read` call, like a slow pipe.
pub struct OneByteAtATime<R>(pub R);

impl<R: Read> Read for OneByteAtATime<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match buf.first_mut() {
            None => Ok(0),
            Some(first) => {
                let mut one = [0u8; 1];
                let n = self.0.read(&mut one)?;
                if n == 1 {
                    *first = one[0];
                }
                Ok(n)
            }
        }
    }
}

/// An endless stream of zeros that fails once more than `limit` bytes have
/// been asked of it, so a reader that tries to consume a huge claimed
/// length shows up as an I/O error instead of a hang.
pub struct BoundedZeros {
    pub served: u64,
    pub limit: u64,
}

impl Read for BoundedZeros {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.served >= self.limit {
            return Err(io::Error::other("read past the point a reader should stop"));
        }
        let n = buf.len().min((self.limit - self.served) as usize);
        buf[..n].fill(0);
        self.served += n as u64;
        Ok(n)
    }
}

/// (payload, offset, index) of every remaining record of `reader`.
pub type Listing = Vec<(Vec<u8>, u64, u64)>;

/// Every remaining record of `reader`, panicking on the first error.
pub fn read_records(reader: &mut Reader) -> Listing {
    reader
        .records()
        .map(|r| {
            let r = r.unwrap_or_else(|e| panic!("{e}"));
            (r.payload.to_vec(), r.offset, r.index)
        })
        .collect()
}
