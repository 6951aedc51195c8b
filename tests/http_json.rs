//! What an HTTP health endpoint says in its body and headers: `--json 'PATH OP VALUE'` against
//! the bodies real services send (shapes from their documentation), and `--header-matches`.

use crate::support::{Cmd, Response, Server};

/// A server answering `200 OK` with `body` as `application/json`, whatever the request: the
/// services below answer 200 while their JSON says how they are.
fn serving(body: impl Into<String>) -> Server {
    let body = body.into();
    Server::http(move |_| Response::ok(body.clone()).header("Content-Type", "application/json"))
}

/// Runs the probe with `args` against `srv`'s `/health`; the output is one result line.
fn probe(srv: &Server, args: &[&str]) -> (crate::support::Output, String) {
    let url = srv.url("/health");
    (Cmd::new().args(args).arg(&url).run(), url)
}

/// Healthy, on one line.
fn holds(srv: &Server, args: &[&str]) {
    let (out, url) = probe(srv, args);
    out.healthy();
    out.reports_one(true, &url);
}

/// Unhealthy, on one line whose reason is `reason`.
fn fails(srv: &Server, args: &[&str], reason: &str) {
    let (out, url) = probe(srv, args);
    out.unhealthy();
    let line = out.reports_one(false, &url);
    out.check(
        line.detail == reason,
        format!("expected the reason {reason:?}"),
    );
}

// Elasticsearch `GET /_cluster/health` (its reference documentation's example), green and red.
const ES_GREEN: &str = r#"{
  "cluster_name" : "testcluster",
  "status" : "green",
  "timed_out" : false,
  "number_of_nodes" : 3,
  "number_of_data_nodes" : 3,
  "active_primary_shards" : 1,
  "active_shards" : 2,
  "relocating_shards" : 0,
  "initializing_shards" : 0,
  "unassigned_shards" : 0,
  "delayed_unassigned_shards": 0,
  "number_of_pending_tasks" : 0,
  "number_of_in_flight_fetch": 0,
  "task_max_waiting_in_queue_millis": 0,
  "active_shards_percent_as_number": 100.0
}"#;

const ES_RED: &str = r#"{
  "cluster_name" : "testcluster",
  "status" : "red",
  "timed_out" : false,
  "number_of_nodes" : 1,
  "number_of_data_nodes" : 1,
  "active_primary_shards" : 0,
  "active_shards" : 0,
  "relocating_shards" : 0,
  "initializing_shards" : 0,
  "unassigned_shards" : 2,
  "delayed_unassigned_shards": 0,
  "number_of_pending_tasks" : 0,
  "number_of_in_flight_fetch": 0,
  "task_max_waiting_in_queue_millis": 0,
  "active_shards_percent_as_number": 0.0
}"#;

// Spring Boot actuator `/actuator/health` with `show-components`, one component down (served
// with 200, as `management.endpoint.health.status.http-mapping.down=200` makes it).
const SPRING_DB_DOWN: &str = r#"{"status":"DOWN","components":{"db":{"status":"DOWN","details":{"database":"PostgreSQL","error":"org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC Connection"}},"diskSpace":{"status":"UP","details":{"total":499963174912,"free":91300069376,"threshold":10485760,"path":"/app/.","exists":true}},"ping":{"status":"UP"}}}"#;

// Keycloak (Quarkus SmallRye Health) `/health/ready`: a check whose data key holds spaces.
const KEYCLOAK: &str = r#"{
    "status": "UP",
    "checks": [
        {
            "name": "Keycloak database connections async health check",
            "status": "UP",
            "data": { "Keycloak database connections": "UP" }
        }
    ]
}"#;

// Consul `GET /v1/health/checks/redis`: an array of checks.
const CONSUL_PASSING: &str = r#"[{"Node":"foobar","CheckID":"service:redis","Name":"Service 'redis' check","Status":"passing","Notes":"","Output":"","ServiceID":"redis","ServiceName":"redis","ServiceTags":["primary"],"Namespace":"default"}]"#;
const CONSUL_CRITICAL: &str = r#"[{"Node":"foobar","CheckID":"service:redis","Name":"Service 'redis' check","Status":"critical","Notes":"","Output":"dial tcp 127.0.0.1:6379: connect: connection refused","ServiceID":"redis","ServiceName":"redis","ServiceTags":["primary"],"Namespace":"default"}]"#;

