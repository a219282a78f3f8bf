//! The live room: the viewers of a session follow one watcher per server, told of each sale by
//! the write itself (and, in another replica, through Redis), so the database work does not
//! grow with the audience. The slow re-read is set an hour away here: whatever the viewers see,
//! a sale told them.

use super::sessions::{StockWatch, approved_session, session_order};
use super::*;

on_each_backend!(
    fifty_viewers_see_a_sale_from_the_write_itself_through_one_watcher,
    a_second_replica_hears_sales_through_redis_and_reads_no_more_for_fifty_viewers_than_for_one,
);

const NO_RESYNC: (&str, &str) = ("HUAKAI_LIVE_STOCK_RESYNC", "1h");

/// `count` viewers following `session` on `app`, each shown (remaining, sold) first.
async fn viewers(app: &TestApp, session: &Value, count: usize, first: (i64, i64)) -> Vec<StockWatch> {
    let mut watches = Vec::new();
    for _ in 0..count {
        let mut watch = StockWatch::open(app, session).await;
        assert_eq!(watch.stock().await, first);
        watches.push(watch);
    }
    watches
}

async fn all_see(watches: &mut [StockWatch], stock: (i64, i64)) {
    for (viewer, watch) in watches.iter_mut().enumerate() {
        assert_eq!(watch.stock().await, stock, "viewer {viewer}");
    }
}

async fn fifty_viewers_see_a_sale_from_the_write_itself_through_one_watcher(backend: Backend) {
    let Some(app) = TestApp::on(backend).settings(&[NO_RESYNC]).start().await else {
        return;
    };
    let cast = cast(&app).await;
    let (_, variant) = lily_at(&app, &cast.operator, "100.00").await;
    let (session, _, code) = approved_session(&app, &cast, &variant, "50.00", 10, 3, -1, 600).await;
    let mut watches = viewers(&app, &session, 50, (10, 0)).await;
    let rooms = &app.server.state.live_rooms;
    assert_eq!(rooms.rooms_open(), 1, "one watcher for all fifty");

    let sold = app
        .query_as(&cast.buyer, PLACE, session_order(&variant, 2, &code, "two"))
        .await;
    assert_eq!(sold["placeOrder"]["userErrors"], json!([]), "{sold}");
    all_see(&mut watches, (8, 2)).await;
    let cancelled = app
        .query_as(
            &cast.buyer,
            "mutation($id: ID!) { cancelOrder(orderId: $id) { userErrors { code } } }",
            json!({ "id": sold["placeOrder"]["order"]["id"] }),
        )
        .await;
    assert_eq!(cancelled["cancelOrder"]["userErrors"], json!([]));
    all_see(&mut watches, (10, 0)).await;

    // The watcher goes when its last viewer does.
    drop(watches);
    for _ in 0..100 {
        if rooms.rooms_open() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rooms.rooms_open(), 0, "no watcher left without viewers");
}

async fn a_second_replica_hears_sales_through_redis_and_reads_no_more_for_fifty_viewers_than_for_one(backend: Backend) {
    let Some(seller) = TestApp::on(backend).redis().settings(&[NO_RESYNC]).start().await else {
        return;
    };
    let room = seller.another_instance().await;
    let cast = cast(&seller).await;
    let (_, variant) = lily_at(&seller, &cast.operator, "100.00").await;
    let (session, _, code) = approved_session(&seller, &cast, &variant, "50.00", 10, 3, -1, 600).await;
    let buyers = [cast.buyer, seller.user("fan@example.com", Role::Buyer, None).await];
    let mut watches = viewers(&room, &session, 1, (10, 0)).await;
    let sale = |buyer: usize| session_order(&variant, 1, &code, &format!("sale-{buyer}"));
    let for_one = sale_seen(&seller, &buyers[0], sale(0), &room, &mut watches, (9, 1)).await;
    watches.extend(viewers(&room, &session, 49, (9, 1)).await);
    let for_fifty = sale_seen(&seller, &buyers[1], sale(1), &room, &mut watches, (8, 2)).await;
    // One read of the session and its items per sale heard (a second when two notices fall
    // on either side of the watcher's pause); a reader per viewer would make it fifty.
    assert!(for_one <= 4, "{for_one} statements for one viewer");
    assert!(
        for_fifty <= 4,
        "{for_fifty} statements for fifty viewers ({for_one} for one)"
    );
}

/// The statements `room`'s server runs from `buyer`'s order on `seller` until every viewer on
/// `room` has seen the stock it leaves.
async fn sale_seen(
    seller: &TestApp,
    buyer: &Actor,
    order: Value,
    room: &TestApp,
    watches: &mut [StockWatch],
    stock: (i64, i64),
) -> u64 {
    let before = room.server.state.statements_executed();
    let sold = seller.query_as(buyer, PLACE, order).await;
    assert_eq!(sold["placeOrder"]["userErrors"], json!([]), "{sold}");
    all_see(watches, stock).await;
    room.server.state.statements_executed() - before
}
