//! The proxy on loopback: integrity, delay, backpressure, run-time changes and faults.
//! Every server listens on port 0; every link stops when its handle drops.

use std::net::SocketAddr;
use std::time::Duration;

use roam_wan::{Fault, Link, LinkHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{timeout, Instant};

const MS: Duration = Duration::from_millis(1);

/// An echo server on a free port; it runs until the test's runtime ends.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = stream.set_nodelay(true);
                let (mut r, mut w) = stream.into_split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown().await;
            });
        }
    });
    addr
}

/// A server that accepts and then never reads; it keeps the sockets open.
async fn sink_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}

async fn link(target: SocketAddr, rtt_ms: u64) -> LinkHandle {
    Link::new(target)
        .rtt(MS * rtt_ms as u32)
        .start()
        .await
        .expect("link starts")
}

async fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// One small request and its echo; how long it took.
async fn round_trip(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    stream.write_all(b"ping").await.expect("write");
    let mut buf = [0u8; 4];
    stream.read_exact(&mut buf).await.expect("echo");
    assert_eq!(&buf, b"ping");
    started.elapsed()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// A deterministic, non-repeating-looking payload, so a reordering or a lost chunk shows.
fn payload(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

async fn echo_through(link: &LinkHandle, data: &[u8]) -> Vec<u8> {
    let stream = connect(link.addr()).await;
    let (mut r, mut w) = stream.into_split();
    let sent = data.to_vec();
    let writer = tokio::spawn(async move {
        // Odd-sized writes, so chunk boundaries never line up with anything.
        for part in sent.chunks(7_919) {
            w.write_all(part).await.expect("write");
        }
        w.shutdown().await.expect("shutdown");
    });
    let mut back = Vec::with_capacity(data.len());
    r.read_to_end(&mut back).await.expect("read");
    writer.await.expect("writer");
    back
}

#[tokio::test]
async fn bytes_arrive_whole_and_in_order_at_0_and_20_ms() {
    let target = echo_server().await;
    let data = payload(4 * 1024 * 1024);
    for rtt in [0, 20] {
        let link = link(target, rtt).await;
        let back = echo_through(&link, &data).await;
        assert_eq!(back.len(), data.len(), "length at {rtt} ms");
        assert!(back == data, "content differs at {rtt} ms");
        link.stop().await;
    }
}

#[tokio::test]
async fn jitter_never_reorders() {
    let target = echo_server().await;
    let link = Link::new(target)
        .rtt(MS * 2)
        .jitter(MS * 10)
        .start()
        .await
        .expect("link");
    let data = payload(512 * 1024);
    assert!(echo_through(&link, &data).await == data);
}

#[tokio::test]
async fn a_40_ms_link_takes_40_ms_a_round_trip_and_not_much_more() {
    let target = echo_server().await;
    let link = link(target, 40).await;
    let started = Instant::now();
    let mut stream = connect(link.addr()).await;
    let first = round_trip(&mut stream).await;
    let connect_and_first = started.elapsed();
    let mut samples = Vec::new();
    for _ in 0..5 {
        samples.push(round_trip(&mut stream).await);
    }
    let (min, med) = (*samples.iter().min().expect("samples"), median(samples));
    eprintln!(
        "40 ms link: handshake + first {connect_and_first:?}, then min {min:?}, median {med:?}"
    );
    assert!(min >= MS * 40, "{min:?}");
    assert!(med < MS * 50, "{med:?}");
    // A new connection pays the handshake's round trip too.
    assert!(first >= MS * 80 && first < MS * 110, "{first:?}");
}

#[tokio::test]
async fn zero_ms_adds_no_measurable_cost() {
    let target = echo_server().await;
    let link = link(target, 0).await;
    let (mut direct, mut proxied) = (connect(target).await, connect(link.addr()).await);
    let (mut d, mut p) = (Vec::new(), Vec::new());
    for _ in 0..300 {
        d.push(round_trip(&mut direct).await);
        p.push(round_trip(&mut proxied).await);
    }
    let (d, p) = (median(d), median(p));
    eprintln!("round trip on loopback: direct {d:?}, through a 0 ms link {p:?}");
    // A proxy is one more hop on loopback (tens of µs); far below any modelled RTT.
    assert!(
        p < d + Duration::from_micros(500),
        "direct {d:?} vs proxied {p:?}"
    );
}

#[tokio::test]
async fn a_reader_that_stops_blocks_the_writer_and_memory_stays_bounded() {
    let target = sink_server().await;
    let budget = 256 * 1024;
    let link = Link::new(target)
        .rtt(MS * 10)
        .buffer_bytes(budget)
        .start()
        .await
        .expect("link");
    let mut stream = connect(link.addr()).await;
    let block = vec![7u8; 64 * 1024];
    let mut written = 0usize;
    let limit = 256 * 1024 * 1024;
    // Write until a write makes no progress for a while: the writer is blocked.
    while written < limit {
        match timeout(MS * 300, stream.write_all(&block)).await {
            Ok(result) => {
                result.expect("write");
                written += block.len();
            }
            Err(_) => break,
        }
    }
    let stats = link.stats();
    eprintln!("blocked after {written} bytes; {stats:?}");
    assert!(written < limit, "the writer was never blocked");
    // Beyond the link's budget only kernel socket buffers hold data (a few MiB on loopback).
    assert!(written < budget + 48 * 1024 * 1024, "{written}");
    assert!(stats.peak_queued_bytes <= budget, "{stats:?}");
}

#[tokio::test]
async fn rtt_changes_apply_to_open_connections() {
    let target = echo_server().await;
    let link = link(target, 0).await;
    let mut stream = connect(link.addr()).await;
    assert!(round_trip(&mut stream).await < MS * 30);
    link.set_rtt(MS * 40);
    let slow = round_trip(&mut stream).await;
    assert!(slow >= MS * 40 && slow < MS * 80, "{slow:?}");
    link.set_rtt(Duration::ZERO);
    let fast = round_trip(&mut stream).await;
    assert!(fast < MS * 30, "{fast:?}");
}

/// Whether the peer reset or closed the connection within a short while.
async fn is_dead(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 16];
    let _ = stream.write_all(b"x").await;
    matches!(
        timeout(MS * 500, stream.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn a_cut_link_resets_open_connections_and_refuses_new_ones_until_restored() {
    let target = echo_server().await;
    let link = link(target, 0).await;
    let mut open = connect(link.addr()).await;
    round_trip(&mut open).await;
    link.cut();
    assert!(is_dead(&mut open).await, "open connection survived the cut");
    let mut new = connect(link.addr()).await;
    assert!(
        is_dead(&mut new).await,
        "new connection got through a cut link"
    );
    link.restore();
    let mut again = connect(link.addr()).await;
    round_trip(&mut again).await;
    assert!(link.stats().refused >= 2, "{:?}", link.stats());
}

#[tokio::test]
async fn a_blackholed_link_says_nothing() {
    let target = echo_server().await;
    let link = link(target, 0).await;
    link.set_fault(Fault::Blackhole);
    let mut stream = connect(link.addr()).await;
    stream.write_all(b"ping").await.expect("write");
    let mut buf = [0u8; 4];
    assert!(
        timeout(MS * 200, stream.read(&mut buf)).await.is_err(),
        "got an answer"
    );
    link.restore();
    assert!(
        is_dead(&mut stream).await,
        "held connection was not reset on restore"
    );
    let mut fresh = connect(link.addr()).await;
    round_trip(&mut fresh).await;
}

#[tokio::test]
async fn a_stopped_link_closes_its_port_and_its_connections() {
    let target = echo_server().await;
    let link = link(target, 0).await;
    let addr = link.addr();
    let mut open = connect(addr).await;
    round_trip(&mut open).await;
    link.stop().await;
    assert!(is_dead(&mut open).await);
    assert!(TcpStream::connect(addr).await.is_err(), "port still open");
}

#[tokio::test]
async fn an_unreachable_target_resets_the_client() {
    let gone = {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        listener.local_addr().expect("addr")
    };
    let link = link(gone, 0).await;
    let mut stream = connect(link.addr()).await;
    assert!(is_dead(&mut stream).await);
}