// --- Elasticsearch ----------------------------------------------------------------------------

#[test]
fn elasticsearch_green_holds() {
    let srv = serving(ES_GREEN);
    holds(
        &srv,
        &[
            "--json",
            "status == green",
            "--json",
            "number_of_nodes >= 3",
            "--json",
            "timed_out == false",
            "--json",
            "active_shards_percent_as_number >= 100",
        ],
    );
}

#[test]
fn elasticsearch_red_fails_naming_the_path_and_what_was_found() {
    let srv = serving(ES_RED);
    fails(
        &srv,
        &["--json", "status == green"],
        r#"json status: expected == "green", found "red""#,
    );
    // Never the body.
    let (out, _) = probe(&srv, &["--json", "status == green"]);
    out.lacks("testcluster");
    fails(
        &srv,
        &["--json", "status != red"],
        r#"json status: expected != "red", found "red""#,
    );
}

#[test]
fn elasticsearch_number_of_nodes_compared() {
    let srv = serving(ES_RED);
    fails(
        &srv,
        &["--json", "number_of_nodes >= 3"],
        "json number_of_nodes: expected >= 3, found 1",
    );
    holds(
        &srv,
        &[
            "--json",
            "number_of_nodes < 2",
            "--json",
            "unassigned_shards > 1.5",
        ],
    );
    holds(&srv, &["--json", "active_shards_percent_as_number == 0"]);
}

#[test]
fn every_condition_must_hold() {
    let srv = serving(ES_GREEN);
    fails(
        &srv,
        &[
            "--json",
            "status == green",
            "--json",
            "unassigned_shards > 0",
        ],
        "json unassigned_shards: expected > 0, found 0",
    );
}

// --- etcd, CouchDB ----------------------------------------------------------------------------

