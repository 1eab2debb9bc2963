//! The WuKongIM HTTP API helper (`driver::wukong_api`, issue 14) against the simulated API:
//! a listen command subscribes the monitor uid to its groups and rooms (their messages then
//! come on the socket) and puts its users and events into the webhook filter; removing undoes
//! both; the token and route calls; a refused body's status.

use rtm_listen::driver::wukong_api::{ApiError, WkApi};
use rtm_listen::rtm::push::Target;
use rtm_listen::session::wukong::{WkConfig, WkCredentials, WkIds, WkListener};
use wukong_sim::{ApiSim, SimConfig, WkSim};

#[test]
fn listen_commands_become_subscriptions_and_the_webhook_filter() {
    let sim = WkSim::start(SimConfig::default()).unwrap();
    let api_sim = ApiSim::start(sim.addr()).unwrap();
    let api = WkApi::new(api_sim.base()).with_manager_token("mgr");
    let creds = WkCredentials {
        uid: "monitor",
        token: "tok",
        device_id: "d",
    };
    let mut l: WkListener = WkListener::new(WkConfig::DEFAULT, creds, &[4; 32]).unwrap();

    api.register_token("monitor", "tok", 2, 0).unwrap();
    let route = api.route(false).unwrap();
    assert!(route.contains(&sim.addr().to_string()), "{route}");

    let none: [&str; 0] = [];
    api.listen(
        &mut l,
        "monitor",
        9,
        WkIds {
            gids: &["g1", "g<2>"],
            rids: &["live-7"],
            uids: &["alice"],
            events: &["login"],
        },
        true,
    )
    .unwrap();
    let set = l.listen_set();
    assert!(set.wants_message(Target::Group, b"", b"g1"));
    assert!(set.wants_message(Target::P2P, b"alice", b"bob"));
    assert!(set.wants_event(true) && !set.wants_event(false));
    api.listen(
        &mut l,
        "monitor",
        9,
        WkIds {
            gids: &["g1"],
            rids: &none,
            uids: &none,
            events: &none,
        },
        false,
    )
    .unwrap();
    assert!(!l.listen_set().wants_message(Target::Group, b"", b"g1"));
    let calls = api_sim.calls();
    let paths: Vec<&str> = calls.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/user/token",
            "/route",
            "/channel/subscriber_add",
            "/channel/subscriber_add",
            "/channel/subscriber_add",
            "/channel/subscriber_remove"
        ]
    );
    assert_eq!(
        calls[2].1,
        r#"{"channel_id":"g1","channel_type":2,"subscribers":["monitor"]}"#
    );
    assert_eq!(
        calls[4].1,
        r#"{"channel_id":"live-7","channel_type":9,"subscribers":["monitor"]}"#
    );
    assert_eq!(
        calls[0].1,
        r#"{"uid":"monitor","token":"tok","device_flag":2,"device_level":0}"#
    );

    // A refused command sends nothing; an unknown path has the server's status.
    let before = api_sim.calls().len();
    let err = api.listen(
        &mut l,
        "monitor",
        9,
        WkIds {
            gids: &none,
            rids: &none,
            uids: &none,
            events: &["typing"],
        },
        true,
    );
    assert!(matches!(err, Err(ApiError::Listen(_))));
    assert_eq!(api_sim.calls().len(), before);
    let unreachable = WkApi::new("http://127.0.0.1:1");
    assert!(matches!(
        unreachable.route(false),
        Err(ApiError::Transport(_))
    ));
}
