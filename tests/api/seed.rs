// `ecolabel seed`, the load-test generator: what it writes goes through the real operations (signed,
// verifiable certificates, audits in the queue, some suspended or withdrawn), and it refuses a database
// that holds data unless forced.

use crate::helpers::*;
use crate::signin::{enrol, person, Browser, PASSWORD};
use ecolabel::cli::batch::Batch;
use ecolabel::cli::seed::{run, Plan};
use ecolabel::domain::auth::Role;
use ecolabel::domain::lifecycle::PublicStatus;

/// Run `ecolabel seed` on the test's registry.
async fn seed(app: &TestApp, certificates: usize, venues: usize, submitted: usize) -> Result<Vec<String>, String> {
    seed_plan(
        app,
        Plan {
            certificates,
            venues,
            submitted,
            force: false,
            per_year: ecolabel::cli::seed::PER_YEAR,
        },
    )
    .await
}

async fn seed_plan(app: &TestApp, plan: Plan) -> Result<Vec<String>, String> {
    let state = app.state.clone();
    actix_web::rt::task::spawn_blocking(move || run(&state, &plan)).await.unwrap()
}

async fn seed_fills_an_empty_registry_through_the_real_operations(app: TestApp) {
    // 40 certificates a year at most: the first 40 are issued a year ago, the other 20 now.
    let plan = Plan {
        certificates: 60,
        venues: 50,
        submitted: 55,
        force: false,
        per_year: 40,
    };
    let report = seed_plan(&app, plan).await.unwrap();
    assert!(
        report[0].starts_with("50 venues and 60 certificates (3 suspended, 1 withdrawn, 10 superseded)"),
        "{report:?}"
    );
    let admin = app.token(&[Role::Admin]).await;
    // Numbers run without a gap within each year: 1 to 40 last year, 1 to 20 this year.
    let year = chrono::Datelike::year(&chrono::Utc::now());
    let register = json(app.get("/api/v1/public/certificates?limit=200", None).await).await;
    let mut numbers: Vec<String> = register["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_str().unwrap().to_string())
        .collect();
    numbers.sort();
    let expected: Vec<String> = (1..=40)
        .map(|n| format!("GEL-{}-{n:06}", year - 1))
        .chain((1..=20).map(|n| format!("GEL-{year}-{n:06}")))
        .collect();
    assert_eq!(numbers, expected);
    let first = format!("GEL-{}-000001", year - 1);
    let old = register["items"].as_array().unwrap().iter().find(|c| c["number"] == first.as_str()).unwrap();
    assert_eq!(old["valid_from"].as_str().unwrap()[..4], (year - 1).to_string(), "issued a year ago: {old}");
    // The public log holds every issuance and status change, and a monitor rebuilding the tree from its
    // tiles finds each certificate's status in its latest entry: 60 issued, 10 superseded, 4 suspended or withdrawn.
    let monitor = ecolabel::cli::monitor::verify(&app.address, None, &Default::default()).await.unwrap();
    assert!(monitor.problems.is_empty(), "{:?}", monitor.problems);
    assert_eq!((monitor.size, monitor.certificates), (74, 60));
    // A bulk-seeded audit has the history the real operations write, event for event.
    let bulk = json(app.get("/api/v1/assessments/1/events", Some(&admin)).await).await;
    let real = json(app.get("/api/v1/assessments/61/events", Some(&admin)).await).await;
    let actions = |v: &serde_json::Value| -> Vec<String> { v.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect() };
    let submitted = [
        "created",
        "measurements_changed",
        "evidence_added",
        "evidence_added",
        "evidence_added",
        "evidence_added",
        "submitted",
    ];
    assert_eq!(actions(&real), submitted, "{real}");
    assert_eq!(actions(&bulk), [&submitted[..], &["approved"]].concat(), "{bulk}");
    // Its evidence opens, and its certificate downloads as a PDF.
    let audit = json(app.get("/api/v1/assessments/1", Some(&admin)).await).await;
    assert_eq!(audit["status"], "approved");
    assert_eq!(audit["evidence"].as_array().map(Vec::len), Some(4), "{audit}");
    let file = app.get(audit["evidence"][0]["href"].as_str().unwrap(), Some(&admin)).await;
    assert_eq!(file.headers()["content-type"], "image/png");
    let number = audit["certificate"]["number"].as_str().unwrap();
    let pdf = app.get(&format!("/api/v1/certificates/{number}/pdf"), Some(&admin)).await;
    assert_eq!(pdf.status(), 200);
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    // Ten venues were certified twice: the renewal supersedes the first certificate.
    let all = json(app.get("/api/v1/public/certificates?limit=100", None).await).await;
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 60);
    let count = |s: &str| items.iter().filter(|c| c["status"] == s).count();
    assert_eq!(count("superseded"), 10, "{all}");
    assert!(count("suspended") >= 1 && count("withdrawn") >= 1, "some labels are suspended or withdrawn");
    // Every certificate verifies like an issued one.
    let one = items.iter().find(|c| c["status"] == "valid").unwrap();
    let v = app.get(&qr_path(one["verification_url"].as_str().unwrap()), None).await;
    assert_eq!(v.status(), 200);
    // Names in three languages, realistic cities.
    let venue = json(app.get("/api/v1/venues/1", Some(&admin)).await).await;
    assert!(venue["name_kk"].as_str().unwrap().contains("қонақүйі"), "{venue}");
    assert_eq!(venue["city"], "Astana");
    // The queue holds the submitted audits.
    let queued = json(app.get("/api/v1/assessments?status=submitted&limit=100", Some(&admin)).await).await;
    assert_eq!(queued["items"].as_array().unwrap().len(), 55, "{queued}");
    // The officers' queue: oldest first, 50 a page, the next page by keyset.
    person(&app, "officer@example.kz", &[Role::Officer], None).await;
    let mut b = Browser::new(&app);
    b.sign_in("officer@example.kz", PASSWORD).await;
    enrol(&mut b).await;
    let first = b.get("/app/reviews?lang=en").await;
    let ids = |body: &str| -> Vec<i64> {
        body.split("href=\"/app/assessments/")
            .skip(1)
            .filter_map(|s| s.split('"').next()?.parse().ok())
            .collect()
    };
    let page1 = ids(&first.body);
    assert_eq!(page1.len(), 50);
    assert!(
        page1.windows(2).all(|w| w[0] < w[1]),
        "seeded in order, so the oldest submissions have the lowest ids"
    );
    let next = first
        .body
        .split("href=\"/app/reviews?after_at=")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let page2 = ids(&b.get(&format!("/app/reviews?after_at={next}")).await.body);
    assert_eq!(page2.len(), 5);
    assert!(page2[0] > page1[49]);
    // A second run refuses (the database holds data) and changes nothing.
    let refused = seed(&app, 5, 5, 0).await;
    assert!(refused.unwrap_err().contains("--force"));
    let all = json(app.get("/api/v1/public/certificates?limit=100", None).await).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 60);
}

