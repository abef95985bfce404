//! Password guessing: failed log-ins lock the account at its home, with a doubling wait; a
//! failed log-in takes no less than the floor, whatever the email.

use std::time::{Duration, Instant};

use roam_origin::Config;

use uuid::Uuid;

use crate::helpers::{assert_problem, email_claimed_on, spawn_stack_with, TestStack, PASSWORD};

fn quick_locks(config: &mut Config) {
    config.login_lock.free_failures = 3;
    config.login_lock.first_lock = Duration::from_secs(1);
    config.login_failure_floor = Duration::from_millis(150);
}

#[tokio::test]
async fn failed_log_ins_lock_the_account_and_a_success_clears_them() {
    let stack = spawn_stack_with(quick_locks).await;
    let email = email_claimed_on("us-west");
    stack.sign_up("eu-west", &email, "Guessed", "rome").await;
    let log_in = |password: &str, via: &str| stack.origin(via).log_in(&email, password).send();
    // Three free failures, through any region: counted at the home (eu-west).
    for via in ["eu-west", "us-east", "us-west"] {
        assert_problem(&log_in("guess", via).await, 401, "a free failure");
    }
    let locked = log_in("guess", "us-east").await;
    assert_problem(&locked, 429, "the fourth locks");
    assert_eq!(locked.header("retry-after"), Some("1"));
    assert_eq!(
        stack
            .count_local("eu-west", "login_failures", "failures = 4")
            .await,
        1
    );
    let r = log_in(PASSWORD, "eu-west").await;
    assert_problem(&r, 429, "even the right password waits out the lock");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = log_in(PASSWORD, "us-west").await;
    assert_eq!(r.status, 200, "after the lock: {}", r.text());
    assert_eq!(
        stack.count_local("eu-west", "login_failures", "true").await,
        0,
        "cleared"
    );
    stack.cleanup().await;
}

#[tokio::test]
async fn a_failed_log_in_takes_the_floor_whether_or_not_the_email_exists() {
    let stack = spawn_stack_with(quick_locks).await;
    let email = email_claimed_on("us-west");
    stack.sign_up("eu-west", &email, "Timed", "rome").await;
    for (who, via) in [
        (email.as_str(), "eu-west"),
        (email.as_str(), "us-east"),
        ("nobody@example.com", "eu-west"),
    ] {
        let started = Instant::now();
        let r = stack.origin(via).log_in(who, "wrong horse").send().await;
        assert_problem(&r, 401, who);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(150),
            "{who} via {via}: {took:?}"
        );
    }
    stack.cleanup().await;
}

fn slow_client_limits(config: &mut Config) {
    config.limits.header_read_timeout = Duration::from_millis(1500);
    config.limits.max_connections = 40;
}

/// A client that sends a partial request and then one header line every 300 ms: how long
/// until the origin hangs up on it (`None`: still open after `within`).
async fn trickle(address: std::net::SocketAddr, within: Duration) -> Option<Duration> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let started = Instant::now();
    let Ok(mut stream) = tokio::net::TcpStream::connect(address).await else {
        return Some(Duration::ZERO);
    };
    let _ = stream
        .write_all(b"GET /ping HTTP/1.1\r\nHost: origin\r\n")
        .await;
    let mut buffer = [0u8; 256];
    while started.elapsed() < within {
        let read = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buffer));
        match read.await {
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => {
                if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
                    return Some(started.elapsed());
                }
            }
        }
    }
    None
}

