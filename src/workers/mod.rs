// The background workers `serve` runs (and `ecolabel jobs run` on demand): the scheduler of work after
// the award, the outbox senders (e-mail, webhooks) and the witness sender; each calls src/app, never web.

pub mod mail;
pub mod scheduler;
pub mod webhooks;
pub mod witnesses;