/// The register's CSV streams one keyset page at a time: no Content-Length, every row, in order.
async fn the_register_export_streams_every_row(app: TestApp) {
    seed(&app, 620, 620, 0).await.unwrap();
    let r = app.get("/api/v1/public/certificates.csv", None).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("content-length").is_none(), "streamed, not buffered");
    let text = r.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "number,venue,city,status,valid_from,valid_until,scheme,scheme_version,issuer,verification_url"
    );
    assert_eq!(lines.len(), 621, "every certificate, across more than one database page");
    let numbers: Vec<&str> = lines[1..].iter().map(|l| l.split(',').next().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[0] > w[1]), "newest first, no repeats");
    let valid = json(app.get("/api/v1/public/certificates?status=valid&limit=200", None).await).await;
    let r = app.get("/api/v1/public/certificates.csv?status=withdrawn", None).await;
    let withdrawn = r.text().await.unwrap().lines().count() - 1;
    assert_eq!(withdrawn, 620 / 50, "filters apply to the export");
    assert!(!valid["items"].as_array().unwrap().is_empty());
}

/// The query plans of the register's name search and city filter, as the database will run them.
/// `name` is one word (the trigram index), `words` has bounded words (the word index).
async fn plans(app: &TestApp, name: &str, words: &str, city: &str) -> (String, String, String) {
    use diesel::RunQueryDsl;
    use ecolabel::storage::venues::{WordQuery, PG_WORD_MATCH, SQLITE_WORD_MATCH};
    use ecolabel::storage::DbConn;
    let (name, city) = (name.to_string(), city.to_string());
    let w = WordQuery::parse(words).unwrap();
    let by_words_sqlite = format!(
        "SELECT certificates.id FROM certificates INNER JOIN venues ON venues.id = certificates.venue_id WHERE {SQLITE_WORD_MATCH}'{}') AND venues.search_text LIKE '%{words}%' ORDER BY certificates.id DESC LIMIT 51",
        w.fts5()
    );
    let by_words_pg = format!(
        "SELECT certificates.id FROM certificates INNER JOIN venues ON venues.id = certificates.venue_id WHERE {PG_WORD_MATCH}'{}' AS tsquery) AND (venues.search_text || '') LIKE '%{words}%' ORDER BY certificates.id DESC LIMIT 51",
        w.tsquery().replace('\'', "''")
    );
    app.state
        .db
        .read(move |c| -> ecolabel::storage::Result<_> {
            let by_name_sqlite = format!(
                "SELECT certificates.id FROM certificates INNER JOIN venues ON venues.id = certificates.venue_id WHERE {}'\"{name}\"') ORDER BY certificates.id DESC LIMIT 51",
                ecolabel::storage::venues::SQLITE_NAME_MATCH
            );
            let by_name_pg = format!(
                "SELECT certificates.id FROM certificates INNER JOIN venues ON venues.id = certificates.venue_id WHERE venues.search_text LIKE '%{name}%' ORDER BY certificates.id DESC LIMIT 51"
            );
            let by_city = format!("SELECT certificates.id FROM certificates WHERE venue_city = '{city}' ORDER BY certificates.id DESC LIMIT 51");
            Ok(match c {
                DbConn::Sqlite(s) => {
                    let mut plan = |q: &str| -> diesel::QueryResult<String> {
                        let rows: Vec<SqlitePlan> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {q}")).load(s)?;
                        Ok(rows.into_iter().map(|r| r.detail).collect::<Vec<_>>().join("\n"))
                    };
                    (plan(&by_name_sqlite)?, plan(&by_words_sqlite)?, plan(&by_city)?)
                }
                DbConn::Pg(p) => {
                    // The test database is small, so a sequential scan would be cheaper: ask whether the index can serve.
                    diesel::sql_query("SET enable_seqscan = off").execute(p)?;
                    fn plan(p: &mut diesel::PgConnection, q: &str) -> diesel::QueryResult<String> {
                        let rows: Vec<PgPlan> = diesel::sql_query(format!("EXPLAIN {q}")).load(p)?;
                        Ok(rows.into_iter().map(|r| r.line).collect::<Vec<_>>().join("\n"))
                    }
                    let city = plan(p, &by_city)?;
                    // A GIN index serves only bitmap scans: with plain index scans off too, the planner shows
                    // whether it can find the names through it (else it would filter the primary key's scan).
                    diesel::sql_query("SET enable_indexscan = off").execute(p)?;
                    let name = plan(p, &by_name_pg)?;
                    let words = plan(p, &by_words_pg)?;
                    diesel::sql_query("RESET enable_indexscan").execute(p)?;
                    let out = (name, words, city);
                    diesel::sql_query("RESET enable_seqscan").execute(p)?;
                    out
                }
            })
        })
        .await
        .unwrap()
}

