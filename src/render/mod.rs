//! Rendering of certificates for people: the PDF document and the QR code drawn in it.
//! Pure functions of a certificate's facts: the same certificate always gives the same bytes.

pub mod pdf;
pub mod qr;
