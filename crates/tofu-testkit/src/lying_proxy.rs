//! A SOCKS5 proxy (RFC 1928, no authentication, CONNECT only) that lies to the vantage point
//! behind it: the "targeted lie". It stands for a compromised network path or a hostile
//! exit. Only for tests; it serves loopback and stops when dropped.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

/// How the proxy lies.
#[derive(Clone, Copy, Debug)]
pub enum Lie {
    /// Plain HTTP: flip one bit of the response body at this offset.
    FlipBodyByte { offset: usize },
    /// Plain HTTP: pass the headers and this many body bytes, then close the connection.
    TruncateBody { after: usize },
    /// Connect every request to this address instead of the one asked for: an impostor
    /// server (with HTTPS, one holding a certificate from a CA the victim trusts).
    Divert(SocketAddr),
    /// Divert only connections asked for port `port` (an exit lookup's server, say) to
    /// `to`; pass every other one through honestly.
    DivertPort { port: u16, to: SocketAddr },
}

/// The running proxy.
pub struct LyingProxy {
    /// Its listening port on 127.0.0.1.
    pub port: u16,
    stop: Arc<AtomicBool>,
    accept: Option<thread::JoinHandle<()>>,
}

impl LyingProxy {
    /// Starts the proxy on a free loopback port.
    pub fn start(lie: Lie) -> LyingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let accept = thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                thread::spawn(move || {
                    let _ = serve(conn, lie);
                });
            }
        });
        LyingProxy {
            port,
            stop,
            accept: Some(accept),
        }
    }

    /// `socks5h://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("socks5h://127.0.0.1:{}", self.port)
    }
}

impl Drop for LyingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

/// One SOCKS5 connection: the handshake, a connection to the target (loopback only; the
/// lie may divert it), then both directions relayed, the lie applied to what the server
/// sends.
fn serve(mut client: TcpStream, lie: Lie) -> std::io::Result<()> {
    let Some((host, port)) = read_request(&mut client)? else {
        return Ok(());
    };
    let target = match lie {
        Lie::Divert(addr) => addr,
        Lie::DivertPort { port: p, to } if p == port => to,
        _ => match (host.as_str(), port).to_socket_addrs()?.next() {
            Some(addr) => addr,
            None => return Ok(()),
        },
    };
    // Tests only ever talk to loopback; refuse anything else.
    if !target.ip().is_loopback() {
        client.write_all(&[5, 2, 0, 1, 0, 0, 0, 0, 0, 0])?;
        return Ok(());
    }
    let upstream = match TcpStream::connect(target) {
        Ok(s) => s,
        Err(_) => {
            client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0])?;
            return Ok(());
        }
    };
    client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])?;

    let mut up_read = upstream.try_clone()?;
    let mut client_read = client.try_clone()?;
    let mut up_write = upstream;
    let to_server = thread::spawn(move || {
        let _ = std::io::copy(&mut client_read, &mut up_write);
        let _ = up_write.shutdown(Shutdown::Write);
    });
    relay_lying(&mut up_read, &mut client, lie);
    let _ = client.shutdown(Shutdown::Both);
    let _ = up_read.shutdown(Shutdown::Both);
    let _ = to_server.join();
    Ok(())
}

/// The SOCKS5 greeting (answered: "no authentication") and the CONNECT request: returns the
/// host and port asked for, or None when the client offers no method we take (refused) or
/// names an unknown address type.
fn read_request(client: &mut TcpStream) -> std::io::Result<Option<(String, u16)>> {
    // Greeting: VER NMETHODS METHODS…; we accept "no authentication".
    let mut head = [0u8; 2];
    client.read_exact(&mut head)?;
    let mut methods = vec![0u8; usize::from(head[1])];
    client.read_exact(&mut methods)?;
    if head[0] != 5 || !methods.contains(&0) {
        client.write_all(&[5, 0xff])?;
        return Ok(None);
    }
    client.write_all(&[5, 0])?;
    // Request: VER CMD RSV ATYP DST.ADDR DST.PORT.
    let mut req = [0u8; 4];
    client.read_exact(&mut req)?;
    let host: String = match req[3] {
        1 => {
            let mut a = [0u8; 4];
            client.read_exact(&mut a)?;
            Ipv4Addr::from(a).to_string()
        }
        3 => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len)?;
            let mut name = vec![0u8; usize::from(len[0])];
            client.read_exact(&mut name)?;
            String::from_utf8_lossy(&name).into_owned()
        }
        4 => {
            let mut a = [0u8; 16];
            client.read_exact(&mut a)?;
            Ipv6Addr::from(a).to_string()
        }
        _ => return Ok(None),
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port)?;
    Ok(Some((host, u16::from_be_bytes(port))))
}

/// Copies server → client, applying the lie to the bytes after the first blank line.
fn relay_lying(from: &mut TcpStream, to: &mut TcpStream, lie: Lie) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut seen: Vec<u8> = Vec::new(); // header bytes until the body starts
    let mut body_pos: Option<usize> = None; // body bytes relayed so far
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut chunk = buf[..n].to_vec();
        let mut body_start_in_chunk = 0;
        if body_pos.is_none() {
            let before = seen.len();
            seen.extend_from_slice(&chunk);
            if let Some(end) = find(&seen, b"\r\n\r\n") {
                body_start_in_chunk = end + 4 - before;
                body_pos = Some(0);
            } else {
                if to.write_all(&chunk).is_err() {
                    return;
                }
                continue;
            }
        }
        let pos = body_pos.unwrap();
        let body_len = chunk.len() - body_start_in_chunk;
        match lie {
            Lie::FlipBodyByte { offset } if offset >= pos && offset < pos + body_len => {
                chunk[body_start_in_chunk + offset - pos] ^= 0x01;
            }
            Lie::TruncateBody { after } if pos + body_len > after => {
                let keep = body_start_in_chunk + after.saturating_sub(pos);
                let _ = to.write_all(&chunk[..keep]);
                return;
            }
            _ => {}
        }
        body_pos = Some(pos + body_len);
        if to.write_all(&chunk).is_err() {
            return;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
