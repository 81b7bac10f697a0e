// What /metrics reads at scrape time: the database pool, the outboxes' backlog and oldest age, the public
// log's size and the age of its newest checkpoint (and of the newest cosigned one), set into the gauges.

use super::{Context, Result};
use crate::storage::{self, log, notifications, webhooks, witnessing};

/// Read the scrape-time figures into the gauges (one read of the database).
pub async fn observe(ctx: &Context) -> Result<()> {
    let witnesses: Vec<String> = ctx.config.witnesses.iter().map(|w| w.name.clone()).collect();
    let quorum = ctx.config.witness_quorum;
    let (email, hooks, size, fresh) = ctx
        .db
        .read(move |c| {
            Ok::<_, storage::Error>((
                notifications::backlog(c)?,
                webhooks::backlog(c)?,
                log::size(c)?,
                witnessing::freshness(c, &witnesses, quorum)?,
            ))
        })
        .await?;
    let now = ctx.clock.now();
    let age = |t: chrono::NaiveDateTime| (now - t).num_seconds().max(0);
    let m = crate::metrics::get();
    let (connections, idle) = ctx.db.pool_state();
    m.pool_connections
        .with_label_values(&["in_use"])
        .set(i64::from(connections.saturating_sub(idle)));
    m.pool_connections.with_label_values(&["idle"]).set(i64::from(idle));
    m.outbox_pending.with_label_values(&["email", "none"]).set(email.0);
    m.outbox_oldest_seconds.with_label_values(&["email"]).set(email.1.map(age).unwrap_or(0));
    let mut oldest_hook: Option<chrono::NaiveDateTime> = None;
    for state in ["active", "disabled"] {
        m.outbox_pending.with_label_values(&["webhook", state]).set(0);
    }
    for (active, n, oldest) in hooks {
        m.outbox_pending
            .with_label_values(&["webhook", if active { "active" } else { "disabled" }])
            .set(n);
        if active {
            oldest_hook = oldest;
        }
    }
    m.outbox_oldest_seconds.with_label_values(&["webhook"]).set(oldest_hook.map(age).unwrap_or(0));
    m.log_size.set(i64::try_from(size).unwrap_or(i64::MAX));
    m.log_checkpoint_age.set(fresh.newest.map(age).unwrap_or(0));
    match fresh.cosigned {
        Some((size, at)) => {
            m.log_cosigned_age.set(age(at));
            m.log_cosigned_size.set(i64::try_from(size).unwrap_or(i64::MAX));
        }
        None => {
            m.log_cosigned_age.set(-1);
            m.log_cosigned_size.set(0);
        }
    }
    Ok(())
}
