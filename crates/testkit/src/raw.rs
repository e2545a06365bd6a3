//! Raw TCP exchanges, for requests no well-behaved client would send.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long [`raw_request`] waits for a complete response.
pub const DEFAULT_RAW_TIMEOUT: Duration = Duration::from_secs(5);

/// Write `request` verbatim to `addr` and return the first complete HTTP/1.x response
/// (head plus a `Content-Length` or chunked body, or everything until the server closes
/// when neither is given). Fails with `TimedOut` after [`DEFAULT_RAW_TIMEOUT`].
pub async fn raw_request(addr: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    raw_request_with_timeout(addr, request, DEFAULT_RAW_TIMEOUT).await
}

/// [`raw_request`] with an explicit deadline.
pub async fn raw_request_with_timeout(
    addr: SocketAddr,
    request: &[u8],
    timeout: Duration,
) -> std::io::Result<Vec<u8>> {
    let is_head = request.starts_with(b"HEAD ");
    exchange(addr, request, timeout, |received| {
        response_complete(received, is_head)
    })
    .await
}

/// Write `request` and return every byte received until the server closes the
/// connection (several pipelined responses, or none). Fails with `TimedOut` when the
/// server keeps the connection open past `timeout`.
pub async fn raw_request_until_close(
    addr: SocketAddr,
    request: &[u8],
    timeout: Duration,
) -> std::io::Result<Vec<u8>> {
    exchange(addr, request, timeout, |_| false).await
}

/// The status code of a raw HTTP/1.x response (`HTTP/1.1 400 Bad Request` → 400).
pub fn response_status(response: &[u8]) -> Option<u16> {
    let line_end = response.windows(2).position(|window| window == b"\r\n")?;
    let line = std::str::from_utf8(&response[..line_end]).ok()?;
    line.split(' ').nth(1)?.parse().ok()
}

async fn exchange(
    addr: SocketAddr,
    request: &[u8],
    timeout: Duration,
    complete: impl Fn(&[u8]) -> bool,
) -> std::io::Result<Vec<u8>> {
    let work = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(request).await?;
        let mut received = Vec::new();
        let mut buffer = [0u8; 8192];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) => return Ok(received),
                Ok(read) => {
                    received.extend_from_slice(&buffer[..read]);
                    if complete(&received) {
                        return Ok(received);
                    }
                }
                // A reset after the server's answer still leaves the answer to inspect.
                Err(error) if received.is_empty() => return Err(error),
                Err(_) => return Ok(received),
            }
        }
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no complete response from {addr} within {timeout:?}"),
        )),
    }
}

fn response_complete(received: &[u8], is_head: bool) -> bool {
    let Some(head_end) = received.windows(4).position(|window| window == b"\r\n\r\n") else {
        return false;
    };
    let body_start = head_end + 4;
    let head = String::from_utf8_lossy(&received[..head_end]).to_ascii_lowercase();
    let status = response_status(received).unwrap_or(0);
    if is_head || status == 204 || status == 304 || (100..200).contains(&status) {
        return true;
    }
    let header = |name: &str| {
        head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| value.trim().to_string())
        })
    };
    if let Some(length) = header("content-length").and_then(|value| value.parse::<usize>().ok()) {
        return received.len() >= body_start + length;
    }
    if header("transfer-encoding").is_some_and(|value| value.contains("chunked")) {
        return received[body_start..].ends_with(b"0\r\n\r\n");
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_parsed_from_the_status_line() {
        assert_eq!(
            response_status(b"HTTP/1.1 431 Too Large\r\n\r\n"),
            Some(431)
        );
        assert_eq!(response_status(b"garbage"), None);
    }

    #[test]
    fn completeness_follows_content_length() {
        assert!(!response_complete(
            b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab",
            false
        ));
        assert!(response_complete(
            b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd",
            false
        ));
        assert!(response_complete(
            b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n",
            true
        ));
    }

    #[test]
    fn completeness_follows_chunked_framing() {
        let partial = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n";
        assert!(!response_complete(partial, false));
        let whole = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n";
        assert!(response_complete(whole, false));
    }
}