#[tokio::test]
async fn slow_clients_are_cut_off_and_cannot_pile_up() {
    let stack = spawn_stack_with(slow_client_limits).await;
    let origin = stack.origin("eu-west");
    let address: std::net::SocketAddr = origin
        .address
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let clients = (0..80).map(|_| trickle(address, Duration::from_secs(6)));
    let slow = tokio::spawn(futures::future::join_all(clients));
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Past the cap a new connection is closed at once; once the slow ones are cut off (the
    // header deadline), a real request gets through.
    let deadline = Instant::now() + Duration::from_secs(5);
    let answered = loop {
        let r = reqwest::Client::new()
            .get(format!("{}/ping", origin.address))
            .timeout(Duration::from_secs(1))
            .send()
            .await;
        if r.is_ok() || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        answered.is_ok(),
        "a real client gets an answer: {answered:?}"
    );
    let cut: Vec<Option<Duration>> = slow.await.unwrap();
    let refused_at_once = cut
        .iter()
        .filter(|c| c.is_some_and(|d| d < Duration::from_millis(500)))
        .count();
    let cut_at_deadline = cut
        .iter()
        .filter(|c| {
            c.is_some_and(|d| d >= Duration::from_millis(1400) && d < Duration::from_secs(4))
        })
        .count();
    assert!(
        cut.iter().all(Option::is_some),
        "none outlives the header deadline: {cut:?}"
    );
    assert!(
        refused_at_once >= 40,
        "past the cap of 40, refused: {refused_at_once}"
    );
    assert!(
        cut_at_deadline >= 30,
        "the rest cut off at the deadline: {cut_at_deadline}"
    );
    stack.cleanup().await;
}

fn short_rides_and_few_vehicles(config: &mut Config) {
    config.max_ride = Duration::from_secs(2);
    config.vehicles_per_hour = 3;
}

#[tokio::test]
async fn one_open_ride_per_user_whichever_region_and_it_ends_by_itself() {
    let stack = spawn_stack_with(short_rides_and_few_vehicles).await;
    let (_, owner) = stack.user("paris").await;
    let (_, rider) = stack.user("rome").await;
    let start = |city: &'static str, vehicle: Uuid, via: &'static str| {
        stack
            .origin(via)
            .start_ride(city, vehicle)
            .token(&rider)
            .send()
    };
    let (rome_bike, paris_bike) = (
        stack.vehicle("rome", &owner).await,
        stack.vehicle("paris", &owner).await,
    );
    let (_, far_owner) = stack.user("boston").await;
    let boston_bike = stack.vehicle("boston", &far_owner).await;
    let r = start("rome", rome_bike, "eu-west").await;
    assert_eq!(r.status, 201, "{}", r.text());
    let first = r.json()["id"].as_str().unwrap().to_string();
    assert_problem(
        &start("paris", paris_bike, "eu-west").await,
        409,
        "a second, at home",
    );
    let away = start("boston", boston_bike, "us-east").await;
    assert_problem(&away, 409, "a second, away from home");
    assert!(
        away.text().contains(&first),
        "says which ride is open: {}",
        away.text()
    );
    // Past the longest ride it ends by itself, where it started; the rider may ride again.
    the_rider_can_start_again_within_30s(&stack, &rider, boston_bike).await;
    the_ride_ended_where_it_started(&stack, &rider, &first).await;
    let vehicle = stack
        .origin("eu-west")
        .get(&format!("/api/v1/cities/rome/vehicles/{rome_bike}"))
        .send()
        .await;
    assert_eq!(vehicle.json()["status"], "available", "{}", vehicle.text());
    stack.cleanup().await;
}

fn no_job_workers(config: &mut Config) {
    config.jobs.workers = 0;
}

/// A ride away from home has ended, and the job that clears its open-ride marker at the
/// rider's home has not run (no workers here): the rider's next start takes the marker over.
#[tokio::test]
async fn a_start_takes_over_the_marker_of_a_ride_that_has_ended() {
    let stack = spawn_stack_with(no_job_workers).await;
    let (_, owner) = stack.user("paris").await;
    let (_, rider) = stack.user("boston").await;
    let rome_bike = stack.vehicle("rome", &owner).await;
    let seattle_bike = stack.vehicle("seattle", &owner).await;
    let first = stack.start_ride("eu-west", "rome", rome_bike, &rider).await;
    let r = stack
        .origin("eu-west")
        .end_ride("rome", first, "Pantheon")
        .token(&rider)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        markers_at_boston(&stack, first).await,
        1,
        "the ended ride's marker is still there"
    );

    let second = stack
        .start_ride("us-west", "seattle", seattle_bike, &rider)
        .await;
    assert_eq!(
        markers_at_boston(&stack, second).await,
        1,
        "the new ride holds the marker"
    );
    stack.cleanup().await;
}

/// How many open-ride markers at a boston rider's home node (us-east) name `ride`.
async fn markers_at_boston(stack: &TestStack, ride: Uuid) -> i64 {
    let filter = format!("ride_id = '{ride}'");
    stack.count_local("us-east", "open_rides", &filter).await
}

/// Tries to start a ride on `boston_bike` through us-east every 200 ms until one is created;
/// fails after 30 s.
async fn the_rider_can_start_again_within_30s(stack: &TestStack, rider: &str, boston_bike: Uuid) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = stack
            .origin("us-east")
            .start_ride("boston", boston_bike)
            .token(rider)
            .send()
            .await;
        if r.status == 201 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the ride never ended: {}",
            r.text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The rider's ride `ride`, listed through eu-west, has an end time and ended where it started.
async fn the_ride_ended_where_it_started(stack: &TestStack, rider: &str, ride: &str) {
    let mine = stack
        .origin("eu-west")
        .my_rides(rider)
        .header("x-roam-recent-writes", "us-east")
        .send()
        .await;
    let ended = mine.json()["rides"]
        .as_array()
        .expect("rides")
        .iter()
        .find(|r| r["id"] == ride)
        .cloned()
        .unwrap_or_else(|| panic!("ride {ride} not listed: {}", mine.text()));
    assert!(ended["end_time"].is_string(), "{ended}");
    assert_eq!(ended["end_location"], ended["start_location"]);
}

#[tokio::test]
async fn a_user_adds_a_bounded_number_of_vehicles_per_hour() {
    let stack = spawn_stack_with(short_rides_and_few_vehicles).await;
    let (_, token) = stack.user("rome").await;
    for _ in 0..3 {
        stack.vehicle("rome", &token).await;
    }
    let r = stack
        .origin("eu-west")
        .add_vehicle("paris", "bike", "Piazza Navona")
        .token(&token)
        .send()
        .await;
    assert_problem(&r, 429, "a fourth in the region within the hour");
    let wait: u32 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((3000..=3600).contains(&wait), "{wait}");
    stack.cleanup().await;
}
