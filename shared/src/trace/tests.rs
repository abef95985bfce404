use super::*;
use proptest::prelude::*;

const EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[test]
fn the_specs_example_round_trips() {
    let tp = TraceParent::parse(EXAMPLE).unwrap();
    assert_eq!(tp.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(tp.span_id_hex(), "00f067aa0ba902b7");
    assert!(tp.sampled());
    assert_eq!(tp.to_header(), EXAMPLE);
    assert!(!tp.with_sampled(false).sampled());
    let child = tp.with_span([7; 8]);
    assert_eq!(child.trace_id, tp.trace_id);
    assert_eq!(child.span_id_hex(), "0707070707070707");
}

#[test]
fn malformed_values_are_refused() {
    for bad in [
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ] {
        assert_eq!(TraceParent::parse(bad), None, "{bad:?}");
    }
    // A later version is read for the fields it shares with 00.
    let future = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later";
    assert!(TraceParent::parse(future).is_some());
}

#[test]
fn server_timing_carries_start_and_a_clean_description() {
    let header = server_timing(&[
        Timing::new("edge", 1.26),
        Timing::new("attempt", 40.0)
            .at(2.0)
            .desc("eu-west \"timeout\""),
        Timing::new("db", -1.0),
    ]);
    assert_eq!(
        header,
        "edge;dur=1.3, attempt;dur=40.0;start=2.0;desc=\"eu-west timeout\", db;dur=0.0"
    );
}

proptest! {
    #[test]
    fn parsing_never_panics(s in "\\PC{0,80}") {
        let _ = TraceParent::parse(&s);
    }

    #[test]
    fn every_valid_context_round_trips(t in any::<[u8; 16]>(), s in any::<[u8; 8]>(), f in any::<u8>()) {
        if let Some(tp) = TraceParent::new(t, s, f) {
            prop_assert_eq!(TraceParent::parse(&tp.to_header()), Some(tp));
        }
    }
}
