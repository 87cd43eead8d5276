//! The sign-in back-off on both backends: failures counted per account and per address, blocks
//! that double, a success resetting the account, a quiet hour resetting the count, and two store
//! handles on one database (two app instances) seeing the same state.

use chrono::{Duration, TimeZone, Utc};
use gigaops_store::login_throttle::{self, Key};
use gigaops_store::testing::{fresh_url, BACKENDS};
use gigaops_store::Store;

#[tokio::test]
async fn failures_block_with_a_doubling_wait_shared_by_instances() {
    for b in BACKENDS {
        let url = fresh_url(b).await;
        let one = Store::connect(&url).await.unwrap();
        let two = Store::connect(&url).await.unwrap();
        let t0 = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
        let account = Key::Account("Board@Example.jp".into());
        let address = Key::Address("192.0.2.7".parse().unwrap());
        let keys = [account.clone(), address.clone()];

        for i in 0..4 {
            let at = t0 + Duration::seconds(i);
            assert_eq!(login_throttle::record_failure(&one, &keys, at).await.unwrap(), None, "{b:?} failure {i}");
            assert_eq!(login_throttle::blocked_until(&two, &keys, at).await.unwrap(), None, "{b:?}");
        }
        // the fifth failure blocks for 1 s, the sixth for 2 s — seen by the other instance too
        let at = t0 + Duration::seconds(10);
        let until = login_throttle::record_failure(&two, &keys, at).await.unwrap();
        assert_eq!(until, Some(at + Duration::seconds(1)), "{b:?}");
        assert_eq!(login_throttle::blocked_until(&one, &keys, at).await.unwrap(), until, "{b:?}");
        assert_eq!(login_throttle::blocked_until(&one, &keys, at + Duration::seconds(1)).await.unwrap(), None);
        let at = t0 + Duration::seconds(20);
        assert_eq!(login_throttle::record_failure(&one, &keys, at).await.unwrap(), Some(at + Duration::seconds(2)));
        // another account from another address is not blocked
        let other = [Key::Account("school@example.jp".into()), Key::Address("192.0.2.8".parse().unwrap())];
        assert_eq!(login_throttle::blocked_until(&one, &other, at).await.unwrap(), None, "{b:?}");
        // the same account from another address is
        let moved = [account.clone(), Key::Address("192.0.2.8".parse().unwrap())];
        assert!(login_throttle::blocked_until(&one, &moved, at).await.unwrap().is_some(), "{b:?}");

        // a success resets the account; the address keeps its count (6 of 20)
        login_throttle::reset(&one, &account).await.unwrap();
        assert_eq!(login_throttle::blocked_until(&two, &keys, at).await.unwrap(), None, "{b:?}");
        let at = t0 + Duration::seconds(30);
        assert_eq!(login_throttle::record_failure(&two, &keys, at).await.unwrap(), None, "{b:?} counted anew");

        // after a failure-free hour the count starts again
        for i in 0..4 {
            login_throttle::record_failure(&one, std::slice::from_ref(&account), at + Duration::seconds(i))
                .await
                .unwrap();
        }
        let later = at + Duration::minutes(61);
        assert_eq!(
            login_throttle::record_failure(&one, std::slice::from_ref(&account), later).await.unwrap(),
            None,
            "{b:?}"
        );
    }
}
