//! Reading a response body with a cap, after decompression: a service (or a host typed by the user) must
//! not make Vaultscope hold an unbounded answer, such as a gzip bomb.

use bytes::Bytes;

/// Why a capped body could not be read.
#[derive(Debug)]
pub enum CappedReadError {
    /// The body is larger than the cap.
    TooLarge { cap: usize },
    /// The connection broke while reading.
    Transport(reqwest::Error),
}

impl std::fmt::Display for CappedReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge { cap } => write!(
                f,
                "the answer is larger than {} (after decompression), so it was not read",
                human_size(*cap)
            ),
            Self::Transport(error) if error.is_timeout() => {
                f.write_str("timed out while reading the answer")
            }
            Self::Transport(_) => f.write_str("the connection broke while reading the answer"),
        }
    }
}

fn human_size(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

/// Reads the (decompressed) body chunk by chunk, refusing past `cap` bytes.
pub async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Bytes, CappedReadError> {
    if response
        .content_length()
        .is_some_and(|length| length > cap as u64)
    {
        return Err(CappedReadError::TooLarge { cap });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(CappedReadError::Transport)? {
        append_capped(&mut body, &chunk, cap)?;
    }
    Ok(Bytes::from(body))
}

/// Adds `chunk` to `body` unless that would pass `cap`.
fn append_capped(body: &mut Vec<u8>, chunk: &[u8], cap: usize) -> Result<(), CappedReadError> {
    if body.len().saturating_add(chunk.len()) > cap {
        return Err(CappedReadError::TooLarge { cap });
    }
    body.extend_from_slice(chunk);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_counted_across_chunks() {
        let mut body = Vec::new();
        assert!(append_capped(&mut body, &[0; 10], 16).is_ok());
        assert!(append_capped(&mut body, &[0; 6], 16).is_ok());
        assert!(
            append_capped(&mut body, &[0; 1], 16).is_err(),
            "one byte past the cap"
        );
        assert_eq!(body.len(), 16);
        assert_eq!(
            CappedReadError::TooLarge {
                cap: 16 * 1024 * 1024
            }
            .to_string(),
            "the answer is larger than 16 MiB (after decompression), so it was not read"
        );
    }
}
