//! `huakai healthcheck`: asks a running server's `/readyz`, for a container's HEALTHCHECK (the
//! image has no curl or wget). One plain HTTP/1.1 request over a socket: no client library
//! is worth linking for it.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

/// Exit 0 when `/readyz` on `addr` answers 200 within `timeout`, 1 otherwise (saying why).
pub fn check(addr: SocketAddr, timeout: Duration) -> ExitCode {
    match readyz_status(reachable(addr), timeout) {
        Ok(200) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("huakai: /readyz on {addr} answered {status}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("huakai: /readyz on {addr}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// A server listening on every address (0.0.0.0, as in the image) is asked on loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port()),
        _ => addr,
    }
}

fn readyz_status(addr: SocketAddr, timeout: Duration) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET /readyz HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: huakai-healthcheck\r\nConnection: close\r\n\r\n"
    )?;
    // The status line is all that is needed: "HTTP/1.1 200 OK".
    let mut head = [0u8; 64];
    let mut read = 0;
    while read < head.len() && !head[..read].contains(&b'\n') {
        let n = stream.read(&mut head[read..])?;
        if n == 0 {
            break;
        }
        read += n;
    }
    let line = String::from_utf8_lossy(&head[..read]);
    line.split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not an HTTP answer: {line:?}")))
}
