-- Each certificate's PDF as last rendered, with the state it shows (number, status now, reason, change time,
-- successor, public URL): rendered when the certificate is issued or changes, and on a download that finds
-- it missing or showing another state. A download of the stored state serves these bytes.
CREATE TABLE certificate_documents (
    certificate_id INTEGER PRIMARY KEY NOT NULL REFERENCES certificates (id),
    state TEXT NOT NULL,
    etag TEXT NOT NULL,
    body BLOB NOT NULL,
    rendered_at TIMESTAMP NOT NULL
);