/// Name search (any language, any case) and the city filter use an index on both backends.
async fn name_search_and_city_filter_use_an_index(app: TestApp) {
    seed(&app, 40, 40, 0).await.unwrap();
    let search = |q: &str| {
        let q = q.to_string();
        let app = &app;
        async move {
            let url = format!("/api/v1/public/certificates?limit=200&q={}", ecolabel::web::layout::url_escape(&q));
            item_field(&json(app.get(&url, None).await).await, "venue_name")
        }
    };
    // Venues 1 to 6 are Baiterek (one of each kind); venue 1 is "Baiterek Hotel 1": Бәйтерек қонақүйі 1 /
    // Гостиница «Байтерек» 1.
    let found = search("БӘЙТЕРЕК").await;
    assert_eq!(found.len(), 6, "{found:?}");
    assert!(found.iter().all(|n| n.starts_with("Baiterek")));
    assert_eq!(search("Гостиница «Байтерек»").await, vec!["Baiterek Hotel 1"]);
    assert_eq!(search("terek hot").await, vec!["Baiterek Hotel 1"]);
    assert!(search("ba").await.contains(&"Baiterek Hotel 1".to_string()), "two letters: the portable scan");
    assert!(search("zzzzzz").await.is_empty());
    // Whole words: "байтерек" bounded on both sides, "hotel 1" — the word index, the LIKE deciding.
    assert_eq!(search("«Байтерек» 1").await, vec!["Baiterek Hotel 1"]);
    assert_eq!(search("бәйтерек қонақүйі").await.len(), 1, "{:?}", search("бәйтерек қонақүйі").await);
    assert_eq!(search("Baiterek Hot").await, vec!["Baiterek Hotel 1"], "the last word a prefix");
    assert!(search("Baiterek Hotels").await.is_empty());
    assert!(search("a Baiterek").await.is_empty(), "the words are there, the phrase is not");
    // Venues from before the word index have no words: the word index finds none of them until the start-up
    // fills them in.
    let run = |backfill: bool| {
        let state = app.state.clone();
        actix_web::rt::task::spawn_blocking(move || {
            state.db.write_outside_transaction_blocking(|c| match backfill {
                true => ecolabel::storage::venues::backfill_words(c),
                false => Ok(diesel::RunQueryDsl::execute(diesel::sql_query("UPDATE venues SET search_words = NULL"), c)?),
            })
        })
    };
    assert_eq!(run(true).await.unwrap().unwrap(), 0, "the seed wrote the words");
    assert_eq!(run(false).await.unwrap().unwrap(), 40);
    assert!(search("«Байтерек» 1").await.is_empty(), "the word index answers, not a scan");
    assert_eq!(run(true).await.unwrap().unwrap(), 40);
    assert_eq!(search("«Байтерек» 1").await, vec!["Baiterek Hotel 1"]);
    // The start-up writes a venue's search text again too, from its names (how the accent folding of
    // migration 000021 reaches venues written before it).
    raw_sql(&app, "UPDATE venues SET search_text = 'stale', search_words = NULL WHERE id = 1").await;
    assert!(search("Baiterek Hotel 1").await.is_empty());
    assert_eq!(run(true).await.unwrap().unwrap(), 1);
    assert_eq!(search("Baiterek Hotel 1").await, vec!["Baiterek Hotel 1"]);
    // The housekeeping's merge of the FTS5 segments (SQLite; nothing to do on PostgreSQL) changes no answer.
    let state = app.state.clone();
    actix_web::rt::task::spawn_blocking(move || state.db.write_outside_transaction_blocking(ecolabel::storage::merge_search_indexes))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(search("«Байтерек» 1").await, vec!["Baiterek Hotel 1"]);
    assert_eq!(search("БӘЙТЕРЕК").await.len(), 6);
    let (by_name, by_words, by_city) = plans(&app, "baiterek", "гостиница «байтерек» 1", "Astana").await;
    assert!(
        by_name.contains("SCAN venues_search VIRTUAL TABLE INDEX") || by_name.contains("Bitmap Index Scan on venues_search_trgm"),
        "{by_name}"
    );
    assert!(
        by_words.contains("SCAN venues_words VIRTUAL TABLE INDEX") || by_words.contains("Bitmap Index Scan on venues_search_words"),
        "{by_words}"
    );
    assert!(
        !by_words.contains("venues_search_trgm"),
        "the LIKE only checks the word index's candidates: {by_words}"
    );
    assert!(by_city.contains("certificates_city"), "{by_city}");
}

