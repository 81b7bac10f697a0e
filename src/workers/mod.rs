// The background workers `serve` runs (and `ecolabel jobs run` on demand): the scheduler of work after
// the award, and the outbox senders (e-mail, webhooks); each calls src/app and src/storage, never web.

pub mod mail;
pub mod scheduler;
pub mod webhooks;