#[test]
fn etcd_health_true_and_false() {
    // etcd's `/health` says "true" as a string.
    holds(
        &serving(r#"{"health":"true","reason":""}"#),
        &["--json", r#"health == "true""#],
    );
    fails(
        &serving(r#"{"health":"false","reason":"RAFT NO LEADER"}"#),
        &["--json", r#"health == "true""#],
        r#"json health: expected == "true", found "false""#,
    );
    // The boolean true is not the string "true", and the reason shows which was found.
    fails(
        &serving(r#"{"health":"true","reason":""}"#),
        &["--json", "health == true"],
        r#"json health: expected == true, found "true""#,
    );
}

#[test]
fn couchdb_up() {
    holds(
        &serving(r#"{"status":"ok","seeds":{}}"#),
        &["--json", "status == ok"],
    );
    fails(
        &serving(r#"{"status":"maintenance_mode","seeds":{}}"#),
        &["--json", "status == ok"],
        r#"json status: expected == "ok", found "maintenance_mode""#,
    );
}

// --- Spring Boot, Keycloak --------------------------------------------------------------------

#[test]
fn spring_boot_component_down() {
    let srv = serving(SPRING_DB_DOWN);
    fails(
        &srv,
        &["--json", "components.db.status == UP"],
        r#"json components.db.status: expected == "UP", found "DOWN""#,
    );
    holds(
        &srv,
        &[
            "--json",
            "components.ping.status == UP",
            "--json",
            r#"components.diskSpace.details.free > 10485760"#,
            "--json",
            "components.diskSpace.details.exists",
        ],
    );
    fails(
        &srv,
        &["--json", "components.redis.status == UP"],
        r#"json components.redis.status: not found (no "redis" in components)"#,
    );
    // The found value is shortened, never the whole component.
    let (out, _) = probe(&srv, &["--json", "components.db == UP"]);
    out.unhealthy().lacks("Failed to obtain JDBC Connection");
}

#[test]
fn keycloak_quoted_key_in_an_array_item() {
    let srv = serving(KEYCLOAK);
    holds(
        &srv,
        &[
            "--json",
            "status == UP",
            "--json",
            r#"checks[0].data."Keycloak database connections" == "UP""#,
        ],
    );
    fails(
        &srv,
        &["--json", "checks[1].status == UP"],
        "json checks[1].status: not found (checks has 1 items)",
    );
}

#[test]
fn quoted_key_with_a_dot() {
    let srv = serving(r#"{"checks":{"db.primary":{"ok":true},"db":{"primary":{"ok":false}}}}"#);
    holds(&srv, &["--json", r#"checks."db.primary".ok == true"#]);
    fails(
        &srv,
        &["--json", "checks.db.primary.ok == true"],
        "json checks.db.primary.ok: expected == true, found false",
    );
}

// --- Consul -----------------------------------------------------------------------------------

#[test]
fn consul_checks_array() {
    holds(
        &serving(CONSUL_PASSING),
        &["--json", "[0].Status == passing"],
    );
    fails(
        &serving(CONSUL_CRITICAL),
        &["--json", "[0].Status == passing"],
        r#"json [0].Status: expected == "passing", found "critical""#,
    );
    fails(
        &serving(CONSUL_PASSING),
        &["--json", "Status == passing"],
        "json Status: not found (the top level is an array, not an object)",
    );
}

// --- Presence ---------------------------------------------------------------------------------

#[test]
fn path_alone_means_present_and_not_null_or_false() {
    let srv = serving(r#"{"ready":true,"leader":null,"degraded":false,"version":""}"#);
    holds(&srv, &["--json", "ready", "--json", "version"]);
    fails(
        &srv,
        &["--json", "leader"],
        "json leader: expected not null/false, found null",
    );
    fails(
        &srv,
        &["--json", "degraded"],
        "json degraded: expected not null/false, found false",
    );
    fails(
        &srv,
        &["--json", "uptime"],
        r#"json uptime: not found (no "uptime" in the top level)"#,
    );
}

// --- Bodies that are not JSON -----------------------------------------------------------------

#[test]
fn html_body_is_not_json() {
    let srv = Server::http(|_| Response::ok("<html><body>OK</body></html>"));
    fails(
        &srv,
        &["--json", "status == UP"],
        "body is not json: unexpected '<' at byte 0",
    );
}

#[test]
fn trailing_junk_is_not_json() {
    fails(
        &serving(r#"{"status":"UP"} garbage"#),
        &["--json", "status == UP"],
        "body is not json: unexpected 'g' at byte 16",
    );
}

#[test]
fn empty_body_is_not_json() {
    fails(
        &Server::http(|_| Response::new(200)),
        &["--json", "status"],
        "body is not json: it is empty",
    );
}

#[test]
fn json_past_64_kib_is_cut_off() {
    // A valid document of about 100 KiB, the field asked for at its start: only 64 KiB is read.
    let padding = "x".repeat(1000);
    let items: Vec<String> = (0..100).map(|_| format!("\"{padding}\"")).collect();
    let body = format!(r#"{{"status":"UP","log":[{}]}}"#, items.join(","));
    assert!(body.len() > 100_000);
    fails(
        &serving(body),
        &["--json", "status == UP"],
        "json cut off: the body is longer than the 64 KiB that is read",
    );
}

#[test]
fn ten_thousand_levels_of_nesting_fail_without_a_crash() {
    let body = "[".repeat(10_000) + &"]".repeat(10_000);
    fails(
        &serving(body),
        &["--json", "[0]"],
        "json nested too deep: more than 128 levels",
    );
}

#[test]
fn reason_is_one_json_line_with_format_json() {
    let srv = serving(ES_RED);
    let out = Cmd::new()
        .args(["--format", "json", "--json", "status == green"])
        .arg(srv.url("/health"))
        .run();
    out.unhealthy();
    let report = out.json();
    let reason = report
        .get("targets")
        .and_then(|t| t.as_array())
        .and_then(|t| t[0].get("reason"));
    out.check(
        reason.and_then(|r| r.as_str()) == Some(r#"json status: expected == "green", found "red""#),
        "expected the reason in \"reason\"",
    );
}

// --- Usage errors -----------------------------------------------------------------------------

#[test]
fn bad_condition_is_a_usage_error_before_any_request() {
    let srv = serving(ES_GREEN);
    for bad in [
        "status ==",
        "status = green",
        "number_of_nodes > three",
        "a..b",
        r#"s == "x"#,
    ] {
        let out = Cmd::new().args(["--json", bad]).arg(srv.url("/")).run();
        out.unhealthy().contains("--json");
        out.check(out.lines().len() == 1, "expected one line");
    }
    assert_eq!(
        srv.request_count(),
        0,
        "a bad condition must fail before any request"
    );
}

#[test]
fn bad_header_matches_is_a_usage_error() {
    let srv = serving(ES_GREEN);
    for bad in ["X-Status ok", "X-Status: (", "X Status: ok"] {
        let out = Cmd::new()
            .args(["--header-matches", bad])
            .arg(srv.url("/"))
            .run();
        out.unhealthy().contains("--header-matches");
        out.check(out.lines().len() == 1, "expected one line");
    }
    assert_eq!(srv.request_count(), 0);
}

// --- Headers ----------------------------------------------------------------------------------

fn with_headers() -> Server {
    Server::http(|_| {
        Response::ok("{}")
            .header("X-Health", "degraded")
            .header("X-Health", "ok")
            .header("Content-Type", "application/health+json; charset=utf-8")
            .header("Set-Cookie", "session=s3cr3t-value; HttpOnly")
    })
}

#[test]
fn header_matches_holds() {
    let srv = with_headers();
    holds(
        &srv,
        &[
            "--header-matches",
            r"content-type: ^application/(health\+)?json",
            // A repeated header holds when one of its values matches.
            "--header-matches",
            "X-Health: ^ok$",
        ],
    );
}

#[test]
fn header_matches_no_match() {
    let srv = with_headers();
    fails(
        &srv,
        &["--header-matches", "Content-Type: ^text/"],
        r#"header Content-Type: expected to match "^text/", found "application/health+json; charset=utf-8""#,
    );
}

#[test]
fn header_matches_missing() {
    fails(
        &with_headers(),
        &["--header-matches", "X-Ready: yes"],
        "no header X-Ready in the response",
    );
}

#[test]
fn header_matches_never_shows_a_secret_value() {
    let srv = with_headers();
    let (out, _) = probe(&srv, &["--header-matches", "Set-Cookie: ^admin="]);
    out.unhealthy().lacks("s3cr3t").lacks("admin");
    out.contains("header Set-Cookie does not match (its value is not shown)");
}

#[test]
fn header_matches_does_not_read_the_body() {
    // Headers at once, then a body that drips for far longer than the deadline: a header check
    // is judged on the headers alone.
    let srv = Server::drip();
    holds(
        &srv,
        &["-t", "3s", "--header-matches", "Content-Type: ^text/plain"],
    );
}

#[test]
fn conditions_apply_to_the_final_response_after_redirects() {
    let srv = Server::http(|r| {
        if r.path == "/health" {
            Response::redirect(302, "/ready")
        } else {
            Response::ok(r#"{"status":"UP"}"#).header("X-Ready", "1")
        }
    });
    holds(
        &srv,
        &["--json", "status == UP", "--header-matches", "X-Ready: ^1$"],
    );
}

#[test]
fn unix_socket_targets_take_json_conditions() {
    let srv = Server::unix_http(|_| Response::ok(r#"{"status":"UP"}"#));
    let url = srv.url("/health");
    Cmd::new()
        .args(["--json", "status == UP"])
        .arg(&url)
        .run()
        .healthy();
    Cmd::new()
        .args(["--json", "status == DOWN"])
        .arg(&url)
        .run()
        .unhealthy()
        .contains(r#"json status: expected == "DOWN", found "UP""#);
}

/// A server's words that hold a setting's name are printed as the server sent them: only an
/// error the probe makes about a setting names it as the flag (`--body-contains`).
#[test]
fn server_text_with_a_setting_name_is_printed_as_sent() {
    let srv = serving(r#"{"status":"body_contains: down"}"#);
    fails(
        &srv,
        &["--json", "status == UP"],
        r#"json status: expected == "UP", found "body_contains: down""#,
    );
}