/// A name more venues hold than `COMMON_MATCHES` is looked for on SQLite without its index among the
/// `COMMON_WINDOW` newest certificates, by walking them newest first with the LIKE deciding (no sort of every
/// match), and below the window through the index; the answers are those the index gives: every match,
/// newest first, page after page, and nothing else.
async fn a_common_name_is_found_newest_first(app: TestApp) {
    use diesel::RunQueryDsl;
    use ecolabel::storage::venues::{name_lookup, NameLookup, COMMON_MATCHES, COMMON_WINDOW, PG_SCAN, PG_SCAN_END, SQLITE_SCAN};
    use ecolabel::storage::DbConn;
    let n = COMMON_WINDOW as usize + 400;
    seed(&app, n, n, 0).await.unwrap();
    #[derive(diesel::QueryableByName)]
    struct Number {
        #[diesel(sql_type = diesel::sql_types::Text)]
        number: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Plan {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }
    let (expected, lookups, plan) = app
        .state
        .db
        .write(move |c| -> ecolabel::storage::Result<_> {
            // All venues but every fiftieth join the "Eco network" (more than COMMON_MATCHES hold those words,
            // all through the register); the hundred oldest are also "Pioneer network" (a common word, "network",
            // with a rare rest that only rows below the window hold).
            diesel::sql_query(
                "UPDATE venues SET search_text = search_text || ' | eco network', search_words = search_words || ' eco network' WHERE id % 50 <> 0",
            )
            .execute(c)?;
            diesel::sql_query(
                "UPDATE venues SET search_text = search_text || ' | pioneer network', search_words = search_words || ' pioneer network' WHERE id <= 100",
            )
            .execute(c)?;
            // The venue list goes by id upwards: the hundred newest venues are "Harbour network", past its window.
            diesel::sql_query(format!(
                "UPDATE venues SET search_text = search_text || ' | harbour network', search_words = search_words || ' harbour network' WHERE id > {}",
                n - 100
            ))
            .execute(c)?;
            if let DbConn::Pg(p) = c {
                // PostgreSQL's statistics of the word index tell how common a word is (autovacuum's job in a registry).
                diesel::sql_query("ANALYZE venues").execute(p)?;
            }
            let newest = |c: &mut DbConn, q: &str| -> ecolabel::storage::Result<Vec<String>> {
                let rows: Vec<Number> = diesel::sql_query(q).load(c)?;
                Ok(rows.into_iter().map(|n| n.number).collect())
            };
            let expected = [
                newest(c, "SELECT number FROM certificates WHERE venue_id % 50 <> 0 ORDER BY id DESC LIMIT 100")?,
                newest(c, "SELECT number FROM certificates WHERE venue_id <= 100 ORDER BY id DESC")?,
                newest(c, "SELECT CAST(id AS TEXT) AS number FROM venues WHERE id % 50 <> 0 ORDER BY id LIMIT 100")?,
                newest(c, &format!("SELECT CAST(id AS TEXT) AS number FROM venues WHERE id > {} ORDER BY id", n - 100))?,
            ];
            let lookups = [
                name_lookup(c, "Eco network")?,
                name_lookup(c, "network")?,
                name_lookup(c, "Pioneer network")?,
                name_lookup(c, "Гостиница «Байтерек» 1")?,
            ];
            let plan = match c {
                DbConn::Sqlite(s) => diesel::sql_query(format!(
                    "EXPLAIN QUERY PLAN SELECT certificates.id FROM certificates INNER JOIN venues ON venues.id = certificates.venue_id \
                     WHERE {SQLITE_SCAN}'%eco network%' ESCAPE '\\') AND certificates.id >= 400 ORDER BY certificates.id DESC LIMIT 51",
                ))
                .load::<Plan>(s)?
                .into_iter()
                .map(|p| p.detail)
                .collect::<Vec<_>>()
                .join("\n"),
                DbConn::Pg(p) => diesel::sql_query(format!(
                    "EXPLAIN SELECT certificates.id FROM certificates INNER JOIN venues ON venues.id = certificates.venue_id \
                     WHERE {PG_SCAN}'%eco network%'{PG_SCAN_END} AND certificates.id >= 400 ORDER BY certificates.id DESC LIMIT 51",
                ))
                .load::<PgPlan>(p)?
                .into_iter()
                .map(|p| p.line)
                .collect::<Vec<_>>()
                .join("\n"),
            };
            Ok((expected, lookups, plan))
        })
        .await
        .unwrap();
    assert!(expected.iter().all(|e| e.len() == 100));
    let common = |l: &NameLookup| matches!(l, NameLookup::Common(_));
    assert!(common(&lookups[0]), "more than {COMMON_MATCHES} venues hold it: {:?}", lookups[0]);
    assert!(common(&lookups[2]), "\"network*\" is common: {:?}", lookups[2]);
    // Below the window, the trigrams of the whole text ("pioneer" is not in the word query: it may end a longer word).
    let below = |l: &NameLookup| match l {
        NameLookup::Common(index) => Some((**index).clone()),
        _ => None,
    };
    if app.backend == crate::helpers::Backend::Sqlite {
        assert_eq!(below(&lookups[2]), Some(NameLookup::Trigrams("\"pioneer network\"".into())));
        assert!(common(&lookups[1]), "one word: the trigram index says as much: {:?}", lookups[1]);
        assert!(matches!(lookups[3], NameLookup::Words(_)), "a rare name keeps its index: {:?}", lookups[3]);
        assert!(
            plan.contains("SEARCH certificates USING INTEGER PRIMARY KEY") && !plan.contains("TEMP B-TREE"),
            "newest first, no sort: {plan}"
        );
    } else {
        assert_eq!(below(&lookups[2]), Some(NameLookup::PgTrigrams));
        // One word is pg_trgm's, whose estimates the planner weighs itself.
        assert_eq!(lookups[1], NameLookup::PgTrigrams);
        assert!(matches!(lookups[3], NameLookup::PgWords(_)), "a rare name keeps its index: {:?}", lookups[3]);
        assert!(
            plan.contains("Index Scan Backward using certificates_pkey") && !plan.contains("Sort"),
            "newest first, no sort: {plan}"
        );
    }
    for (q, expected) in [("Eco%20network", &expected[0]), ("Pioneer%20network", &expected[1])] {
        let page = |before: Option<i64>| {
            let url = format!(
                "/api/v1/public/certificates?limit=50&q={q}{}",
                before.map(|b| format!("&before={b}")).unwrap_or_default()
            );
            let app = &app;
            async move { json(app.get(&url, None).await).await }
        };
        let numbers = |v: &serde_json::Value| item_field(v, "number");
        let first = page(None).await;
        assert_eq!(numbers(&first), expected[..50], "{q}");
        let second = page(first["next_before"].as_i64()).await;
        assert_eq!(numbers(&second), expected[50..], "{q}");
    }
    // The venue list (by id upwards) looks for a common text the same way: within the window after the
    // cursor, then through the index past it ("Harbour network": none in the first window).
    let admin = app.token(&[Role::Admin]).await;
    for (q, expected) in [("Eco%20network", &expected[2]), ("Harbour%20network", &expected[3])] {
        let page = |after: Option<i64>| {
            let url = format!("/api/v1/venues?limit=50&q={q}{}", after.map(|a| format!("&after={a}")).unwrap_or_default());
            let (app, admin) = (&app, &admin);
            async move { json(app.get(&url, Some(admin)).await).await }
        };
        let ids = |v: &serde_json::Value| v["items"].as_array().unwrap().iter().map(|i| i["id"].to_string()).collect::<Vec<_>>();
        let first = page(None).await;
        assert_eq!(ids(&first), expected[..50], "{q}");
        let second = page(first["next_after"].as_i64()).await;
        assert_eq!(ids(&second), expected[50..], "{q}");
        if q.starts_with("Harbour") {
            assert_eq!(second["next_after"], serde_json::Value::Null, "the hundred are all");
        }
    }
}

crate::both_backends!(
    seed_fills_an_empty_registry_through_the_real_operations,
    a_common_name_is_found_newest_first,
    the_register_export_streams_every_row,
    name_search_and_city_filter_use_an_index,
    a_batch_of_pdfs_is_one_reproducible_zip,
);

/// `ecolabel pdf-batch`: one zip of many certificate PDFs, rendered on two threads, the same bytes as one
/// thread and as each single download.
async fn a_batch_of_pdfs_is_one_reproducible_zip(app: TestApp) {
    seed(&app, 30, 30, 0).await.unwrap();
    let zip_with = |jobs: usize, name: &str, status: Option<PublicStatus>| {
        let state = app.state.clone();
        let out = app.dir.path().join(name);
        async move {
            let b = Batch {
                out: out.clone(),
                status,
                city: None,
                limit: None,
                jobs,
            };
            let (n, _) = actix_web::rt::task::spawn_blocking(move || ecolabel::cli::batch::run(&state, &b))
                .await
                .unwrap()
                .unwrap();
            (n, std::fs::read(out).unwrap())
        }
    };
    let (n, two) = zip_with(2, "two.zip", None).await;
    assert_eq!(n, 30);
    let (_, one) = zip_with(1, "one.zip", None).await;
    assert_eq!(one, two, "the same bytes on one thread and on two");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(two)).unwrap();
    assert_eq!(archive.len(), 30);
    let first = archive.by_index(0).unwrap().name().to_string();
    assert!(first.starts_with("GEL-") && first.ends_with(".pdf"), "{first}");
    let number = first.trim_end_matches(".pdf").to_string();
    let mut pdf = Vec::new();
    std::io::Read::read_to_end(&mut archive.by_index(0).unwrap(), &mut pdf).unwrap();
    let admin = app.token(&[Role::Admin]).await;
    let single = app
        .get(&format!("/api/v1/certificates/{number}/pdf"), Some(&admin))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(pdf, single.to_vec(), "the batch holds the very PDF a download gives");
    let (suspended, _) = zip_with(2, "suspended.zip", Some(PublicStatus::Suspended)).await;
    assert_eq!(suspended, 1, "filters apply: the 20th certificate is the seed's one suspension among 30");
}
