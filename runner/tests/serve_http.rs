//! `schism serve` over a real loopback socket: traversal refused whatever the spelling, pages
//! served.

mod common;

use common::{Server, TempDir};

#[test]
fn serves_runs_and_refuses_paths_out_of_the_store() {
    let root = TempDir::new("serve-http");
    let store = root.0.join("store");
    std::fs::create_dir_all(&store).expect("store");
    std::fs::write(root.0.join("secret.txt"), "TOP-SECRET").expect("secret");
    common::write_run(&store, "register", "20261127T000000.000Z");
    std::os::unix::fs::symlink(root.0.join("secret.txt"), store.join("register/link.txt"))
        .expect("symlink");
    let server = Server::start(&store);

    let (status, index) = server.get("/");
    assert_eq!(status, 200);
    assert!(index.contains("register"));
    assert!(index.contains("verdict invalid"));
    let (status, report) = server.get("/runs/register/20261127T000000.000Z/report.html");
    assert_eq!(status, 200);
    assert!(report.contains("id=\"timeline-canvas\""));
    let (status, listing) = server.get("/runs/register/20261127T000000.000Z/");
    assert_eq!(status, 200);
    assert!(listing.contains("history.jsonl"));

    for path in [
        "/runs/../secret.txt",
        "/runs/%2e%2e/secret.txt",
        "/runs/%2E%2E/secret.txt",
        "/runs/register/%2e%2e/%2e%2e/secret.txt",
        "/runs/register/..%2f..%2fsecret.txt",
        "/runs/%2e%2e%2fsecret.txt",
        "/runs/register/link.txt",
        "/runs/..%5csecret.txt",
        "/runs/%00",
        "/../secret.txt",
    ] {
        let (status, body) = server.get(path);
        assert!(
            status == 403 || status == 404 || status == 400,
            "{path} gave {status}"
        );
        assert!(!body.contains("TOP-SECRET"), "{path} leaked the file");
    }
}
