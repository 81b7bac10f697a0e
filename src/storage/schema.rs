// One portable schema for both backends (written by hand to match migrations/sqlite and migrations/postgres).
// Types are the ones diesel's MultiConnection maps on SQLite and PostgreSQL alike.

diesel::table! {
    users (id) {
        id -> BigInt,
        name -> Text,
        roles -> Text,
        created_at -> Timestamp,
        venue_id -> Nullable<BigInt>,
        email -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        totp_secret -> Nullable<Text>,
        totp_pending -> Nullable<Text>,
        totp_last_step -> Nullable<BigInt>,
        language -> Nullable<Text>,
        notifications_seen_id -> BigInt,
    }
}

diesel::table! {
    invitations (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_hash -> Text,
        purpose -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        voided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        user_id -> BigInt,
        id_hash -> Text,
        stage -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        ended_reason -> Nullable<Text>,
        ip -> Text,
        user_agent -> Text,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    signin_throttle (email_hash) {
        email_hash -> Text,
        failures -> Integer,
        window_start -> Timestamp,
        locks -> Integer,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    auth_events (id) {
        id -> BigInt,
        at -> Timestamp,
        user_id -> Nullable<BigInt>,
        actor_id -> Nullable<BigInt>,
        kind -> Text,
        outcome -> Text,
        ip -> Text,
        user_agent -> Text,
        detail -> Text,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_hash -> Text,
        label -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<BigInt>,
        actor_name -> Text,
        entity -> Text,
        entity_id -> Text,
        action -> Text,
        detail -> Text,
    }
}

diesel::table! {
    criteria_versions (scheme, version) {
        scheme -> Text,
        version -> Integer,
        sha256 -> Text,
        content -> Text,
        registered_at -> Timestamp,
    }
}

diesel::table! {
    venues (id) {
        id -> BigInt,
        name -> Text,
        name_kk -> Nullable<Text>,
        name_ru -> Nullable<Text>,
        name_en -> Nullable<Text>,
        address -> Text,
        city -> Text,
        country -> Text,
        category -> Text,
        contact_name -> Nullable<Text>,
        contact_email -> Nullable<Text>,
        contact_phone -> Nullable<Text>,
        search_text -> Text,
        created_by -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        search_words -> Nullable<Text>,
        city_kk -> Nullable<Text>,
        city_ru -> Nullable<Text>,
    }
}

diesel::table! {
    assessments (id) {
        id -> BigInt,
        venue_id -> BigInt,
        assessor_id -> BigInt,
        status -> Text,
        scheme -> Text,
        scheme_version -> Integer,
        criteria_sha256 -> Text,
        measurements -> Text,
        outcome -> Nullable<Text>,
        overall -> Nullable<Text>,
        submitted_at -> Nullable<Timestamp>,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        decision_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        kind -> Text,
        certificate_number -> Nullable<Text>,
    }
}

diesel::table! {
    evidence (id) {
        id -> BigInt,
        assessment_id -> BigInt,
        criterion -> Text,
        filename -> Text,
        description -> Nullable<Text>,
        media_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        content -> Binary,
        uploaded_by -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (token_hash, idem_key) {
        token_hash -> Text,
        idem_key -> Text,
        request_hash -> Text,
        status -> Integer,
        content_type -> Text,
        body -> Binary,
        created_at -> Timestamp,
        roles -> Text,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        public_key -> Binary,
        status -> Text,
        created_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    certificate_counters (year) {
        year -> Integer,
        last_seq -> BigInt,
    }
}

diesel::table! {
    certificates (id) {
        id -> BigInt,
        number -> Text,
        assessment_id -> BigInt,
        venue_id -> BigInt,
        venue_name -> Text,
        venue_address -> Text,
        venue_city -> Text,
        scheme -> Text,
        scheme_version -> Integer,
        criteria_sha256 -> Text,
        level -> Text,
        outcome -> Text,
        issued_at -> Timestamp,
        valid_from -> Date,
        valid_until -> Date,
        issuer -> Text,
        issuer_address -> Text,
        signatory -> Text,
        signatory_title -> Text,
        kid -> Text,
        token -> Binary,
        status -> Text,
        status_reason -> Nullable<Text>,
        status_changed_at -> Nullable<Timestamp>,
        supersedes -> Nullable<Text>,
        superseded_by -> Nullable<Text>,
        surveillance_months -> Integer,
        surveillance_due -> Nullable<Date>,
        venue_name_kk -> Nullable<Text>,
        venue_name_ru -> Nullable<Text>,
        venue_name_en -> Nullable<Text>,
        venue_cities -> Nullable<Text>,
    }
}

diesel::table! {
    appeals (id) {
        id -> BigInt,
        venue_id -> BigInt,
        subject -> Text,
        assessment_id -> Nullable<BigInt>,
        certificate_number -> Nullable<Text>,
        appealed_at -> Timestamp,
        decider_id -> Nullable<BigInt>,
        assessor_id -> Nullable<BigInt>,
        statement -> Text,
        filed_by -> BigInt,
        status -> Text,
        decided_by -> Nullable<BigInt>,
        decision_reason -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    appeal_files (id) {
        id -> BigInt,
        appeal_id -> BigInt,
        filename -> Text,
        media_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        content -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    complaints (id) {
        id -> BigInt,
        reference -> Text,
        certificate_number -> Text,
        venue_id -> BigInt,
        category -> Text,
        description -> Text,
        email -> Nullable<Text>,
        language -> Text,
        photo -> Nullable<Binary>,
        photo_type -> Nullable<Text>,
        status -> Text,
        outcome -> Nullable<Text>,
        assessment_id -> Nullable<BigInt>,
        suspended -> Bool,
        handled_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        photo_bytes -> BigInt,
    }
}

diesel::table! {
    webhook_subscriptions (id) {
        id -> BigInt,
        url -> Text,
        events -> Text,
        secret -> Text,
        active -> Bool,
        failures -> Integer,
        disabled_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        subscription_id -> BigInt,
        msg_id -> Text,
        event_type -> Text,
        payload -> Text,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        kind -> Text,
        recipient_user_id -> Nullable<BigInt>,
        recipient_email -> Nullable<Text>,
        language -> Text,
        params -> Text,
        dedup_key -> Nullable<Text>,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(webhook_deliveries -> webhook_subscriptions (subscription_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(invitations -> users (user_id));
diesel::joinable!(assessments -> venues (venue_id));
diesel::joinable!(evidence -> assessments (assessment_id));
diesel::joinable!(certificates -> venues (venue_id));
diesel::table! {
    log_entries (seq) {
        seq -> BigInt,
        number -> Text,
        entry -> Binary,
        hashes -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    log_checkpoints (size) {
        size -> BigInt,
        note -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    log_head (id) {
        id -> Integer,
        size -> BigInt,
        origin -> Nullable<Text>,
    }
}

diesel::table! {
    log_cosignatures (witness, size) {
        witness -> Text,
        size -> BigInt,
        line -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    log_witness_refusals (id) {
        id -> BigInt,
        witness -> Text,
        size -> BigInt,
        status -> Integer,
        detail -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    log_witnesses (witness) {
        witness -> Text,
        sent_at -> Timestamp,
    }
}

diesel::table! {
    certificate_documents (certificate_id) {
        certificate_id -> BigInt,
        state -> Text,
        etag -> Text,
        body -> Binary,
        rendered_at -> Timestamp,
    }
}

diesel::joinable!(certificate_documents -> certificates (certificate_id));

diesel::allow_tables_to_appear_in_same_query!(
    certificate_documents,
    notifications,
    webhook_subscriptions,
    webhook_deliveries,
    appeals,
    appeal_files,
    complaints,
    users,
    api_tokens,
    invitations,
    sessions,
    recovery_codes,
    events,
    criteria_versions,
    venues,
    assessments,
    evidence,
    idempotency_keys,
    signing_keys,
    certificate_counters,
    certificates,
    log_entries,
    log_checkpoints,
    log_head,
    log_cosignatures,
    log_witness_refusals,
    log_witnesses,
);
