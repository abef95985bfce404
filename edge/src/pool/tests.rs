use super::*;

/// A scripted `random`: returns the given picks in turn.
fn script(picks: &[usize]) -> impl FnMut(usize) -> usize + '_ {
    let mut at = 0;
    move |n| {
        let pick = picks[at % picks.len()];
        at += 1;
        assert!(pick < n, "pick {pick} out of 0..{n}");
        pick
    }
}

#[test]
fn an_empty_pool_has_no_choice_and_a_single_origin_is_always_chosen() {
    assert_eq!(choose(&[], |_| unreachable!()), None);
    assert_eq!(choose(&[7], |_| unreachable!()), Some(0));
}

#[test]
fn of_two_picks_the_one_with_fewer_requests_in_flight_wins() {
    assert_eq!(choose(&[3, 1], script(&[0, 0])), Some(1));
    assert_eq!(choose(&[1, 3], script(&[1, 0])), Some(0));
    // Three origins: picks 2 and (2 + 1 + 1) % 3 = 1.
    assert_eq!(choose(&[0, 5, 4], script(&[2, 1])), Some(2));
    assert_eq!(choose(&[0, 3, 4], script(&[2, 1])), Some(1));
}

#[test]
fn the_two_picks_are_always_distinct_and_ties_go_to_the_first() {
    for n in 2..6 {
        for a in 0..n {
            for r in 0..n - 1 {
                let loads = vec![0; n];
                assert_eq!(choose(&loads, script(&[a, r])), Some(a), "tie → first pick");
                // Make the first pick the busier: the second must be another origin.
                let mut loads = vec![0; n];
                loads[a] = 1;
                let chosen = choose(&loads, script(&[a, r])).unwrap();
                assert_ne!(chosen, a, "n={n} a={a} r={r}");
            }
        }
    }
}

#[test]
fn idle_origins_share_the_load_and_a_busy_one_gets_less() {
    // A deterministic spread of picks over 0..n (a linear congruential sequence).
    let mut seed = 12_345_u64;
    let mut random = move |n: usize| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        ((seed >> 33) % n as u64) as usize
    };
    let mut counts = [0_u32; 3];
    for _ in 0..3_000 {
        counts[choose(&[0, 0, 0], &mut random).unwrap()] += 1;
    }
    assert!(counts.iter().all(|&c| c > 800), "idle: {counts:?}");
    let mut counts = [0_u32; 3];
    for _ in 0..3_000 {
        counts[choose(&[4, 0, 0], &mut random).unwrap()] += 1;
    }
    // The busy origin wins only when it is both picks, which cannot happen: never.
    assert_eq!(counts[0], 0, "busy: {counts:?}");
    assert!(counts[1] > 1_200 && counts[2] > 1_200, "busy: {counts:?}");
}

#[test]
fn a_request_skips_tried_origins_and_open_breakers_and_claims_the_probe() {
    let p = BreakerPolicy::default();
    let pool: Vec<String> = ["http://pick-a", "http://pick-b"].map(String::from).into();
    let first = |_: usize| 0;
    assert_eq!(pick_with(&pool, &[], 0.0, &p, first), Some(0));
    assert_eq!(
        pick_with(&pool, &["http://pick-a"], 0.0, &p, first),
        Some(1),
        "the other one"
    );
    assert_eq!(
        pick_with(&pool, &["http://pick-a", "http://pick-b"], 0.0, &p, first),
        None,
        "pool exhausted"
    );

    // In flight counts: a busy origin loses to an idle one.
    let busy = InFlight::begin(&pool[0]);
    assert_eq!(pick_with(&pool, &[], 0.0, &p, first), Some(1));
    assert_eq!(health(&pool, 0.0, &p)[0].in_flight, 1);
    drop(busy);
    assert_eq!(health(&pool, 0.0, &p)[0].in_flight, 0);

    // Origin a dies: once its breaker opens, every pick is b.
    (0..3).for_each(|_| record(&pool[0], false, 1.0, &p));
    let states = health(&pool, 2.0, &p);
    assert_eq!(
        (states[0].breaker.as_str(), states[1].breaker.as_str()),
        ("open", "closed")
    );
    assert_eq!(overall_state(&states), "closed", "the region stays healthy");
    assert!((0..20).all(|_| pick_with(&pool, &[], 2.0, &p, first) == Some(1)));
    assert_eq!(pick_with(&pool, &["http://pick-b"], 2.0, &p, first), None);

    // Ten seconds on, a is half-open: one request is its probe, the next goes to b.
    assert_eq!(pick_with(&pool, &[], 10_001.0, &p, first), Some(0));
    assert_eq!(pick_with(&pool, &[], 10_002.0, &p, first), Some(1));
    record(&pool[0], true, 10_003.0, &p);
    assert_eq!(
        pick_with(&pool, &[], 10_004.0, &p, first),
        Some(0),
        "closed again"
    );
}

#[test]
fn the_pool_state_is_closed_while_any_origin_is() {
    let origin = |breaker: &str| OriginHealth {
        index: 0,
        breaker: breaker.into(),
        consecutive_failures: 0,
        in_flight: 0,
    };
    assert_eq!(overall_state(&[origin("open"), origin("closed")]), "closed");
    assert_eq!(
        overall_state(&[origin("open"), origin("half-open")]),
        "half-open"
    );
    assert_eq!(overall_state(&[origin("open"), origin("open")]), "open");
    assert_eq!(overall_state(&[]), "open");
}
