// The signed-in pages under /app and the sign-in forms (maud, kk/ru/en, no script, 360 px first):
// each handler parses a form, calls one operation of src/app, and renders a page or redirects.

pub mod account;
pub mod appeals;
pub mod assessments;
pub mod certificates;
pub mod complaints;
pub mod frame;
pub mod home;
pub mod keys;
pub mod notifications;
pub mod reviews;
pub mod signin;
pub mod users;
pub mod venues;
